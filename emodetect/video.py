"""Video analysis: stream frames, detect and track faces, smooth their emotions over
time, and write a timeline (CSV/JSON) and an annotated H.264 MP4.

Memory stays constant in the clip's length: frames are decoded one at a time
on a background thread into a short queue, faces are found on a second thread
(in frame order: a `FaceFollower` follows each face from the previous frame)
and classified on the caller's, so both cores stay busy (LiteRT, OpenCV and
PyAV release the GIL), and only one small row per face and frame is kept.

    analysis = analyze_video("clip.mp4", EmotionDetector.load(preset="video"))
    analysis.timeline      # pandas DataFrame, one row per (frame, face)
    analysis.summary()     # share of time per emotion, per face
"""

from __future__ import annotations

import dataclasses
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
import pandas as pd

from emodetect.detector import EmotionDetector, FaceResult
from emodetect.errors import InputError
from emodetect.faces import Face, FaceFollower
from emodetect.labels import EMOTIONS
from emodetect.limits import MAX_VIDEO_SECONDS, duration_text

SMOOTH_PREFIX = "smooth_"
TIMELINE_COLUMNS = (["frame", "time_s", "face_id", "x", "y", "w", "h", "score", "label", *EMOTIONS,
                     "smooth_label", *(SMOOTH_PREFIX + e for e in EMOTIONS)])

T = TypeVar("T")

# progress(frames_done, frames_total, seconds_elapsed) -> False to cancel
Progress = Callable[[int, int, float], bool | None]


class Cancelled(Exception):
    """The progress callback asked to stop."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the clip (frame count and fps may be estimates)."""

    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    rotation: int
    codec: str


@dataclass(frozen=True)
class Frame:
    index: int  # position in the decoded stream, from 0
    time_s: float  # presentation time from the container
    image: np.ndarray  # RGB uint8, upright


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(f"{name} does not exist")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError):
        raise InputError(f"{name} is not a video file, or it is damaged") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{name} has no video track; it holds only sound or other data")
    return container


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read the header (size, frame rate, frame count, duration) and the first frame, whose display
    matrix says how the clip is turned. Raises `InputError` for a file with no frame to show."""
    name = Path(path).name
    with _open(path) as container:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError:
            raise InputError(f"{name} is damaged: its first frame cannot be decoded") from None
        if first is None:
            raise InputError(f"{name} has no frames that can be decoded")
        rate = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
        duration = 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        frames = stream.frames or (round(duration * rate) if rate and duration else 0)
        if not rate and frames and duration:
            rate = frames / duration
        rotation = _rotation(stream, first)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(width, height, rate, int(frames), duration, rotation, stream.codec_context.name)


def checked_clip(path: str | os.PathLike, max_seconds: float = MAX_VIDEO_SECONDS) -> VideoInfo:
    """`probe`, and refuse a clip over `max_seconds` (`InputError`): what is checked before any frame's work."""
    info = probe(path)
    if info.duration_s > max_seconds:
        raise InputError(f"{Path(path).name} is {duration_text(info.duration_s)} long; "
                         f"clips up to {duration_text(max_seconds)} can be analysed")
    return info


def _rotation(stream: av.video.stream.VideoStream, frame: av.VideoFrame) -> int:
    """Clockwise rotation (0/90/180/270) a player applies, from the frame's display matrix or the rotate tag.

    FFmpeg states the display matrix's angle counterclockwise: a phone held upright records -90.
    """
    if frame.rotation:
        return round(-frame.rotation / 90) % 4 * 90
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            return int(tag) % 360
        except ValueError:
            return 0
    return 0


def iter_frames(path: str | os.PathLike, every: int = 1, fps: float | None = None) -> Iterator[Frame]:
    """Decode frames one at a time, keeping every `every`-th frame, or about `fps` per second
    (chosen by timestamp, so variable-frame-rate clips sample evenly in time)."""
    if every < 1:
        raise ValueError("every must be at least 1")
    name = Path(path).name
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_time = 0.0
        index = -1
        last_time = -math.inf
        try:
            for frame in container.decode(stream):
                index += 1
                time_s = float(frame.time) if frame.time is not None else (index / float(stream.average_rate or 30))
                if time_s <= last_time:  # broken timestamps: keep time moving forward
                    time_s = last_time + 1e-3
                last_time = time_s
                if fps:
                    if time_s + 1e-6 < next_time:
                        continue
                    next_time = max(next_time + 1.0 / fps, time_s)  # no bursts after a gap
                elif index % every:
                    continue
                rotation = _rotation(stream, frame)
                image = frame.to_ndarray(format="rgb24")
                if rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=-rotation // 90))
                yield Frame(index, time_s, image)
        except av.error.FFmpegError:
            raise InputError(f"{name} is damaged: decoding stopped after {index + 1} frames") from None
        if index < 0:
            raise InputError(f"{name} has no frames that can be decoded")
    finally:
        container.close()


