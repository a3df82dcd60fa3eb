"""The webcam page's plumbing, kept free of Streamlit and WebRTC so it can be unit-tested.

streamlit-webrtc calls the page's frame callback on a worker thread, where
`st.*` calls do not work. The callback therefore only has a `FrameAnalyser`
draw on the frame and `offer`s one small `LiveRecord` to a bounded `queue.Queue`; the page drains
that queue into a `LiveStats` every `REFRESH_S` and charts the last 30 s.
Nothing in the callback waits: a full queue drops the record, and with
`async_processing=True` streamlit-webrtc itself skips the frames that arrive
while the callback is busy, so the picture never falls behind the camera.
The callback's thread also runs below the rest of the server (`yield_to_network`),
so that analyses never keep the one thread that carries every stream's packets waiting.

ICE servers (how the browser and the server find a network path to each other):

* By default there are none. That is enough when the browser runs on the same
  machine as the app (`streamlit run app.py`, then open localhost) or on the
  same network.
* Behind NAT or a firewall (a deployed app, a phone on mobile data), give a
  STUN and usually a TURN server, either in the environment variable
  `EMODETECT_ICE_SERVERS` as a JSON list::

      EMODETECT_ICE_SERVERS='[{"urls": ["stun:stun.l.google.com:19302"]}]' streamlit run app.py

  or in `.streamlit/secrets.toml` as `ice_servers`::

      [[ice_servers]]
      urls = ["turn:turn.example.org:3478"]
      username = "user"
      credential = "secret"

  The environment variable wins when both are set. Each entry is an
  RTCIceServer (`urls`, and `username`/`credential` for TURN); a bare string
  is read as `{"urls": that string}`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from emodetect.draw import annotate
from emodetect.faces import FaceFollower
from emodetect.labels import EMOTIONS
from emodetect.video import Tracker, smoothed

if TYPE_CHECKING:
    from emodetect.detector import EmotionDetector, FaceResult

ICE_SERVERS_ENV = "EMODETECT_ICE_SERVERS"
ICE_SERVERS_SECRET = "ice_servers"
WINDOW_S = 30.0  # seconds of history on the live chart
FPS_WINDOW_S = 5.0  # the FPS figure counts the frames processed in this many recent seconds
ANALYSIS_NICENESS = 5  # added to a webcam's analysis thread: the server's network loop comes first
# The panel's refresh. Each one builds a Plotly figure in Python (~40 ms holding the GIL): at twice a second,
# four viewers' panels held the GIL a third of the time and the event loop carrying every stream waited on it.
REFRESH_S = 1.0
QUEUE_SIZE = 256  # records; the page drains ~15 per refresh at 15 fps, so this fills only if it stops reading


@dataclass(frozen=True)
class LiveRecord:
    """What the callback learned from one frame: small enough to queue at 30 fps."""

    time: float  # time.time() when the frame was processed
    labels: tuple[str, ...]  # every face's emotion, largest face first
    probs: tuple[float, ...] | None  # the largest face's 7 probabilities (EMOTIONS order); None without a face
    ms: float  # time the callback spent on the frame

    @classmethod
    def from_faces(cls, faces: Sequence[Any], time: float, ms: float) -> LiveRecord:
        """A record from `EmotionDetector.detect`'s results (largest face first)."""
        probs = tuple(float(p) for p in faces[0].probs) if faces else None
        return cls(time, tuple(f.label for f in faces), probs, ms)


class FrameAnalyser:
    """The webcam callback's work on one frame: find the faces, smooth each one's emotions over time
    and draw them onto the frame.

    Smoothing is the video page's (`video.Tracker`: a time constant in seconds), so a talking face's
    label does not flicker several times a second. One analyser per stream: the tracker remembers
    that stream's faces. The page may change `smoothing_s` between frames.
    """

    def __init__(self, detector: EmotionDetector, smoothing_s: float = Tracker.smoothing_s):
        self.detector = detector
        self.follower = FaceFollower(detector.find_faces)  # whole-frame scans 4 times a second, as video
        self.tracker = Tracker(smoothing_s=smoothing_s)

    @property
    def smoothing_s(self) -> float:
        return self.tracker.smoothing_s

    @smoothing_s.setter
    def smoothing_s(self, seconds: float) -> None:
        self.tracker.smoothing_s = seconds

    def __call__(self, image: np.ndarray, time_s: float) -> list[FaceResult]:
        """Draw on `image` (RGB, in place) and return its faces, largest first, with smoothed probabilities."""
        faces = self.detector.classify(image, self.follower(image, time_s))
        shown = smoothed(faces, self.tracker.update(time_s, faces))
        annotate(image, shown, copy=False)
        return shown


_nicer = threading.local()


def yield_to_network(niceness: int = ANALYSIS_NICENESS) -> None:
    """Run the calling thread (a stream's frame analysis) `niceness` below the rest of the server.

    Each stream's analysis takes the newest frame as soon as the last one is done, so several streams
    want every core; at equal priority they starve the one thread that carries all streams' packets
    and the browsers' consent checks (the server's event loop), and streams end. Linux sets niceness
    per thread; elsewhere this does nothing. Idempotent per thread.
    """
    if getattr(_nicer, "done", False):
        return
    _nicer.done = True
    if hasattr(os, "setpriority"):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)


def new_queue(size: int = QUEUE_SIZE) -> queue.Queue[LiveRecord]:
    """The bounded queue that carries records from the callback thread to the page."""
    return queue.Queue(maxsize=size)


def offer(records: queue.Queue[LiveRecord], record: LiveRecord) -> bool:
    """Put `record` without ever blocking the callback; returns False (record dropped) when the queue is full."""
    try:
        records.put_nowait(record)
    except queue.Full:
        return False
    return True


