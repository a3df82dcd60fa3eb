"""Four sessions at once against one server: two webcam streams and two video analyses (the CI-sized
version of `benchmarks/visitors.py`, which runs 4 + 4 on a 1-minute clip).

The webcam sessions share the server's cached detector (emodetect.app.model's st.cache_resource) across WebRTC
worker threads; each analysis runs in a child process of its own (emodetect/app/video_process.py). The analyses
take turns (one at a time on the test server; the second waits in line). Run together, each session must
still get its own correct results, the webcams must keep streaming, and no page or the server's log may
show an error.
About 40 s on two busy cores; screenshots are test-output/screenshots/concurrency-*.png.
"""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.visitors import visit
from emodetect.video import probe
from tests.browser_support import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.serial,  # the streams' liveness under a known load: nothing else running
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]

CLIP = "talking_woman.mp4"  # one face throughout, 15 s; 5 frames per second are analysed (77)


def test_two_webcams_and_two_video_analyses_at_once(app_server, browser, camera_browser, media_dir):
    seen = visit(app_server, browser, camera_browser, media_dir / CLIP, analyses=2, webcams=2, shots="concurrency",
                 per_second=True)

    # Each stream went on analysing frames during the analyses.
    assert all(frames > 0 for frames in seen.webcam_frames), seen.webcam_frames
    assert all(seen.webcam_live), f"a webcam's stream ended during the analyses: {seen.webcam_live}"
    # Each webcam page explained its lower rate while an analysis ran: what it shares the server with.
    for before, during, _ in seen.webcam_rates:
        assert "shares its cores with 1 other webcam." in before, before
        assert "shares its cores with 1 other webcam and 1 video analysis" in during, during
    print(f"webcams during the analyses: {', '.join(f'{fps:.1f}' for fps in seen.webcam_fps())} frames/s; "
          f"analyses done after {', '.join(f'{s:.1f}' for s in seen.analysis_seconds)} s; "
          f"server peak {seen.peak_rss_mb:.0f} MiB")

    # Each analysis: one row per analysed frame (the page's default 5 per second), the face in nearly all of them.
    expected = probe(media_dir / CLIP).duration_s * 5
    for i, timeline in enumerate(seen.timelines, 1):
        assert len(timeline) == timeline["frame"].nunique(), f"video {i}"
        assert abs(len(timeline) - expected) <= 2, f"video {i}: {len(timeline)} frames, expected ~{expected:.0f}"
        assert timeline["face_id"].notna().mean() >= 0.95, f"video {i}: face in too few frames"
    # Same clip, same settings: the same answers, whoever else was using the server.
    pd.testing.assert_frame_equal(seen.timelines[0], seen.timelines[1], check_exact=False, atol=1e-3)

    # Failures on the WebRTC threads show only in the server's log.
    assert "Traceback" not in seen.server_log and " ERROR " not in seen.server_log, seen.server_log[-3000:]
