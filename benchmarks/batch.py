"""Batch analysis throughput on each engine, Ray's overheads and a worker's memory, in one run.

1. A temp folder of real clips cut and looped from the shared ones (640×480, one with two people side by side)
   and one of photos (the shared pictures, resized, mirrored and cropped), each through `analyse_folder` in
   process, on a pool of 2 workers and on a local Ray of 2 CPUs (started beforehand: its start-up is line 2).
   The three engines' outputs are compared byte for byte.
2. Ray: `ray.init` on 2 CPUs, the model's `ray.put`, and the round trip of an empty task (the median of 200).
3. Peak RSS of one pool worker analysing a 1-minute and a 10-minute looped clip, each in a fresh driver process.

    python -m benchmarks.batch [--clips 20] [--photos 51] [--every 1] [--rss-every 5]     (from the project root)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from emodetect import batch
from emodetect.app.samples import MEDIA_DIR
from emodetect.paths import LITE_MODEL, PROJECT_DIR
from emodetect.video import AnnotatedWriter, iter_frames, probe

_WORKER_RSS = """
import json, resource, sys
from emodetect import batch
report = batch.analyse_folder(sys.argv[1], sys.argv[2], engine="pool", workers=1,
                              settings=batch.Settings.make(sys.argv[1], every=int(sys.argv[3])))
