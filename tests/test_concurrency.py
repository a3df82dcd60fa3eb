"""Four sessions at once against one server: two webcam streams and two video analyses.

Every session shares the server's cached detectors (app_support's st.cache_resource): the webcam one
across WebRTC worker threads, the video one across script threads. Run together, each session must
still get its own correct results, with no exception or error on any page or in the server's log.
(When the server still ran the model on TensorFlow, Streamlit's per-run Keras clean-up stalled both
streams here; it runs LiteRT alone now, see tests/test_shared_model.py.)
About 1.5 minutes on two busy cores; screenshots are test-output/screenshots/concurrency-*.png.
"""

from __future__ import annotations

import pandas as pd
import pytest

from emodetect.labels import EMOTIONS
from emodetect.video import probe
from tests.browser_support import (
    CHROMIUM,
    TIMEOUT_MS,
    assert_no_error,
    frames_analysed,
    new_page,
    screenshot,
    start_webcam,
    wait_for_live_chart,
    wait_for_live_face,
    wait_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]
expect = pytest.importorskip("playwright.sync_api").expect

CLIP = "talking_woman.mp4"  # one face throughout
# Every frame (464 of them), not a few per second: the analyses last long enough to overlap the webcams.


def test_two_webcams_and_two_video_analyses_at_once(app_server, browser, camera_browser, media_dir):
    log_start = app_server.log.stat().st_size
    webcams = [new_page(camera_browser) for _ in range(2)]  # one fake camera, two contexts: two sessions
    videos = [new_page(browser) for _ in range(2)]
    try:
        # All four sessions open together, so the detectors' first loads overlap too (when not yet cached).
        for page, path in zip(webcams + videos, ["Webcam", "Webcam", "Video", "Video"]):
            page.goto(f"{app_server.url}/{path}")
        for page in webcams + videos:
            wait_idle(page)

        for page in webcams:
            start_webcam(page)
        for page in webcams:
            wait_for_live_face(page)
        for page in videos:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(media_dir / CLIP)
            expect(page.get_by_role("button", name="Analyse", exact=True)).to_be_enabled(timeout=TIMEOUT_MS)
            wait_idle(page)

        frames_before = [frames_analysed(page) for page in webcams]
        for page in videos:
            page.get_by_role("button", name="Analyse", exact=True).click()
        # Not asserted: that the two analyses overlap each other. Alone this test always saw both progress bars
        # at once; in the full suite the first analysis twice ended before the second's bar showed (not yet
        # understood). What is asserted: both webcams keep streaming through both analyses, all results right.
        for page in videos:
            page.get_by_text(f"Results: {CLIP}").wait_for()
            wait_idle(page)

        # Each stream went on analysing frames during the analyses, and still sees the face.
        for i, (page, before) in enumerate(zip(webcams, frames_before), 1):
            after = frames_analysed(page)
            assert before and after and after > before, f"webcam {i}: frames analysed {before} → {after}"
            assert wait_for_live_face(page)["Faces"] == "1", f"webcam {i}"
            chart = wait_for_live_chart(page)
            assert [t["name"] for t in chart] == list(EMOTIONS)
            assert all(t["y"] > 0 for t in chart), f"webcam {i}: a chart line without a face: {chart}"
            assert_no_error(page)
            screenshot(page, f"concurrency-webcam-{i}")

        # Each analysis: one row per analysed frame, the face in nearly all of them.
        expected = probe(media_dir / CLIP).frames
        timelines = []
        for i, page in enumerate(videos, 1):
            assert_no_error(page)
            analysed = frames_analysed(page)
            assert analysed and abs(analysed - expected) <= 2, f"video {i}: {analysed} frames, expected ~{expected:.0f}"
            with page.expect_download() as download:
                page.get_by_role("button", name="Download timeline (CSV)").click()
            timeline = pd.read_csv(download.value.path())
            assert len(timeline) == timeline["frame"].nunique() == analysed, f"video {i}"
            assert timeline["face_id"].notna().mean() >= 0.95, f"video {i}: face in too few frames"
            timelines.append(timeline)
            screenshot(page, f"concurrency-video-{i}")
        # Same clip, same settings: sessions that shared the detector must not have disturbed each other.
        pd.testing.assert_frame_equal(timelines[0], timelines[1], check_exact=False, atol=1e-3)

        # Failures on the WebRTC threads show only in the server's log.
        with app_server.log.open("rb") as log:
            log.seek(log_start)
            text = log.read().decode(errors="replace")
        assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    finally:
        for page in webcams + videos:
            page.context.close()