def _prefetch(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Run the iterator `items` on a background thread while the caller works, at most `depth` ahead."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as e:  # handed to the consumer, raised there
            slots.put(e)
        finally:
            items.close() if hasattr(items, "close") else None

    thread = threading.Thread(target=produce, name="video-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _find_faces(frames: Iterator[Frame], detector: EmotionDetector) -> Iterator[tuple[Frame, list[Face]]]:
    """Each frame with its faces, found in order by one `FaceFollower` (it needs the previous frame's)."""
    follower = FaceFollower(detector.find_faces)
    for frame in frames:
        yield frame, follower(frame.image, frame.time_s)


@dataclass
class Track:
    id: int
    box: tuple[int, int, int, int]
    last_time: float
    smoothed: np.ndarray


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _centre_distance(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Distance between box centres, in units of the larger box's size."""
    dx = (a[0] + a[2] / 2) - (b[0] + b[2] / 2)
    dy = (a[1] + a[3] / 2) - (b[1] + b[3] / 2)
    return math.hypot(dx, dy) / max(a[2], a[3], b[2], b[3], 1)


@dataclass
class Tracker:
    """Stable face ids across frames, with exponentially smoothed probabilities per id.

    A face is matched to the live track it overlaps most (IoU), or failing
    that the nearest one whose centre is within `max_jump` box sizes; a track
    survives `memory_s` seconds without a match. Smoothing uses a time
    constant `smoothing_s` in seconds, so it behaves the same at any sampling
    rate (0 turns it off).
    """

    smoothing_s: float = 0.5
    memory_s: float = 1.0
    min_iou: float = 0.2
    max_jump: float = 0.6
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, time_s: float, faces: list[FaceResult]) -> list[tuple[int, np.ndarray]]:
        """Assign an id to each face (in order) and return (id, smoothed probs) for each."""
        self.tracks = [t for t in self.tracks if time_s - t.last_time <= self.memory_s]
        pairs = []
        for fi, face in enumerate(faces):
            for ti, track in enumerate(self.tracks):
                iou = _iou(face.box, track.box)
                near = _centre_distance(face.box, track.box)
                if iou >= self.min_iou or near <= self.max_jump:
                    pairs.append((iou - near, fi, ti))
        assigned: dict[int, Track] = {}
        used: set[int] = set()
        for _, fi, ti in sorted(pairs, reverse=True):
            if fi not in assigned and ti not in used:
                assigned[fi] = self.tracks[ti]
                used.add(ti)
        out = []
        for fi, face in enumerate(faces):
            track = assigned.get(fi)
            if track is None:
                track = Track(self.next_id, face.box, time_s, face.probs.astype(np.float64))
                self.next_id += 1
                self.tracks.append(track)
            else:
                dt = max(0.0, time_s - track.last_time)
                alpha = 1.0 if self.smoothing_s <= 0 else 1.0 - math.exp(-dt / self.smoothing_s)
                track.smoothed = (1 - alpha) * track.smoothed + alpha * face.probs
                track.box, track.last_time = face.box, time_s
            out.append((track.id, track.smoothed.astype(np.float32)))
        return out


def smoothed(faces: list[FaceResult], tracked: list[tuple[int, np.ndarray]]) -> list[FaceResult]:
    """`faces` with the smoothed probabilities `Tracker.update` gave them: what the drawings show,
    so a box's label does not flicker from frame to frame."""
    return [dataclasses.replace(face, probs=probs) for face, (_, probs) in zip(faces, tracked)]


@dataclass
class VideoAnalysis:
    """The result of `analyze_video`: the clip's header, the timeline, and what was written."""

    info: VideoInfo
    timeline: pd.DataFrame
    frames_analyzed: int
    seconds: float
    annotated_path: Path | None = None

    @property
    def face_ids(self) -> list[int]:
        return sorted(int(i) for i in self.timeline["face_id"].dropna().unique())

    @property
    def most_faces_in_a_frame(self) -> int:
        """The largest number of faces found in one analysed frame (to tell when the faces limit was hit)."""
        counts = self.timeline.groupby("frame")["face_id"].count()
        return int(counts.max()) if len(counts) else 0

    def summary(self) -> pd.DataFrame:
        """Per face: frames seen, seconds on screen, share of its frames per (smoothed) emotion, dominant."""
        faces = self.timeline.dropna(subset=["face_id"])
        rows = []
        for face_id, group in faces.groupby("face_id"):
            shares = group["smooth_label"].value_counts(normalize=True)
            row = {"face_id": int(face_id), "frames": len(group),
                   "first_s": float(group["time_s"].min()), "last_s": float(group["time_s"].max())}
            row.update({e: float(shares.get(e, 0.0)) for e in EMOTIONS})
            row["dominant"] = max(EMOTIONS, key=lambda e: row[e])
            rows.append(row)
        columns = ["face_id", "frames", "first_s", "last_s", *EMOTIONS, "dominant"]
        return pd.DataFrame(rows, columns=columns)

    def csv_text(self) -> str:
        """The timeline as `video --csv` writes it (a batch unit returns this text to the writer)."""
        return self.timeline.to_csv(index=False, float_format="%.4f")

    def to_csv(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.csv_text())

    def to_json(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.timeline.to_json(orient="records", double_precision=4))


class AnnotatedWriter:
    """Writes RGB frames to an H.264 MP4 (yuv420p, moov atom first) that browsers play."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float):
        self.path = Path(path)
        self.container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream("libx264", rate=Fraction(max(1, round(fps * 1000)), 1000))
        # yuv420p needs even sizes
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": "veryfast", "crf": "23"}
        self.stream.thread_type = "AUTO"

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(image[: self.stream.height, : self.stream.width], format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def analyze_video(path: str | os.PathLike, detector: EmotionDetector, every: int = 1, fps: float | None = None,
                  smoothing_s: float = Tracker.smoothing_s, annotated_path: str | os.PathLike | None = None,
                  progress: Progress | None = None, max_seconds: float = MAX_VIDEO_SECONDS) -> VideoAnalysis:
    """Analyse a clip frame by frame into a timeline; optionally write the annotated MP4.

    Sampling: every `every`-th frame, or about `fps` frames per second. Raises
    `InputError` for unreadable, damaged or over-long clips and `Cancelled`
    when `progress` returns False.
    """
    from emodetect.draw import annotate

    info = checked_clip(path, max_seconds)
    expected = _expected_frames(info, every, fps)
    tracker = Tracker(smoothing_s=smoothing_s)
    rows: list[tuple] = []
    writer = None
    start = time.perf_counter()
    analyzed = 0
    try:
        # three threads: decoding, finding faces (in order), and here classifying, tracking and drawing
        frames = _prefetch(iter_frames(path, every=every, fps=fps))
        for frame, found in _prefetch(_find_faces(frames, detector)):
            results = detector.classify(frame.image, found)
            tracked = tracker.update(frame.time_s, results)
            if not results:
                rows.append((frame.index, frame.time_s) + (None,) * (len(TIMELINE_COLUMNS) - 2))
            for face, (face_id, smooth) in zip(results, tracked):
                rows.append((frame.index, frame.time_s, face_id, *face.box, face.score, face.label, *face.probs,
                             EMOTIONS[int(np.argmax(smooth))], *smooth))
            if annotated_path is not None:
                if writer is None:
                    h, w = frame.image.shape[:2]
                    writer = AnnotatedWriter(annotated_path, w, h, (fps or (info.fps / every)) or 30.0)
                writer.write(annotate(frame.image, smoothed(results, tracked), ids=[i for i, _ in tracked],
                                      copy=False))
            analyzed += 1
            if progress is not None and progress(analyzed, max(expected, analyzed),
                                                 time.perf_counter() - start) is False:
                raise Cancelled()
    finally:
        if writer is not None:
            writer.close()
    timeline = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    timeline["face_id"] = timeline["face_id"].astype("Int64")
    for column in ("x", "y", "w", "h"):
        timeline[column] = timeline[column].astype("Int64")
    return VideoAnalysis(info, timeline, analyzed, time.perf_counter() - start,
                         Path(annotated_path) if annotated_path is not None else None)


def _expected_frames(info: VideoInfo, every: int, fps: float | None) -> int:
    if fps and info.duration_s:
        return max(1, math.ceil(info.duration_s * min(fps, info.fps or fps)))
    return max(1, math.ceil(info.frames / every)) if info.frames else 0
