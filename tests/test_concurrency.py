"""Four sessions at once against one server: two webcam streams and two video analyses (the CI-sized
version of `benchmarks/visitors.py`, which runs 4 + 4 on a 1-minute clip).

Every session shares the server's cached detectors (app_support's st.cache_resource): the webcam one
across WebRTC worker threads, the video one across script threads. The analyses take turns (one at a
time on the test server; the second waits in line). Run together, each session must still get its own
correct results, the webcams must keep streaming, and no page or the server's log may show an error.
About 1.5 minutes on two busy cores; screenshots are test-output/screenshots/concurrency-*.png.
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
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `make chromium` installs it"),
]

CLIP = "talking_woman.mp4"  # one face throughout; every frame (464) is analysed


def test_two_webcams_and_two_video_analyses_at_once(app_server, browser, camera_browser, media_dir):
    seen = visit(app_server, browser, camera_browser, media_dir / CLIP, analyses=2, webcams=2, shots="concurrency")

    # Each stream went on analysing frames during the analyses.
    assert all(frames > 0 for frames in seen.webcam_frames), seen.webcam_frames
    assert all(seen.webcam_live), f"a webcam's stream ended during the analyses: {seen.webcam_live}"
    print(f"webcams during the analyses: {', '.join(f'{fps:.1f}' for fps in seen.webcam_fps())} frames/s; "
          f"analyses done after {', '.join(f'{s:.1f}' for s in seen.analysis_seconds)} s; "
          f"server peak {seen.peak_rss_mb:.0f} MiB")

    # Each analysis: one row per analysed frame, the face in nearly all of them.
    expected = probe(media_dir / CLIP).frames
    for i, timeline in enumerate(seen.timelines, 1):
        assert len(timeline) == timeline["frame"].nunique(), f"video {i}"
        assert abs(len(timeline) - expected) <= 2, f"video {i}: {len(timeline)} frames, expected ~{expected:.0f}"
        assert timeline["face_id"].notna().mean() >= 0.95, f"video {i}: face in too few frames"
    # Same clip, same settings: sessions that shared the detector must not have disturbed each other.
    pd.testing.assert_frame_equal(seen.timelines[0], seen.timelines[1], check_exact=False, atol=1e-3)

    # Failures on the WebRTC threads show only in the server's log.
    assert "Traceback" not in seen.server_log and " ERROR " not in seen.server_log, seen.server_log[-3000:]
