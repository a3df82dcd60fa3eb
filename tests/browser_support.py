"""The app in a real browser, shared by the browser tests and `benchmarks/webcam_soak.py`.

A Streamlit server on a free loopback port (stopped by PID), Debian's Chromium driven by
Playwright (never `playwright install`), a fake camera playing talking_woman.mp4, and the waits
and readers the pages need. Plain functions, no pytest: tests/conftest.py wraps them as fixtures
and the soak benchmark calls them directly. Failures raise AssertionError (the app misbehaved)
or RuntimeError (the server would not start).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emodetect.app.live import ICE_SERVERS_ENV
from emodetect.labels import EMOTIONS
from emodetect.paths import PROJECT_DIR

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = PROJECT_DIR / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
# One test server per pytest-xdist worker (gw0, gw1, …), each with its own log.
SERVER_LOG = OUTPUT / ("-".join(filter(None, ["streamlit-server", os.environ.get("PYTEST_XDIST_WORKER")])) + ".log")
SHIM = Path(__file__).parent / "browser_shim"  # adds 127.0.0.1 to aioice's ICE host candidates
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
LOAD_S = float(os.environ.get("EMODETECT_BROWSER_TIMEOUT_S", 240))  # CI can be slow
TIMEOUT_MS = LOAD_S * 1000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

# Each drawn Plotly chart's traces: type, name, and how many y values are labels or finite numbers
# (from `_fullData`, where plotly.js has decoded the base64 arrays that Plotly for Python sends).
PLOTLY_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => (g._fullData || []).map(t => ({
    type: t.type, name: t.name || '',
    y: Array.from(t.y || []).filter(v => typeof v === 'string' || Number.isFinite(v)).length})))"""

# Every st.metric on the page as {label: value}, read in one go (the webcam panel changes every second).
METRICS_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""

# "1,234 frames analysed": the end of the webcam panel's caption (frames since START, counted on the server)
# and part of the video page's results caption.
FRAMES_JS = r"() => (document.body.innerText.match(/([\d,]+) frames analysed/) || [])[1] ?? null"


@dataclass(frozen=True)
class AppServer:
    url: str
    pid: int  # the Streamlit process itself (for its memory), not a wrapper
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(log_path: Path = SERVER_LOG, port: int | None = None,
               settings: dict[str, str] | None = None) -> Iterator[AppServer]:
    """`streamlit run app.py` on a free loopback port (or `port`) until the block ends; stopped by its PID.
    `settings`: environment variables the operator sets (e.g. EMODETECT_RESULTS), over this process's.

    No ICE servers (the browser is on the same machine) and the aioice shim on PYTHONPATH of this
    process only, so WebRTC connects over loopback even where `lo` is the only interface. One video
    analysis at a time unless the environment says otherwise (the default on two cores, made explicit).
    """
    port = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {"EMODETECT_MAX_ANALYSES": "1", **os.environ, **(settings or {}), ICE_SERVERS_ENV: "[]",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SHIM), str(PROJECT_DIR), os.environ.get("PYTHONPATH")]))}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(server, url, log_path)
            yield AppServer(url, server.pid, log_path)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_healthy(server: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + LOAD_S
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not answer on {url} within {LOAD_S} s; see {log_path}")
        time.sleep(0.5)


def launch_chromium(playwright: Any, camera: Path | None = None, extra_args: list[str] | None = None) -> Any:
    """Debian's Chromium; with `camera` (a .y4m), that clip is its webcam and the permission prompt is pre-approved.

    The fake-camera flags are per browser process: every context of a camera browser shares the clip.
    """
    args = [*CHROMIUM_ARGS, *(extra_args or [])]
    if camera is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera}", "--allow-loopback-in-peer-connection"]
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


