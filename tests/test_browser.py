"""The app in a real browser: Streamlit server + Debian Chromium driven by Playwright.

AppTest (tests/test_app_pages.py) cannot run the webcam page's WebRTC component or draw
Plotly charts; these tests do, on 127.0.0.1 only. Each test saves a screenshot under
test-output/screenshots/ to look at, and the server's log is test-output/streamlit-server.log.
Skipped when /usr/bin/chromium is missing (`make test` installs it; never `playwright install`).
The server and browsers are fixtures in tests/conftest.py, built by tests/browser_support.py.
EMODETECT_BROWSER_TIMEOUT_S (default 240) bounds each wait, for very slow machines.
"""

from __future__ import annotations

import math

import pytest

from emodetect import app_support
from emodetect.app_support import PAGES as APP_PAGES
from emodetect.labels import EMOTIONS
from tests import browser_support
from tests.batch_support import write_results_root
from tests.browser_support import (
    CHROMIUM,
    METRICS_JS,
    SERVER_LOG,
    assert_no_exception,
    new_page,
    open_page,
    plotly_traces,
    screenshot,
    start_webcam,
    wait_for_live_chart,
    wait_for_live_face,
    wait_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

# (screenshot name, URL path, title)
PAGES = [
    ("home", "", "emodetect: emotions in faces"),
    ("image", "Image", "Emotions in a photo"),
    ("video", "Video", "Emotions in a video"),
    ("webcam", "Webcam", "Live emotions from your webcam"),
    ("explorer", "Dataset_explorer", "FER-2013 and the model"),
    ("batch", "Batch_results", "Batch results"),
]


@pytest.mark.parametrize(("name", "path", "title"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_loads_without_an_exception(page, app_url, name, path, title):
    open_page(page, app_url, path)
    heading = page.locator("h1").first
    heading.wait_for()
    assert heading.inner_text() == title
    assert_no_exception(page)
    screenshot(page, name)


def test_a_page_opened_first_after_a_restart_has_the_apps_sidebar(browser, tmp_path):
    """A tab on /Webcam reloaded after the server restarts: the page's own sidebar (icons, five pages),
    not Streamlit's listing of a pages folder with an extra "app" entry."""
    with browser_support.app_server(tmp_path / "server.log") as fresh:
        page = new_page(browser)
        try:
            open_page(page, fresh.url, "Webcam")
            page.locator("h1").first.wait_for()
            entries = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        finally:
            page.context.close()
    icons = [p.icon.strip(":").removeprefix("material/") for p in APP_PAGES]
    assert [entry.split(None, 1) for entry in entries] == [[icon, p.title] for icon, p in zip(icons, APP_PAGES)]


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


def test_batch_results_page_charts_a_batch_and_shows_file_names_as_written(browser, media_dir, tmp_path,
                                                                         monkeypatch):
    """On a server whose operator configured a results root (a fresh server: the variable is read at start)."""
    monkeypatch.setenv(app_support.RESULTS_ENV, str(write_results_root(media_dir, tmp_path)))
    with browser_support.app_server(tmp_path / "server.log") as server:
        page = new_page(browser)
        try:
            open_page(page, server.url, "Batch_results")
            page.get_by_text("Share of time per emotion", exact=True).wait_for()
            wait_idle(page)
            assert_no_exception(page)
            traces = plotly_traces(page)
            assert [[t["type"] for t in chart] for chart in traces] == [["bar"] * 7, ["scatter"] * 7]
            assert page.get_by_text("phone_at_night.mp4, face 1", exact=True).count() == 1
            assert page.locator("strong", has_text="not bold").count() == 0
            screenshot(page, "batch-results")
        finally:
            page.context.close()


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
    page = new_page(camera_browser)
    try:
        open_page(page, app_url, "Webcam")
        frame = start_webcam(page)

        # The server's video comes back: frames decoded, and the clock moving.
        assert frame.evaluate("() => [document.querySelector('video').videoWidth,"
                              " document.querySelector('video').videoHeight]") == [640, 480]
        before = frame.evaluate("() => document.querySelector('video').currentTime")
        page.wait_for_timeout(2000)
        assert frame.evaluate("() => document.querySelector('video').currentTime") > before + 1

        # Frames reach the callback: the panel names the face's emotion and counts the frames analysed.
        metrics = wait_for_live_face(page)
        assert metrics["Faces"] == "1"
        fps = float(metrics["Processing FPS"])
        assert 0 < fps <= 31
        chart = wait_for_live_chart(page)
        assert [t["name"] for t in chart] == list(EMOTIONS)
        assert all(t["y"] > 0 for t in chart)
        assert_no_exception(page)
        screenshot(page, "webcam-live")
        print(f"webcam: {fps:.1f} frames analysed per second")

        stop = frame.get_by_role("button", name="STOP")
        try:
            stop.wait_for(timeout=10_000)
        except playwright_api.TimeoutError:
            pytest.fail(f"the stream ended by itself; see {SERVER_LOG}")
        stop.click()
        page.get_by_text("stopped", exact=False).wait_for()
        wait_idle(page)
        assert_no_exception(page)
        assert math.isfinite(float(page.evaluate(METRICS_JS)["Processing FPS"]))
    finally:
        page.context.close()
