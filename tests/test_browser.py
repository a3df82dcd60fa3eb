"""The app in a real browser: Streamlit server + Debian Chromium driven by Playwright.

AppTest (tests/test_app_pages.py) cannot run the webcam page's WebRTC component or draw
Plotly charts; these tests do, on 127.0.0.1 only. Each test saves a screenshot under
test-output/screenshots/ to look at, and the server's log is test-output/streamlit-server.log.
Skipped when /usr/bin/chromium is missing (`make test` installs it; never `playwright install`).
EMODETECT_BROWSER_TIMEOUT_S (default 240) bounds each wait, for very slow machines.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from emodetect.labels import EMOTIONS
from emodetect.live import ICE_SERVERS_ENV
from emodetect.paths import PROJECT_DIR

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

OUTPUT = PROJECT_DIR / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
SHIM = Path(__file__).parent / "browser_shim"  # adds 127.0.0.1 to aioice's ICE host candidates
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
LOAD_S = float(os.environ.get("EMODETECT_BROWSER_TIMEOUT_S", 240))  # first loads import TensorFlow; CI can be slow
TIMEOUT_MS = LOAD_S * 1000

# (screenshot name, URL path, title); the video page is tested once its file exists.
PAGES = [
    ("home", "", "emodetect: emotions in faces"),
    ("image", "Image", "Emotions in a photo"),
    ("webcam", "Webcam", "Live emotions from your webcam"),
    ("explorer", "Dataset_explorer", "FER-2013 and the model"),
]
if (PROJECT_DIR / "pages" / "2_Video.py").is_file():
    PAGES.insert(2, ("video", "Video", None))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, for the whole session; stopped by PID at the end.

    No ICE servers (the browser is on the same machine) and the aioice shim on PYTHONPATH of this
    process only, so WebRTC connects over loopback even where `lo` is the only interface.
    """
    port = _free_port()
    OUTPUT.mkdir(exist_ok=True)
    env = {**os.environ, ICE_SERVERS_ENV: "[]",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SHIM), str(PROJECT_DIR), os.environ.get("PYTHONPATH")]))}
    log = (OUTPUT / "streamlit-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + LOAD_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"streamlit exited with {server.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within {LOAD_S} s; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator:
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


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


@pytest.fixture(scope="session")
def camera_browser(playwright, media_dir, tmp_path_factory) -> Iterator:
    """A Chromium whose camera is a clip of talking_woman.mp4, with the permission prompt pre-approved."""
    clip = write_y4m(media_dir / "talking_woman.mp4", tmp_path_factory.mktemp("camera") / "talking_woman.y4m")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}", "--allow-loopback-in-peer-connection"])
    yield browser
    browser.close()


def open_page(page, app_url: str, path: str) -> None:
    """Go to a page and wait until its script has finished running."""
    page.goto(f"{app_url}/{path}")
    wait_idle(page)


IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page, settle_ms: int = 1000) -> None:
    """Wait until the page's script has finished and stayed finished for `settle_ms`.

    Components (the webcam's) send their first value once drawn, which reruns the script at once;
    a single "not running" could fall between the two runs. A screenshot is kept if it never settles.
    """
    deadline = time.monotonic() + LOAD_S
    while time.monotonic() < deadline:
        try:
            page.wait_for_selector(IDLE, timeout=max(1.0, deadline - time.monotonic()) * 1000)
        except playwright_api.TimeoutError:
            break
        page.wait_for_timeout(settle_ms)  # also lets the last deltas and charts paint
        if page.locator(IDLE).count():
            return
    state = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")
    pytest.fail(f"{page.url}: the script is still {state!r} after {LOAD_S:.0f} s; see {screenshot(page, 'timed-out')}")


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.all_inner_texts()


def screenshot(page, name: str) -> Path:
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


