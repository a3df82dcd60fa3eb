"""The webcam streams' share of the server (emodetect/app/room.py): the rate each stream gets under a load,
and which of a camera's frames a stream passes on. Time is given explicitly, so nothing here waits."""

from __future__ import annotations

import threading
import time

import pytest

from emodetect.app import room
from emodetect.app.room import Room
from emodetect.limits import DEFAULT_WEBCAM_FPS
from emodetect.paths import PROJECT_DIR


def _room(analyses: int = 0, cap: int = 30, cores: int = 2) -> Room:
    return Room(cap, lambda: analyses, cores=cores)


def _stream_with_frames(server: Room, fps: float, seconds: float, start: float = 0.0) -> tuple[room.Stream, int]:
    """A stream fed a camera's frames at `fps` for `seconds`; returns it and how many it passed on."""
    stream = server.join()
    passed = 0
    for i in range(round(fps * seconds)):
        t = start + i / fps
        passed += stream.admit(t, now=t)
    return stream, passed


def test_a_visitor_alone_gets_the_cap_and_each_stream_or_analysis_added_lowers_every_share():
    alone = _room()
    assert alone.rate(streams=1) == 30
    budget = room.FRAMES_PER_CORE * 2
    rates = [alone.rate(streams=n) for n in (1, 2, 3, 4, 8)]
    assert rates == sorted(rates, reverse=True) and rates[2] == pytest.approx(budget / 3)
    busy = _room(analyses=1)
    assert busy.rate(streams=4) < alone.rate(streams=4)
    assert busy.rate(streams=4) == pytest.approx(max(room.MIN_FPS, budget / (4 + room.ANALYSIS_STREAMS)))
    assert _room(analyses=4).rate(streams=50) == room.MIN_FPS  # never below the floor
    assert _room(cap=10).rate(streams=1) == 10  # the operator's cap holds when the server is idle


def test_a_stream_passes_on_the_rooms_rate_of_a_cameras_frames():
    # Four streams on two cores: 15 each. A 30 fps camera passes every other frame, a 25 fps one 15 of 25.
    server = _room()
    others = [server.join() for _ in range(3)]
    for other in others:
        other.admit(0.0, now=0.0)
    stream, passed = _stream_with_frames(server, fps=30, seconds=1.9)  # the others stay live (LIVE_S = 2)
    assert server.rate(now=1.9) == pytest.approx(15)
    assert passed == pytest.approx(1 + 15 * 1.9, abs=1)
    assert stream.received_fps(now=1.9) == pytest.approx(30, abs=1)
    assert stream.passed_fps(now=1.9) == pytest.approx(15, abs=1)
    stream.end()
    _, passed = _stream_with_frames(server, fps=25, seconds=1.9)
    assert passed == pytest.approx(1 + 15 * 1.9, abs=1)


def test_streams_that_stopped_sending_free_their_share():
    server = _room()
    quiet = server.join()
    quiet.admit(0.0, now=0.0)
    assert server.live_streams(now=1.0) == 1
    assert server.live_streams(now=room.LIVE_S + 0.5) == 0
    quiet.end()
    assert server.live_streams(now=0.0) == 0
    assert server.rate_for_new_stream() == 30


def test_a_stream_silent_before_it_ended_was_dropped_and_one_stopped_while_sending_was_not(monkeypatch, caplog):
    clock = [100.0]
    monkeypatch.setattr(room.time, "monotonic", lambda: clock[0])
    server = _room()
    stopped, dropped = server.join(), server.join()
    stopped.session, dropped.session = "visitor-a", "visitor-b"
    for stream in (stopped, dropped):
        stream.admit(0.0)
    clock[0] += 0.5
    stopped.admit(0.5)
    stopped.end()
    clock[0] += 31
    dropped.end()
    assert not stopped.dropped and dropped.dropped and dropped.silent_s == pytest.approx(31.5)
    assert "session visitor-b ended after 32 s: nothing came from the browser for the last 32 s" in caplog.text
    assert "visitor-a" not in caplog.text  # a STOP is logged at INFO only
    assert "Traceback" not in caplog.text


def test_the_load_is_described_from_the_visitors_side():
    server = _room(analyses=1)
    streams = [server.join() for _ in range(3)]
    for stream in streams:
        stream.admit(0.0)
    assert server.load_text() == "2 other webcams and 1 video analysis"
    assert _room().load_text(own_stream_live=False) == "nothing else"


def test_the_readmes_table_of_rates_on_two_cores_is_the_rooms():
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme[readme.index("| webcam streams | no analysis | one analysis running |"):].split("\n\n")[0]
    rows = [line.strip().strip("|").split("|") for line in table.splitlines()[2:]]
    assert len(rows) >= 3
    for streams, idle, busy in rows:
        for analyses, shown in ((0, idle), (1, busy)):
            rate = Room(DEFAULT_WEBCAM_FPS, lambda n=analyses: n, cores=2).rate(streams=int(streams))
            assert float(shown) == pytest.approx(rate, abs=0.05), (streams, analyses, shown, rate)


def test_the_page_can_read_a_streams_rates_while_its_frames_arrive():
    """The WebRTC thread counts each frame while the page's thread reads the rates (a real 4 + 4 run once
    failed with "deque mutated during iteration")."""
    stream = _room().join()
    stop = threading.Event()

    def frames() -> None:
        t = 0.0
        while not stop.is_set():
            t += 1 / 30
            stream.admit(t)

    camera = threading.Thread(target=frames)
    camera.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            stream.received_fps()
            stream.passed_fps()
    finally:
        stop.set()
        camera.join()