print(json.dumps({"seconds": report.wall_s, "media_s": report.media_s,
                  "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _frames(name: str, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    return [cv2.resize(f.image, size) for f in iter_frames(MEDIA_DIR / name)]


def _write(path: Path, frames: list[np.ndarray], count: int, fps: float, start: int = 0) -> None:
    h, w = frames[0].shape[:2]
    writer = AnnotatedWriter(path, w, h, fps)
    for i in range(count):
        writer.write(frames[(start + i) % len(frames)])
    writer.close()


def make_clips(folder: Path, count: int) -> None:
    """`count` clips of 5-12 s cut from the two shared clips at different offsets, looped where longer than the
    source; the last one two people side by side."""
    talking, phone = _frames("talking_woman.mp4"), _frames("phone_at_night.mp4")
    fps = probe(MEDIA_DIR / "talking_woman.mp4").fps
    folder.mkdir(parents=True)
    for i in range(count - 1):
        source, name = (talking, "talking") if i % 2 == 0 else (phone, "phone")
        _write(folder / f"{name}_{i:02d}.mp4", source, round((5 + i % 8) * fps), fps, start=37 * i)
    pair = [np.concatenate([cv2.resize(a, (320, 480)), cv2.resize(b, (320, 480))], axis=1)
            for a, b in zip(talking, phone * 4)]
    _write(folder / "two_people.mp4", pair, round(8 * fps), fps)


def make_photos(folder: Path, count: int) -> None:
    """`count` JPEGs from the three shared pictures: resized, mirrored or cropped, so no two are the same."""
    folder.mkdir(parents=True)
    pictures = [cv2.imread(str(MEDIA_DIR / n)) for n in ("smiling_man.jpg", "group_selfie.jpg",
                                                         "cartoon_no_people.jpg")]
    for i in range(count):
        image = pictures[i % 3]
        scale = 0.6 + 0.1 * (i // 3 % 5)
        image = cv2.resize(image, None, fx=scale, fy=scale)
        if i // 3 % 2:
            image = image[:, ::-1]
        h, w = image.shape[:2]
        image = image[i % 7: h - i % 5, i % 4: w - i % 6]
        cv2.imwrite(str(folder / f"photo_{i:02d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])


def _outputs(out: Path) -> dict[str, bytes]:
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    files.pop("batch.json")
    return files


def throughput(folder: Path, out: Path, every: int) -> dict:
    """Wall seconds and outputs of each engine on `folder`, Ray already started."""
    settings = batch.Settings.make(folder, every=every)
    rows = {}
    for engine in ("loop", "pool", "ray"):
        report = batch.analyse_folder(folder, out / engine, settings, engine=engine, workers=2)
        rows[engine] = {"wall_s": report.wall_s, "media_s": report.media_s, "files": report.counts["files"]}
    same = _outputs(out / "loop") == _outputs(out / "pool") == _outputs(out / "ray")
    return {"rows": rows, "same": same}


def ray_overheads() -> dict:
    import ray

    batch.local_ray_at_our_priority()  # as `batch --ray` starts it
    t = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    noop = ray.remote(lambda: None)
    ray.get([noop.remote() for _ in range(2)])  # both workers up
    start = time.perf_counter() - t
    t = time.perf_counter()
    ray.put(LITE_MODEL.read_bytes())
    put = time.perf_counter() - t
    trips = []
    for _ in range(200):
        t = time.perf_counter()
        ray.get(noop.remote())
        trips.append(time.perf_counter() - t)
    return {"start_s": start, "put_ms": put * 1000, "task_ms": statistics.median(trips) * 1000}


def worker_rss(tmp: Path, every: int) -> dict:
    """Peak RSS of a pool worker for a 1- and a 10-minute clip (looped talking_woman), fresh driver each."""
    talking = _frames("talking_woman.mp4")
    fps = probe(MEDIA_DIR / "talking_woman.mp4").fps
    rows = {}
    for minutes in (1, 10):
        folder = tmp / f"rss{minutes}"
        folder.mkdir()
        _write(folder / f"{minutes}min.mp4", talking, round(minutes * 60 * fps), fps)
        done = subprocess.run([sys.executable, "-c", _WORKER_RSS, str(folder), str(tmp / f"rss_out{minutes}"),
                               str(every)], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
        rows[minutes] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--photos", type=int, default=51)
    parser.add_argument("--every", type=int, default=1, help="analyse every N-th frame (the batch's --every)")
    parser.add_argument("--rss-every", type=int, default=5, help="--every for the 1- and 10-minute clips")
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="emodetect-batch-bench-") as tmp:
        tmp = Path(tmp)
        make_clips(tmp / "clips", args.clips)
        make_photos(tmp / "photos", args.photos)
        overheads = ray_overheads()
        clips = throughput(tmp / "clips", tmp / "out_clips", args.every)
        photos = throughput(tmp / "photos", tmp / "out_photos", args.every)
        ray.shutdown()
        rss = worker_rss(tmp, args.rss_every)

    video_s = clips["rows"]["loop"]["media_s"]
    print(f"{args.clips} clips, {video_s:.0f} s of 640×480 video at every {args.every}. frame; {args.photos} photos; "
          "2 CPUs (shared machine)\n")
    print("| engine | video s per wall s | × in-process | photos per s | × in-process |")
    print("|---|---|---|---|---|")
    base_v = video_s / clips["rows"]["loop"]["wall_s"]
    base_p = args.photos / photos["rows"]["loop"]["wall_s"]
    names = {"loop": "in-process", "pool": "--workers 2", "ray": "--ray, 2 CPUs (started)"}
    for engine, name in names.items():
        v = video_s / clips["rows"][engine]["wall_s"]
        p = args.photos / photos["rows"][engine]["wall_s"]
        print(f"| {name} | {v:.2f} | {v / base_v:.2f} | {p:.2f} | {p / base_p:.2f} |")
    pool_v = video_s / clips["rows"]["pool"]["wall_s"]
    ray_v = video_s / clips["rows"]["ray"]["wall_s"]
    print(f"\nRay / pool, video: {ray_v / pool_v:.2f}; outputs byte-equal across engines: clips {clips['same']}, "
          f"photos {photos['same']}")
    print(f"Ray start-up (2 CPUs, both workers up): {overheads['start_s']:.1f} s; ray.put of the model "
          f"({LITE_MODEL.stat().st_size / 1e6:.1f} MB): {overheads['put_ms']:.0f} ms; empty task round trip "
          f"(median of 200): {overheads['task_ms']:.2f} ms")
    print(f"\n| clip (640×480, looped; every {args.rss_every}. frame) | analysis wall s | pool worker peak RSS MB |")
    print("|---|---|---|")
    for minutes, r in rss.items():
        print(f"| {minutes} min | {r['seconds']:.0f} | {r['worker_peak_rss_mb']:.0f} |")
    print(f"\n10-minute / 1-minute worker peak RSS: {rss[10]['worker_peak_rss_mb'] / rss[1]['worker_peak_rss_mb']:.3f}")
    best = min(clips["rows"][e]["wall_s"] for e in names)
    print(f"cost per video second on the fastest engine: {best * 2 / video_s:.3f} CPU-seconds (2 CPUs)")


if __name__ == "__main__":
    main()