# Each drawn Plotly chart's traces: type, name, and how many y values are labels or finite numbers
# (from `_fullData`, where plotly.js has decoded the base64 arrays that Plotly for Python sends).
PLOTLY_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g => (g._fullData || []).map(t => ({
    type: t.type, name: t.name || '',
    y: Array.from(t.y || []).filter(v => typeof v === 'string' || Number.isFinite(v)).length})))"""


def plotly_traces(page) -> list[list[dict]]:
    return page.evaluate(PLOTLY_JS)


# Every st.metric on the page as {label: value}, read in one go (the webcam panel changes twice a second).
METRICS_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""


@pytest.mark.parametrize(("name", "path", "title"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_loads_without_an_exception(page, app_url, name, path, title):
    open_page(page, app_url, path)
    heading = page.locator("h1").first
    heading.wait_for()
    if title is not None:
        assert heading.inner_text() == title
    assert_no_exception(page)
    screenshot(page, name)


def test_image_page_finds_six_faces_in_the_group_selfie(page, app_url, media_dir):
    open_page(page, app_url, "Image")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(media_dir / "group_selfie.jpg")
    page.get_by_text("6 faces found", exact=True).wait_for()
    wait_idle(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .barlayer .point').length >= 42")
    charts = plotly_traces(page)
    assert [[(t["type"], t["y"]) for t in chart] for chart in charts] == [[("bar", len(EMOTIONS))]] * 6
    assert page.get_by_text("Face 6:").count() == 1
    assert_no_exception(page)
    screenshot(page, "image-group-selfie")


def test_explorer_draws_the_confusion_matrix_and_training_curves(page, app_url):
    open_page(page, app_url, "Dataset_explorer")
    page.wait_for_function("() => document.querySelectorAll('.heatmaplayer image').length >= 2"
                           " && document.querySelectorAll('.scatterlayer .js-line').length >= 4")
    charts = plotly_traces(page)
    heatmaps = [c for c in charts if c and c[0]["type"] == "heatmap"]
    assert heatmaps and all(c[0]["y"] == len(EMOTIONS) for c in heatmaps[:2])  # counts and shares, 7×7
    curves = next(c for c in charts if {t["name"] for t in c} == {"Training", "PublicTest"})
    assert len(curves) == 4 and all(t["y"] > 1 for t in curves)  # accuracy and loss, one point per epoch
    assert_no_exception(page)
    screenshot(page, "explorer-model-card")


def test_webcam_streams_annotated_video_and_charts_the_emotions(camera_browser, app_url):
    context = camera_browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        open_page(page, app_url, "Webcam")
        page.get_by_text("Click START to begin").wait_for()
        component = page.locator('iframe[title*="webrtc_streamer"]')
        component.wait_for()
        frame = component.element_handle().content_frame()
        frame.get_by_role("button", name="START").click()

        # The server's video comes back: frames decoded, and the clock moving.
        frame.wait_for_function("() => { const v = document.querySelector('video');"
                                " return v && v.videoWidth > 0 && v.currentTime > 0.5; }")
        assert frame.evaluate("() => [document.querySelector('video').videoWidth,"
                              " document.querySelector('video').videoHeight]") == [640, 480]
        before = frame.evaluate("() => document.querySelector('video').currentTime")
        page.wait_for_timeout(2000)
        assert frame.evaluate("() => document.querySelector('video').currentTime") > before + 1

        # Frames reach the callback: the panel names the face's emotion and counts the frames analysed.
        metrics = page.wait_for_function(f"""() => {{ const m = ({METRICS_JS})();
            return parseFloat(m['Processing FPS']) > 0 && {json.dumps(EMOTIONS)}.includes(m['Emotion']) && m; }}"""
                                         ).json_value()
        assert metrics["Faces"] == "1"
        fps = float(metrics["Processing FPS"])
        assert 0 < fps <= 31
        # (one snapshot: the fragment redraws the chart twice a second)
        chart = page.wait_for_function(f"() => ({PLOTLY_JS})().find(c => c.some(t => t.y > 0))").json_value()
        assert [t["name"] for t in chart] == list(EMOTIONS)
        assert all(t["y"] > 0 for t in chart)
        assert_no_exception(page)
        screenshot(page, "webcam-live")
        print(f"webcam: {fps:.1f} frames analysed per second")

        stop = frame.get_by_role("button", name="STOP")
        try:
            stop.wait_for(timeout=10_000)
        except playwright_api.TimeoutError:
            pytest.fail(f"the stream ended by itself; see {OUTPUT / 'streamlit-server.log'}")
        stop.click()
        page.get_by_text("stopped", exact=False).wait_for()
        wait_idle(page)
        assert_no_exception(page)
        assert math.isfinite(float(page.evaluate(METRICS_JS)["Processing FPS"]))
    finally:
        context.close()
