"""emodetect.app.live: the webcam page's queue, rolling window and ICE settings, without a browser."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import threading
import time
from fractions import Fraction
from types import MappingProxyType, SimpleNamespace

import av
import numpy as np
import pytest

from emodetect.app import live, model, settings
from emodetect.labels import EMOTIONS
from emodetect.limits import DEFAULT_WEBCAM_FPS


def face(label: str, p: float = 0.7) -> SimpleNamespace:
    """A stand-in for a FaceResult: only `label` and `probs` are read."""
    probs = np.full(len(EMOTIONS), (1 - p) / (len(EMOTIONS) - 1))
    probs[EMOTIONS.index(label)] = p
    return SimpleNamespace(label=label, probs=probs)


def record(t: float, labels: tuple[str, ...] = ("happy",), ms: float = 10.0) -> live.LiveRecord:
    return live.LiveRecord.from_faces([face(label) for label in labels], t, ms)


def test_a_record_keeps_every_label_and_the_largest_faces_probabilities():
    r = live.LiveRecord.from_faces([face("sad", 0.9), face("happy")], time=5.0, ms=12.5)
    assert r.labels == ("sad", "happy")
    assert r.probs is not None and len(r.probs) == len(EMOTIONS)
    assert r.probs[EMOTIONS.index("sad")] == pytest.approx(0.9)
    assert all(isinstance(p, float) for p in r.probs)  # plain floats: nothing ties it to the frame's arrays
    assert live.LiveRecord.from_faces([], time=5.0, ms=3.0) == live.LiveRecord(5.0, (), None, 3.0)


def test_offer_never_blocks_and_drops_when_the_queue_is_full():
    q = live.new_queue(size=2)
    start = time.perf_counter()
    assert [live.offer(q, record(t)) for t in range(4)] == [True, True, False, False]
    assert time.perf_counter() - start < 0.1
    assert [q.get_nowait().time for _ in range(2)] == [0, 1]  # the oldest kept, the newest dropped


def test_drain_moves_everything_waiting_and_counts_frames():
    q, stats = live.new_queue(), live.LiveStats()
    for t in range(5):
        live.offer(q, record(float(t)))
    assert stats.drain(q) == 5 and q.empty()
    assert stats.drain(q) == 0
    assert stats.frames == 5 and stats.latest.time == 4.0
    stats.clear()
    assert stats.latest is None and stats.frames == 0 and stats.window().empty


def test_window_keeps_the_last_30_seconds_relative_to_now():
    stats = live.LiveStats(window_s=30)
    for t in np.arange(0, 60, 0.5):
        stats.add(record(float(t)))
    window = stats.window()
    assert list(window.columns) == ["seconds", "faces", "label", *EMOTIONS]
    assert window["seconds"].min() == pytest.approx(-30) and window["seconds"].max() == 0
    assert window["seconds"].is_monotonic_increasing
    later = stats.window(now=59.5 + 20)  # 20 s without frames: only the last 10 s of records remain
    assert later["seconds"].max() == pytest.approx(-20) and later["seconds"].min() >= -30
    assert len(later) == 21  # 49.5 s … 59.5 s
    assert stats.window(now=200).empty


def test_window_thins_out_to_max_rows_keeping_the_latest_frame():
    stats = live.LiveStats(window_s=30)
    for i in range(900):  # 30 fps for 30 s
        stats.add(record(i / 30))
    thin = stats.window(max_rows=300)
    assert 150 < len(thin) <= 300
    assert thin["seconds"].iloc[-1] == 0 and thin["seconds"].is_monotonic_increasing
    assert thin["seconds"].iloc[0] < -29
    assert len(stats.window(max_rows=1000)) == 900


def test_frames_without_a_face_are_gaps_in_the_chart():
    stats = live.LiveStats()
    stats.add(record(0.0, ("happy",)))
    stats.add(record(1.0, ()))
    stats.add(record(2.0, ("sad", "happy")))
    window = stats.window()
    assert window["label"].tolist() == ["happy", "", "sad"]
    assert window["faces"].tolist() == [1, 0, 2]
    assert window["happy"].isna().tolist() == [False, True, False]
    assert window.loc[0, "happy"] == pytest.approx(0.7)


def test_fps_and_processing_time_over_the_last_seconds():
    stats = live.LiveStats(fps_window_s=3)
    assert stats.fps() == 0 and stats.mean_ms() == 0
    for i in range(100):  # 10 frames per second for 10 s, each taking 20 ms
        stats.add(record(i / 10, ms=20.0))
    assert stats.fps() == pytest.approx(10, rel=0.05)
    assert stats.mean_ms() == pytest.approx(20)
    assert stats.fps(now=9.9 + 10) == 0  # nothing recent: the figure drops to 0 instead of freezing
    assert stats.fps(now=9.9 + 1.5) == pytest.approx(5, rel=0.05)  # and on the way there, halves


def test_fps_right_after_start_and_when_frames_are_slow():
    stats = live.LiveStats(fps_window_s=5)
    stats.add(record(100.0))
    assert stats.fps() == 0  # one frame: no rate yet
    stats.add(record(100.5))
    assert stats.fps() == pytest.approx(2)  # not diluted by the part of the window before the start
    stats.clear()
    for t in range(0, 21, 2):  # one frame every 2 s (a very busy server)
        stats.add(record(float(t), ms=1500.0))
    assert 0.4 <= stats.fps() <= 0.6
    assert stats.mean_ms() == pytest.approx(1500)


@pytest.mark.parametrize(("value", "servers"), [
    (None, []),
    ("", []),
    ("[]", []),
    ('[{"urls": ["stun:stun.example.org:3478"]}]', [{"urls": ["stun:stun.example.org:3478"]}]),
    ('["stun:stun.example.org:3478"]', [{"urls": "stun:stun.example.org:3478"}]),
    ([MappingProxyType({"urls": ("turn:t.example.org",), "username": "u", "credential": "c"})],
     [{"urls": ["turn:t.example.org"], "username": "u", "credential": "c"}]),
])
def test_ice_servers_from_env_text_or_secrets(value, servers):
    assert live.parse_ice_servers(value) == servers


@pytest.mark.parametrize(("value", "message"), [
    ("stun:stun.example.org", "not valid JSON"),
    ('{"urls": "stun:x"}', "must be a list"),
    ('[{"username": "u"}]', "has no `urls`"),
])
def test_bad_ice_servers_are_one_clear_error(value, message):
    with pytest.raises(ValueError, match=message):
        live.parse_ice_servers(value)


def test_rtc_configuration_env_var_then_secrets_then_none(monkeypatch):
    class Secrets(dict):
        def load_if_toml_exists(self) -> bool:
            return bool(self)

    monkeypatch.delenv(live.ICE_SERVERS_ENV, raising=False)
    monkeypatch.setattr(settings.st, "secrets", Secrets())
    assert settings.rtc_configuration() == {"iceServers": []}  # never None: that would fetch public servers

    monkeypatch.setattr(settings.st, "secrets", Secrets(ice_servers=[{"urls": ["stun:from.secrets"]}]))
    assert settings.rtc_configuration() == {"iceServers": [{"urls": ["stun:from.secrets"]}]}

    monkeypatch.setenv(live.ICE_SERVERS_ENV, '[{"urls": ["stun:from.env"]}]')
    assert settings.rtc_configuration() == {"iceServers": [{"urls": ["stun:from.env"]}]}


def test_quiet_frame_drops_hides_only_the_drop_notice(caplog):
    live.quiet_frame_drops()
    live.quiet_frame_drops()  # the page calls it on every rerun
    logger = logging.getLogger("streamlit_webrtc.process")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger="streamlit_webrtc.process"):
        logger.warning("Some frames have been dropped. `recv_queued` is recommended to use instead.")
        logger.warning("Not all the queued frames have been consumed")
    assert [r.getMessage() for r in caplog.records] == ["Not all the queued frames have been consumed"]


def test_a_streams_analysis_thread_runs_below_the_rest_of_the_server():
    """Only the calling thread is lowered, once, however many frames it analyses."""
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def analysis_thread() -> tuple[int, int, int]:
        before = niceness()
        live.yield_to_network()
        after_first = niceness()
        live.yield_to_network()  # the callback calls it on every frame
        return before, after_first, niceness()

    ours = niceness()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        before, after_first, after_second = pool.submit(analysis_thread).result()
    assert before == ours
    assert after_first == after_second == min(19, ours + live.ANALYSIS_NICENESS)
    assert niceness() == ours


def test_streamlit_webrtc_skips_frames_while_the_callback_is_busy():
    """What the page relies on: with async_processing a slow callback sees only the newest frame and
    the outgoing video never waits for it, so the picture cannot fall behind the camera."""
    from aiortc import MediaStreamTrack
    from streamlit_webrtc.models import CallbackAttachableProcessor
    from streamlit_webrtc.process import AsyncVideoProcessTrack

    fps, seconds, busy_s = 50, 1.5, 0.1

    class Camera(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.sent = 0

        async def recv(self) -> av.VideoFrame:
            await asyncio.sleep(1 / fps)
            frame = av.VideoFrame(32, 24, "rgb24")
            frame.pts, frame.time_base = self.sent, Fraction(1, fps)
            self.sent += 1
            return frame

    seen: list[int] = []

    def slow_callback(frame: av.VideoFrame) -> av.VideoFrame:
        assert threading.current_thread() is not threading.main_thread()
        seen.append(frame.pts)
        time.sleep(busy_s)
        return frame

    async def play() -> tuple[int, float]:
        camera = Camera()
        track = AsyncVideoProcessTrack(camera, CallbackAttachableProcessor(slow_callback, None, None))
        start = time.perf_counter()
        for _ in range(int(fps * seconds)):
            await track.recv()
        elapsed = time.perf_counter() - start
        track.stop()
        return camera.sent, elapsed

    # A fresh thread has no event loop, whatever an earlier test (AppTest) left in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        sent, elapsed = pool.submit(asyncio.run, play()).result()
    assert len(seen) <= math.ceil(elapsed / busy_s) + 1 < sent / 3  # one call per busy period: the rest skipped
    assert any(b - a > 1 for a, b in zip(seen, seen[1:]))  # the skipped ones are in between
    assert seen[-1] >= sent - 1 - 2 * busy_s * fps  # the last frame processed is recent: no backlog
    assert elapsed < 2 * seconds < sent * busy_s  # the outgoing video kept the camera's pace, never waiting


def test_webcam_fps_from_env_var_then_secrets_then_default(monkeypatch):
    class Secrets(dict):
        def load_if_toml_exists(self) -> bool:
            return bool(self)

    monkeypatch.delenv("EMODETECT_WEBCAM_FPS", raising=False)
    monkeypatch.setattr(settings.st, "secrets", Secrets())
    assert settings.webcam_fps() == DEFAULT_WEBCAM_FPS
    monkeypatch.setattr(settings.st, "secrets", Secrets(webcam_fps=24))
    assert settings.webcam_fps() == 24
    monkeypatch.setenv("EMODETECT_WEBCAM_FPS", "30")
    assert settings.webcam_fps() == 30
    for bad in ("0", "61", "fast", "12.5"):
        monkeypatch.setenv("EMODETECT_WEBCAM_FPS", bad)
        with pytest.raises(ValueError, match="from 1 to 60"):
            settings.webcam_fps()


@pytest.mark.parametrize("variable, value", [(live.ICE_SERVERS_ENV, "stun:stun.example.org"),  # not JSON
                                             ("EMODETECT_WEBCAM_FPS", "fast")])
def test_webcam_page_shows_a_bad_setting_as_one_error(monkeypatch, variable, value):
    from streamlit.testing.v1 import AppTest

    from emodetect.paths import PROJECT_DIR

    monkeypatch.setenv(variable, value)
    at = AppTest.from_file(PROJECT_DIR / "pages" / "3_Webcam.py", default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and variable in at.error[0].value


def test_webcam_labels_are_smoothed_so_a_talking_face_does_not_flicker(media_dir):
    """The talking woman's clip (15 s) fed to the webcam's frame analyser at its pace: unsmoothed, her label
    changes about 4 times a second (65 times when written); smoothed over the default 0.5 s, 13 times."""
    from emodetect.video import iter_frames

    frames = list(iter_frames(media_dir / "talking_woman.mp4"))
    detector = model.webcam_detector()

    def labels(smoothing_s: float) -> list[str]:
        analyser = live.FrameAnalyser(detector, smoothing_s)
        out = []
        for frame in frames:
            image = frame.image.copy()
            faces = analyser(image, frame.time_s)
            assert len(faces) == 1 and not np.array_equal(image, frame.image)  # boxed and labelled in place
            out.append(faces[0].label)
        return out

    def changes(seq: list[str]) -> int:
        return sum(a != b for a, b in zip(seq, seq[1:]))

    raw, smooth = labels(0.0), labels(live.FrameAnalyser(detector).smoothing_s)
    assert changes(raw) >= 2 * frames[-1].time_s  # the flicker a user saw
    assert changes(smooth) <= changes(raw) / 3
    assert set(smooth) <= set(raw)  # smoothing steadies the label, it does not invent one