class LiveStats:
    """The records of the last `window_s` seconds: the live chart's data and the processing FPS.

    Owned by one page session and touched only by its script thread; the callback
    thread reaches it through the queue alone.
    """

    def __init__(self, window_s: float = WINDOW_S, fps_window_s: float = FPS_WINDOW_S):
        self.window_s = window_s
        self.fps_window_s = fps_window_s
        self._records: deque[LiveRecord] = deque()
        self._first_time = 0.0  # when the first record since the last clear() was made
        self.frames = 0  # records seen since the last clear()

    def add(self, record: LiveRecord) -> None:
        """Keep `record`, forgetting those that have left the window."""
        if not self.frames:
            self._first_time = record.time
        self._records.append(record)
        self.frames += 1
        self._trim(record.time)

    def drain(self, records: queue.Queue[LiveRecord]) -> int:
        """Move everything waiting in `records` into the window; returns how many were taken."""
        taken = 0
        while True:
            try:
                record = records.get_nowait()
            except queue.Empty:
                return taken
            self.add(record)
            taken += 1

    def clear(self) -> None:
        """Forget everything (a new stream starts)."""
        self._records.clear()
        self.frames = 0

    @property
    def latest(self) -> LiveRecord | None:
        """The newest record (what the page's numbers show), or None before the first frame."""
        return self._records[-1] if self._records else None

    def fps(self, now: float | None = None) -> float:
        """Frames the callback finished per second over the last `fps_window_s` (or since the first frame).

        Counting frames over a fixed span, rather than timing the gaps between the latest ones,
        still gives a figure at one frame every few seconds, and falls to 0 once frames stop coming.
        """
        if not self._records:
            return 0.0
        end = self._end(now)
        span = min(self.fps_window_s, end - self._first_time)
        if span <= 0:
            return 0.0
        return sum(1 for r in self._records if end - span < r.time <= end) / span

    def mean_ms(self, now: float | None = None) -> float:
        """Mean processing time per frame over the last `fps_window_s` (0 with no frames)."""
        end = self._end(now)
        ms = [r.ms for r in self._records if end - self.fps_window_s < r.time <= end]
        return float(np.mean(ms)) if ms else 0.0

    def window(self, now: float | None = None, max_rows: int | None = None) -> pd.DataFrame:
        """One row per frame of the last `window_s` seconds before `now` (default: the latest record).

        Columns: `seconds` (≤ 0, relative to `now`), `faces`, `label` (largest face, "" without one)
        and the largest face's probability of each emotion (NaN without a face, so charts show a gap).
        `max_rows` keeps every k-th frame (always the latest) so a chart redrawn every refresh stays light.
        """
        end = self._end(now)
        kept = [r for r in self._records if end - self.window_s <= r.time <= end]
        if max_rows and len(kept) > max_rows:
            kept = kept[::-math.ceil(len(kept) / max_rows)][::-1]
        probs = np.array([r.probs if r.probs is not None else [np.nan] * len(EMOTIONS) for r in kept],
                         dtype=float).reshape(len(kept), len(EMOTIONS))
        frame = pd.DataFrame({
            "seconds": np.array([r.time - end for r in kept], dtype=float),
            "faces": np.array([len(r.labels) for r in kept], dtype=int),
            "label": [r.labels[0] if r.labels else "" for r in kept],
        })
        for i, emotion in enumerate(EMOTIONS):
            frame[emotion] = probs[:, i]
        return frame

    def _end(self, now: float | None) -> float:
        if now is not None:
            return now
        return self._records[-1].time if self._records else 0.0

    def _trim(self, now: float) -> None:
        while self._records and self._records[0].time < now - self.window_s:
            self._records.popleft()


def camera_constraints(fps: int) -> dict[str, Any]:
    """The browser's getUserMedia constraints for the Webcam page: video only, at most `fps` frames per
    second (the browser drops the camera's extra frames before encoding them)."""
    return {"video": {"frameRate": {"ideal": fps, "max": fps}}, "audio": False}


def parse_ice_servers(value: str | Sequence[Any] | None) -> list[dict[str, Any]]:
    """ICE servers from the env var's JSON text or the secrets' list, as plain RTCIceServer dicts.

    Raises ValueError with a one-line reason, so a typo shows up as an error on the page, not as a
    connection that silently never starts.
    """
    if value is None:
        return []
    source = value
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            source = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"{ICE_SERVERS_ENV} is not valid JSON ({e.msg}); expected a list such as "
                             '[{"urls": ["stun:stun.l.google.com:19302"]}]') from None
    if not isinstance(source, Sequence) or isinstance(source, str | bytes):
        raise ValueError("ICE servers must be a list of servers, each with a `urls` entry")
    servers = []
    for entry in source:
        server = {"urls": entry} if isinstance(entry, str) else _plain(entry)
        if not isinstance(server, dict) or not server.get("urls"):
            raise ValueError(f"ICE server {entry!r} has no `urls`")
        servers.append(server)
    return servers


def _plain(value: Any) -> Any:
    """Secrets' mappings and lists as plain dicts and lists (streamlit-webrtc serialises them)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


class _DropNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Some frames have been dropped")


def quiet_frame_drops() -> None:
    """Silence streamlit-webrtc's warning for every skipped frame: skipping is what keeps the video live.

    Idempotent, so the page can call it on every rerun.
    """
    logger = logging.getLogger("streamlit_webrtc.process")
    if not any(isinstance(f, _DropNotice) for f in logger.filters):
        logger.addFilter(_DropNotice())
