"""The Video page's work: a clip analysed in a process of its own, kept in memory, and its timeline per face."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from emodetect.app.model import in_sentence
from emodetect.labels import DEFAULT_READING
from emodetect.limits import (
    MAX_FACES,
    MAX_VIDEO_SECONDS,
    duration_text,
)

if TYPE_CHECKING:
    from emodetect.video import Progress, VideoAnalysis


@dataclass(frozen=True)
class VideoResult:
    """One analysed clip, all in memory: the video page keeps it in st.session_state and no file outlives the run."""

    name: str
    settings: str  # how it was analysed, in words
    analysis: VideoAnalysis
    csv: str  # the timeline, as `VideoAnalysis.to_csv` writes it
    mp4: bytes  # the annotated clip, H.264 MP4
    max_faces: int  # faces classified per frame (the largest); the page says so when a frame had more


VIDEO_MAX_FACES = MAX_FACES  # what `analyse_clip` analyses per frame


def analyse_clip(name: str, smoothing_s: float, data: bytes | None = None, path: Path | None = None,
                 fps: float | None = None, progress: Progress | None = None,
                 labels: str = DEFAULT_READING) -> VideoResult:
    """Analyse an uploaded clip (`data`) or a file on disk (`path`) in a process of its own
    (`emodetect.app.video_process`: the webcam streams of this server keep their share of the cores).

    The upload and the outputs live in a temporary folder removed on return, so
    the server keeps nothing on disk. A file that is not a video, or a clip over
    MAX_VIDEO_SECONDS, raises `InputError` before any frame is analysed.
    """
    from emodetect.app.video_process import analyze_video_apart

    with tempfile.TemporaryDirectory(prefix="emodetect-video-") as tmp:
        folder = Path(tmp)
        if path is None:
            if data is None:
                raise ValueError("give the clip's bytes or its path")
            file_name = Path(name).name  # errors name the file as the visitor knows it
            path = folder / (file_name if file_name not in ("", ".", "..") else "clip")
            path.write_bytes(data)
        annotated = folder / "annotated.mp4"
        analysis = analyze_video_apart(path, fps=fps, smoothing_s=smoothing_s, annotated_path=annotated,
                                       progress=progress, max_seconds=MAX_VIDEO_SECONDS, max_faces=VIDEO_MAX_FACES,
                                       labels=labels)
        csv = analysis.csv_text()
        mp4 = annotated.read_bytes() if annotated.is_file() else b""
    sampling = "every frame" if fps is None else f"{fps:g} frames per second"
    smoothing = f"smoothing {smoothing_s:g} s" if smoothing_s > 0 else "no smoothing"
    reading = in_sentence(labels)
    return VideoResult(name, f"{sampling}, {smoothing}, {reading}", dataclasses.replace(analysis, annotated_path=None),
                       csv, mp4, VIDEO_MAX_FACES)


def progress_text(done: int, total: int, elapsed: float) -> str:
    """ "57 / 115 frames · about 4 s left", estimated from the pace so far."""
    left = elapsed / done * max(0, total - done) if done else 0.0
    return f"{done} / {total} frames · about {duration_text(left)} left"


def face_tracks(timeline: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Per face id, one row per analysed frame, empty (NaN) where that face is not seen.

    Charts then show gaps while a face is away instead of drawing lines across them.
    """
    frames = timeline.drop_duplicates("frame")[["frame", "time_s"]]
    faces = timeline.dropna(subset=["face_id"])
    return {int(face_id): frames.merge(rows.drop(columns="time_s"), on="frame", how="left")
            for face_id, rows in faces.groupby("face_id")}
