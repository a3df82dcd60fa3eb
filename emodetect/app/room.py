"""How many frames per second each webcam stream gets, from what the server is doing now.

Every frame a stream takes costs the server its analysis and the encoding of the annotated answer;
a video analysis costs a core. A visitor alone on the server gets the camera's full rate (the page
asks for the operator's cap, `$EMODETECT_WEBCAM_FPS`, 30 by default); as streams and analyses are
added, every stream, running or new, steps down to its share of the server's frame budget:

    rate = FRAMES_PER_CORE × cores / (live streams + ANALYSIS_STREAMS × analyses running),
           kept between MIN_FPS and the cap

Two places apply the rate. A running stream drops the frames over its rate right after they are
decoded, before they are analysed or answered (`PacedTrack`); the browser still sends the rate its
camera was opened at, and decoding one costs ~1 ms. A new stream also asks its camera for no more
than the rate it would get when its page was drawn (`Room.rate_for_new_stream`), so the browser
encodes fewer too; a stream keeps the camera rate it started with until the visitor starts it again.
(Re-drawing an idle page whenever the room changes raced with a START click and ended streams.)
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from streamlit_webrtc import process, webrtc

# A frame costs ~15 ms here (decoded, analysed, drawn, encoded: 12 ms in the callback alone), so 30 per core
# keep the webcams to about half the cores, the rest for the network loop, the pages and the analyses.
FRAMES_PER_CORE = 30
ANALYSIS_STREAMS = 6  # a running video analysis counts as this many streams: it takes every core it gets
MIN_FPS = 3  # a stream never gets less: 3 frames per second still follow a face and keep the stream live
LIVE_S = 2.0  # a stream whose last frame is older than this costs nothing and is not counted
STALL_S = 5.0  # a stream that received nothing for this long before it ended was ended by the network
RATE_WINDOW_S = 5.0  # frames received and passed on are counted over this many recent seconds

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Room:
    """The server's frame budget, shared out between its live webcam streams. Thread-safe.

    `analyses_running` tells how many video analyses run now (the analysis line's state).
    """

    def __init__(self, cap: int, analyses_running: Callable[[], int], cores: int | None = None):
        self.cap = cap
        self.analyses_running = analyses_running
        self.budget = FRAMES_PER_CORE * (cores or usable_cores())
        self._streams: weakref.WeakSet[Stream] = weakref.WeakSet()
        self._lock = threading.Lock()

    def join(self) -> Stream:
        """A new stream's pacer, counted from its first frame until its last."""
        stream = Stream(self)
        with self._lock:
            self._streams.add(stream)
        return stream

    def live_streams(self, now: float | None = None) -> int:
        """Streams that received a frame in the last `LIVE_S` seconds."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return sum(1 for s in self._streams if s.live(now))

    def rate(self, streams: int | None = None, now: float | None = None) -> float:
        """Frames per second each stream may take now (with `streams` live, by default those live at `now`)."""
        streams = self.live_streams(now) if streams is None else streams
        load = max(1, streams) + ANALYSIS_STREAMS * self.analyses_running()
        return min(float(self.cap), max(float(MIN_FPS), self.budget / load))

    def rate_for_new_stream(self) -> int:
        """The frames per second a stream starting now would get: what its camera is asked for."""
        return math.floor(self.rate(self.live_streams() + 1))

    def load_text(self, own_stream_live: bool = True) -> str:
        """ "2 other webcams and 1 video analysis": what the visitor's stream shares the server with."""
        others = self.live_streams() - (1 if own_stream_live else 0)
        analyses = self.analyses_running()
        parts = [f"{others} other webcam{'s' if others != 1 else ''}"] if others > 0 else []
        if analyses:
            parts.append(f"{analyses} video analys{'e' if analyses != 1 else 'i'}s")
        return " and ".join(parts) or "nothing else"


class Stream:
    """One webcam stream's share of the room: which frames it passes on, what it received, how it ended.

    Frames are passed on at the room's rate by their own timestamps (a steady schedule, so 20 of a
    camera's 30 frames per second pass as 20, not as every other one).
    """

    def __init__(self, room: Room):
        self.room = room
        self.session = ""  # set by the page once it sees the stream: named in the server's log
        self._due = -math.inf
        self._received: deque[float] = deque()  # arrival times (monotonic) of the recent frames
        self._passed: deque[float] = deque()
        self._counts = threading.Lock()  # the WebRTC thread appends while the page's thread counts
        self.started = time.monotonic()
        self.first_frame = self.last_frame = -math.inf
        self.ended: float | None = None  # monotonic time the stream ended, None while it runs

    def live(self, now: float) -> bool:
        return self.ended is None and now - self.last_frame <= LIVE_S

    def admit(self, frame_time: float, now: float | None = None) -> bool:
        """Whether the frame stamped `frame_time` (seconds) is analysed and answered; counts it either way."""
        now = time.monotonic() if now is None else now
        if self.last_frame == -math.inf:
            self.first_frame = now
        self.last_frame = now
        self._count(self._received, now)
        interval = 1.0 / self.room.rate(now=now)
        if frame_time < self._due - 0.1 * interval:
            return False
        self._due = max(self._due, frame_time - interval) + interval
        self._count(self._passed, now)
        return True

    def received_fps(self, now: float | None = None) -> float:
        """Frames per second arriving from the browser, over the last `RATE_WINDOW_S`."""
        return self._fps(self._received, now)

    def passed_fps(self, now: float | None = None) -> float:
        """Frames per second analysed and sent back (at most the room's rate)."""
        return self._fps(self._passed, now)

    def end(self) -> None:
        """The stream's connection is gone; log why, with the page's session."""
        if self.ended is not None:
            return
        self.ended = time.monotonic()
        if self.dropped:
            log.warning("webcam stream of session %s ended after %.0f s: nothing came from the browser for the "
                        "last %.0f s (a network drop, or a browser that stopped answering)", self.session or "?",
                        self.ended - self.started, self.silent_s)
        else:
            log.info("webcam stream of session %s stopped after %.0f s", self.session or "?",
                     self.ended - self.started)

    @property
    def silent_s(self) -> float:
        """Seconds without a frame, until the stream ended (or until now)."""
        end = self.ended if self.ended is not None else time.monotonic()
        return end - self.last_frame if self.last_frame > -math.inf else end - self.started

    @property
    def dropped(self) -> bool:
        """The stream ended, or is silent, after `STALL_S` without a frame: the visitor did not press STOP."""
        return self.silent_s >= STALL_S

    def _count(self, times: deque[float], now: float) -> None:
        with self._counts:
            times.append(now)
            while times and times[0] < now - RATE_WINDOW_S:
                times.popleft()

    def _fps(self, times: deque[float], now: float | None) -> float:
        now = time.monotonic() if now is None else now
        span = min(RATE_WINDOW_S, now - self.first_frame)
        if not 0 < span < math.inf:
            return 0.0
        with self._counts:
            return sum(1 for t in times if t > now - span) / span


class PacedTrack(MediaStreamTrack):
    """The browser's video track, passing on only the frames its `Stream` admits."""

    kind = "video"

    def __init__(self, track: MediaStreamTrack, stream: Stream):
        super().__init__()
        self.track = track
        self.stream = stream
        track.on("ended", self.stop)

    async def recv(self) -> av.VideoFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                self.stop()
                raise
            stamp = float(frame.time) if frame.time is not None else time.monotonic()
            if self.stream.admit(stamp):
                return frame

    def stop(self) -> None:
        if self.readyState == "live":
            self.stream.end()
            super().stop()
            self.track.stop()


_room: Room | None = None


class PacedVideoProcessTrack(process.AsyncVideoProcessTrack):
    """streamlit-webrtc's track that runs the page's frame callback, fed only the frames the room allows.

    `stream` is its share; the page finds it through `ctx.output_video_track.stream`.
    """

    def __init__(self, track: MediaStreamTrack, processor, stop_timeout: float | None = None):
        assert _room is not None, "use_room() first"
        self.stream = _room.join()
        super().__init__(PacedTrack(track, self.stream), processor, stop_timeout)


def use_room(room: Room) -> None:
    """Pace every webcam stream started from now on by `room` (the server's one; idempotent for it)."""
    global _room
    _room = room
    webrtc.AsyncVideoProcessTrack = PacedVideoProcessTrack
