"""Video analysis speed and memory, ours beside the `fer` package's, in one run.

1. talking_woman.mp4 (15.5 s, 464 frames) analysed at every frame: real-time
   factor (clip seconds / wall seconds, after start-up, median of 3) for the timeline alone
   and with the annotated MP4; then each stage timed on its own over the same
   frames (decode, detection, classification, drawing, encoding).
2. Peak RSS of a fresh process analysing a 1-minute and a 10-minute 640×480
   clip made by looping the real clip (written to a temp dir, removed after).
3. fer's pipeline (Haar + mini-Xception, its own code in benchmarks/.peer-venv)
   on the same 464 frames, as the equivalent of its `Video.analyze`.

    python -m benchmarks.video_analysis [--skip-memory]     (from the project root)
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

from benchmarks.peer import run_peer
from emodetect import faces as face_detection
from emodetect.detector import EmotionDetector
from emodetect.draw import annotate
from emodetect.paths import PROJECT_DIR
from emodetect.video import AnnotatedWriter, analyze_video, iter_frames, probe

VIDEO = PROJECT_DIR.parent / "shared" / "data" / "media" / "talking_woman.mp4"

_MEASURE_RSS = """
import json, resource, sys
from emodetect.detector import EmotionDetector
from emodetect.video import analyze_video
det = EmotionDetector.load(preset="video")
a = analyze_video(sys.argv[1], det)
print(json.dumps({"frames": a.frames_analyzed, "seconds": a.seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def realtime(det: EmotionDetector, duration: float, runs: int = 3) -> dict:
    """Real-time factors, the median of `runs` analyses each (single runs vary by ±10% here)."""
    with tempfile.TemporaryDirectory() as tmp:
        timeline = [analyze_video(VIDEO, det) for _ in range(runs)]
        annotated = [analyze_video(VIDEO, det, annotated_path=Path(tmp) / "a.mp4") for _ in range(runs)]
    return {"timeline": duration / statistics.median(a.seconds for a in timeline),
            "annotated": duration / statistics.median(a.seconds for a in annotated),
            "frames": timeline[0].frames_analyzed, "runs": runs}


def stages(det: EmotionDetector) -> dict:
    """Each stage alone over the clip's frames, ms per frame. Detection twice: analysis follows faces
    found by a whole-frame scan every 0.25 s (`faces.FaceFollower`); scanning every frame is beside it."""
    t = time.perf_counter()
    timed = list(iter_frames(VIDEO))
    decode = time.perf_counter() - t
    frames = [f.image for f in timed]
    t = time.perf_counter()
    [det.find_faces(f) for f in frames]
    scan = time.perf_counter() - t
    follower = face_detection.FaceFollower(det.find_faces)
    t = time.perf_counter()
    found = [follower(f.image, f.time_s) for f in timed]
    follow = time.perf_counter() - t
    t = time.perf_counter()
    results = []
    for frame, faces in zip(frames, found):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        crops = [face_detection.crop(gray, f, det.crop_margin, det.level_eyes) for f in faces]
        results.append(det.classifier.predict(crops))
    classify = time.perf_counter() - t
    detected = [det.detect(f) for f in frames[:1]]  # FaceResult shapes for drawing
    t = time.perf_counter()
    drawn = [annotate(f, detected[0]) for f in frames]
    draw = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        h, w = frames[0].shape[:2]
        writer = AnnotatedWriter(Path(tmp) / "e.mp4", w, h, 29.97)
        t = time.perf_counter()
        for f in drawn:
            writer.write(f)
        writer.close()
        encode = time.perf_counter() - t
    n = len(frames)
    return {k: v / n * 1000 for k, v in [
        ("decode", decode), ("detection: scanning every frame (not used for video)", scan),
        (f"detection: following, as analysis does ({follower.scans} of {n} frames scanned)", follow),
        ("classification", classify), ("drawing", draw), ("encoding", encode)]}


def looped_clip(path: Path, seconds: float) -> None:
    """A 640×480 clip of `seconds` made by looping the real one."""
    frames = [cv2.resize(f.image, (640, 480)) for f in iter_frames(VIDEO)]
    info = probe(VIDEO)
    writer = AnnotatedWriter(path, 640, 480, info.fps)
    for i in range(round(seconds * info.fps)):
        writer.write(frames[i % len(frames)])
    writer.close()


def peak_rss(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _MEASURE_RSS, str(path)], cwd=PROJECT_DIR, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-memory", action="store_true", help="skip the 1- and 10-minute clips")
    args = parser.parse_args()
    info = probe(VIDEO)
    det = EmotionDetector.load(preset="video")
    det.detect(next(iter_frames(VIDEO)).image)  # start-up, excluded from timings
    speed = realtime(det, info.duration_s)
    split = stages(det)
    fer = run_peer(["frames", "--video", str(VIDEO), "--n", str(speed["frames"])])
    fer_realtime = info.duration_s / (fer["n_frames"] * fer["total_ms"]["mean"] / 1000)

    print(f"talking_woman.mp4: {info.duration_s:.1f} s, {speed['frames']} frames, {info.width}×{info.height}\n")
    print(f"| every frame, after start-up (median of {speed['runs']} runs) | emodetect | fer | ours / fer |")
    print("|---|---|---|---|")
    print(f"| timeline only: × real time | {speed['timeline']:.1f} | {fer_realtime:.1f} | "
          f"{speed['timeline'] / fer_realtime:.1f} |")
    print(f"| with annotated MP4: × real time | {speed['annotated']:.1f} | – | – |")
    print("\n| stage (each timed alone) | ms per frame |")
    print("|---|---|")
    for stage, ms in split.items():
        print(f"| {stage} | {ms:.2f} |")
    if not args.skip_memory:
        print("\n| clip (640×480, looped) | frames | analysis s | peak RSS MB |")
        print("|---|---|---|---|")
        rows = {}
        with tempfile.TemporaryDirectory() as tmp:
            for minutes in (1, 10):
                path = Path(tmp) / f"{minutes}min.mp4"
                looped_clip(path, minutes * 60)
                rows[minutes] = peak_rss(path)
                path.unlink()
                r = rows[minutes]
                print(f"| {minutes} min | {r['frames']} | {r['seconds']:.0f} | {r['peak_rss_mb']:.0f} |")
        ratio = rows[10]["peak_rss_mb"] / rows[1]["peak_rss_mb"]
        print(f"\n10-minute / 1-minute peak RSS: {ratio:.3f}")


if __name__ == "__main__":
    main()
