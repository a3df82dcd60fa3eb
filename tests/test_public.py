"""The app as strangers on the internet meet it, in the real browser against the real server.

Visitors cannot reach the server's files by naming them, their file names are shown as typed (never
as Markdown, HTML or LaTeX, and never fetched), and analyses wait in one line with a visible place.
Screenshots: test-output/screenshots/public-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emodetect.app.roots import REFUSAL
from emodetect.video import probe
from tests.browser_support import (
    CHROMIUM,
    TIMEOUT_MS,
    assert_no_exception,
    frames_analysed,
    new_page,
    open_page,
    screenshot,
    wait_idle,
    write_looped_clip,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]
expect = pytest.importorskip("playwright.sync_api").expect

UPLOADER = '[data-testid="stFileUploaderDropzoneInput"]'
MAIN = '[data-testid="stMain"]'
TRAP = "127.0.0.1:9"  # nothing listens there; a request to it would mean a name was followed
NAMES = [
    f"![p](http://{TRAP}/tracker.png) [link](http://{TRAP}/x) **bold** <b>x</b> www.example.org",
    "<script>window.pwned=1</script><img src=x onerror=window.pwned=2> &amp; &lt;",  # (browsers send \" as %22)
    "$x$ and $$y^2$$ `tick` ``two`` ~~strike~~ :red[hi] :smile: _under_ # hash",
    "long " + "n" * 190,
    "صورة مرحبا שלום ‏rtl‎ עולם",
]
# What a name must not turn into on the page: elements that only Markdown, HTML or LaTeX would make.
MADE_FROM_A_NAME_JS = f"""() => [...document.querySelectorAll(
    `{MAIN} img[src*="{TRAP}"], {MAIN} img[src="x"], {MAIN} a[href*="{TRAP}"], {MAIN} a[href*="example.org"],
     {MAIN} b, {MAIN} del, {MAIN} .katex, {MAIN} script, {MAIN} strong, {MAIN} em`)]
    .filter(e => !['STRONG', 'EM'].includes(e.tagName) || ['bold', 'under'].includes(e.textContent))
    .map(e => e.outerHTML.slice(0, 120)).concat(window.pwned ? ['script ran: ' + window.pwned] : [])"""


def _requests_to_trap(page) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def _name_shown(page, text: str) -> bool:
    return text in page.inner_text(MAIN)


def test_a_photo_name_is_shown_verbatim_and_never_followed(app_url, browser, media_dir):
    """Each name in turn on one page: a photo, then a file that is not one."""
    page = new_page(browser)
    requests = _requests_to_trap(page)
    try:
        open_page(page, app_url, "Image")
        for index, stem in enumerate(NAMES):
            name = stem + ".jpg"
            page.locator(UPLOADER).set_input_files(files=[
                {"name": name, "mimeType": "image/jpeg", "buffer": (media_dir / "smiling_man.jpg").read_bytes()}])
            # the last name's error goes once this upload is read
            expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0, timeout=TIMEOUT_MS)
            wait_idle(page)  # mid-rerun the last picture's "1 face found" can still stand beside this one's
            expect(page.get_by_text("1 face found")).to_have_count(1, timeout=TIMEOUT_MS)
            # A second file that is not a picture: its name in the error, and the first one in the caption below.
            bad = stem + " (2).jpg"
            page.locator(UPLOADER).set_input_files(files=[{"name": bad, "mimeType": "image/jpeg", "buffer": b"hello"}])
            page.locator('[data-testid="stAlertContentError"]').wait_for()
            wait_idle(page)
            assert _name_shown(page, f"{bad} is not an image file"), (index, page.inner_text(MAIN)[:2000])
            assert _name_shown(page, f"Below: {name}, the last picture that could be read."), index
            assert page.evaluate(MADE_FROM_A_NAME_JS) == [], index
            assert not [url for url in requests if TRAP in url or url.endswith("/x")], index
            assert_no_exception(page)
            screenshot(page, f"public-image-name-{index}")
    finally:
        page.context.close()


def test_a_clip_name_is_shown_verbatim_in_the_results(app_url, browser, media_dir):
    page = new_page(browser)
    requests = _requests_to_trap(page)
    name = NAMES[0] + " " + NAMES[1] + " " + NAMES[2] + ".mp4"
    try:
        open_page(page, app_url, "Video")
        page.locator(UPLOADER).set_input_files(
            files=[{"name": name, "mimeType": "video/mp4", "buffer": (media_dir / "phone_at_night.mp4").read_bytes()}])
        expect(page.get_by_role("button", name="Analyse", exact=True)).to_be_enabled(timeout=TIMEOUT_MS)
        wait_idle(page)
        page.get_by_role("button", name="Analyse", exact=True).click()
        page.get_by_text("Results:").wait_for()
        wait_idle(page)
        assert _name_shown(page, f"Results: {name}"), page.inner_text(MAIN)[:2000]
        assert page.evaluate(MADE_FROM_A_NAME_JS) == []
        assert not [url for url in requests if TRAP in url or url.endswith("/x")]
        assert_no_exception(page)
        screenshot(page, "public-video-name")
    finally:
        page.context.close()


PROBES = ["/", "/etc", "..", "~", "/proc/self/environ", "fer2013/../..", "x" * 4000]


def test_the_explorer_reaches_no_server_path(app_url, browser):
    """Each probe in the URL: the one refusal, and no name of a server folder or file on the page."""
    page = new_page(browser)
    try:
        open_page(page, app_url, "Dataset_explorer")
        baseline = page.inner_text("body")
        server_names = {n for folder in ("/", "/etc", "/proc/self") for n in os.listdir(folder) if len(n) >= 5}
        server_names |= {str(Path.home()), str(Path(__file__).resolve().parents[2])}
        for probe in PROBES:
            page.goto(f"{app_url}/Dataset_explorer?dataset={probe}")
            wait_idle(page)
            errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            assert errors == [REFUSAL], (probe, errors)
            text = page.inner_text("body")
            leaked = sorted(n for n in server_names if n in text and n not in baseline)
            assert not leaked, (probe, leaked)
            assert not page.locator('[data-testid="stTextInput"]').count()  # nowhere to type a path
            assert_no_exception(page)
        screenshot(page, "public-explorer-probe")
    finally:
        page.context.close()


def test_analyses_wait_in_one_line_and_a_waiting_visitor_can_leave(app_url, browser, media_dir, tmp_path):
    """One analysis at a time on the test server: the second visitor sees their place, can leave the
    line and come back, and gets the right results once the first is done."""
    long_clip = write_looped_clip(media_dir / "talking_woman.mp4", tmp_path / "talking_30s.mp4", seconds=30)
    first, second = new_page(browser), new_page(browser)
    try:
        for page, clip in ((first, long_clip), (second, media_dir / "phone_at_night.mp4")):
            open_page(page, app_url, "Video")
            page.locator(UPLOADER).set_input_files(clip)
            expect(page.get_by_role("button", name="Analyse", exact=True)).to_be_enabled(timeout=TIMEOUT_MS)
            wait_idle(page)
        first.get_by_role("button", name="Analyse", exact=True).click()
        first.locator('[data-testid="stProgress"]').wait_for()

        second.get_by_role("button", name="Analyse", exact=True).click()
        second.get_by_text("Waiting for a free slot").wait_for()
        assert "you are next" in second.inner_text(MAIN)
        screenshot(second, "public-queue-waiting")
        second.get_by_role("button", name="Cancel").click()
        second.get_by_text("You left the line").wait_for()
        wait_idle(second)

        second.get_by_role("button", name="Analyse", exact=True).click()
        second.get_by_text("Waiting for a free slot").wait_for()
        first.get_by_text(f"Results: {long_clip.name}").wait_for()
        second.get_by_text("Results: phone_at_night.mp4").wait_for()
        for page in (first, second):
            wait_idle(page)
            assert_no_exception(page)
            assert not page.get_by_text("Waiting for a free slot").count()
        expected = probe(long_clip).frames
        assert abs(frames_analysed(first) - expected) <= 2, (frames_analysed(first), expected)
        screenshot(second, "public-queue-done")
    finally:
        first.context.close()
        second.context.close()