def new_page(browser: Any) -> Any:
    """A page in a fresh context, so its own Streamlit session; close with `page.context.close()`."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def write_y4m(source: Path, path: Path, seconds: float = 4, width: int = 640, height: int = 480,
              fps: int = 30) -> Path:
    """The first `seconds` of `source` as an uncompressed Y4M (4:2:0), letterboxed to width×height:
    the format Chromium's fake camera plays (in a loop)."""
    import av

    frames = round(seconds * fps)
    with av.open(str(source)) as container, path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i, frame in enumerate(container.decode(video=0)):
            if i == frames:
                break
            rgb = frame.to_ndarray(format="rgb24")
            scale = min(width / rgb.shape[1], height / rgb.shape[0])
            w, h = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
            canvas = np.zeros((height, width, 3), np.uint8)
            x0, y0 = (width - w) // 2, (height - h) // 2
            canvas[y0:y0 + h, x0:x0 + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
            out.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def write_looped_clip(source: Path, path: Path, seconds: float) -> Path:
    """`source` played over and over for `seconds`, as H.264 MP4: a longer real clip for the load tests."""
    import av

    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with av.open(str(path), "w") as out:
        encoder = out.add_stream("libx264", rate=fps)
        encoder.width, encoder.height = frames[0].shape[1], frames[0].shape[0]
        encoder.pix_fmt = "yuv420p"
        encoder.options = {"preset": "ultrafast"}  # seconds, not a minute, for a minute of video
        for i in range(round(seconds * float(fps))):
            out.mux(encoder.encode(av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")))
        out.mux(encoder.encode())
    return path


def open_page(page: Any, app_url: str, path: str) -> None:
    """Go to a page and wait until its script has finished running."""
    page.goto(f"{app_url}/{path}")
    wait_idle(page)


def wait_idle(page: Any, settle_ms: int = 1000) -> None:
    """Wait until the page's script has finished and stayed finished for `settle_ms`.

    Components (the webcam's) send their first value once drawn, which reruns the script at once;
    a single "not running" could fall between the two runs. A screenshot is kept if it never settles.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + LOAD_S
    while time.monotonic() < deadline:
        try:
            page.wait_for_selector(IDLE, timeout=max(1.0, deadline - time.monotonic()) * 1000)
        except PlaywrightTimeout:
            break
        page.wait_for_timeout(settle_ms)  # also lets the last deltas and charts paint
        if page.locator(IDLE).count():
            return
    state = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")
    raise AssertionError(f"{page.url}: the script is still {state!r} after {LOAD_S:.0f} s; "
                         f"see {screenshot(page, 'timed-out')}")


def assert_no_exception(page: Any) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.all_inner_texts()


def assert_no_error(page: Any) -> None:
    """No exception and no `st.error` box on the page."""
    assert_no_exception(page)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


def screenshot(page: Any, name: str) -> Path:
    """The whole page, however long: Streamlit scrolls inside its main block, so grow the window to fit."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
    size = page.viewport_size
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(height, 8000)})
        page.wait_for_timeout(1000)  # charts re-lay themselves out
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)
    return path


def plotly_traces(page: Any) -> list[list[dict]]:
    return page.evaluate(PLOTLY_JS)


def start_webcam(page: Any) -> Any:
    """On the open Webcam page, press START and wait until the server's annotated video plays back.

    Returns the streamlit-webrtc component's frame (its video and START/STOP buttons live there).
    """
    page.get_by_text("Click START to begin").wait_for()
    component = page.locator('iframe[title*="webrtc_streamer"]')
    component.wait_for()
    frame = component.element_handle().content_frame()
    frame.get_by_role("button", name="START").click()
    frame.wait_for_function("() => { const v = document.querySelector('video');"
                            " return v && v.videoWidth > 0 && v.currentTime > 0.5; }")
    return frame


def wait_for_live_face(page: Any) -> dict[str, str]:
    """Wait until the webcam panel names a face's emotion at a positive FPS; returns the panel's metrics."""
    return page.wait_for_function(f"""() => {{ const m = ({METRICS_JS})();
        return parseFloat(m['Processing FPS']) > 0 && {json.dumps(EMOTIONS)}.includes(m['Emotion']) && m; }}"""
                                  ).json_value()


def wait_for_live_chart(page: Any) -> list[dict]:
    """One snapshot of the webcam's live chart once it has data (the fragment redraws it every second)."""
    return page.wait_for_function(f"() => ({PLOTLY_JS})().find(c => c.some(t => t.y > 0))").json_value()


def frames_analysed(page: Any) -> int | None:
    """N in the page's "N frames analysed": the webcam's count since START, or a video's result (else None)."""
    text = page.evaluate(FRAMES_JS)
    return int(text.replace(",", "")) if text else None


def frames_received(component: Any) -> int:
    """Frames the browser has decoded of the server's video so far, in the webcam component's frame."""
    return component.evaluate("() => document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames")


def parent_pids() -> dict[int, int]:
    """Every process now and its parent's PID (Linux: /proc/PID/stat, field 4)."""
    parents = {}
    for process in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(process.name)] = int((process / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended in the meantime
    return parents


def thread_niceness(pid: int) -> list[int]:
    """The niceness of each thread of process `pid` now (Linux: /proc/PID/task/*/stat, field 19)."""
    niceness = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            niceness.append(int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]))
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended in the meantime
    return niceness


def webcam_streaming(page: Any) -> bool:
    """Whether the Webcam page's stream is still live: its caption ends "· stopped" once the connection
    has ended (streamlit-webrtc stops the component when WebRTC disconnects)."""
    return not page.evaluate(r"() => /frames analysed · stopped/.test(document.body.innerText)")

