"""The video page, driven headless with AppTest: what a visitor sees, clicks and downloads."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from emodetect.app import charts, video_page
from emodetect.app.samples import sample_videos
from emodetect.labels import EMOTIONS
from emodetect.limits import duration_text
from emodetect.paths import PROJECT_DIR
from emodetect.video import probe
from tests.markdown_text import shown

VIDEO_PAGE = PROJECT_DIR / "pages" / "2_Video.py"
PHONE = "Phone at night (5 s, 1 face)"  # phone_at_night.mp4: 115 frames, 4.6 s, one face throughout
NOT_A_VIDEO = "x.mp4 is not a video file, or it is damaged"


def run(at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(VIDEO_PAGE, default_timeout=300)  # the CPU is shared with training
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def analyse(at: AppTest) -> AppTest:
    """Let the page take in the choices made so far (which enables the button), then press Analyse."""
    run(at).button[0].click()
    return run(at)


def figures(at: AppTest) -> dict[str, dict]:
    """The page's Plotly figures by key, as the JSON the browser receives."""
    return {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


@pytest.fixture
def served(monkeypatch) -> Callable[[str], bytes]:
    """Fetch a file the page handed to the browser (a download, the video) by its URL, as the browser would."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, endpoint: str):
            super().__init__(endpoint)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)  # one storage per run
    return lambda url: stores[-1].get_file(url.rsplit("/", 1)[-1]).content


def downloads(at: AppTest, served: Callable[[str], bytes]) -> dict[str, bytes]:
    return {b.label: served(b.proto.url) for b in at.download_button}


def csv_rows(at: AppTest, served: Callable[[str], bytes]) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(downloads(at, served)["Download timeline (CSV)"]))


def test_page_offers_the_sample_clips_and_waits(media_dir):
    at = run()
    assert at.selectbox[0].options == list(sample_videos())
    assert at.button[0].label == "Analyse" and at.button[0].disabled  # nothing to analyse yet
    assert at.info and not at.error and not figures(at) and not at.download_button


def test_without_shared_data_the_page_offers_uploads_only(tmp_path, monkeypatch):
    monkeypatch.setattr("emodetect.app.samples.MEDIA_DIR", tmp_path / "absent")
    at = run()
    assert len(at.file_uploader) == 1 and not at.selectbox
    assert at.info and not at.error


def test_sample_clip_every_frame(media_dir, served, tmp_path):
    at = run()
    at.selectbox[0].set_value(PHONE)
    run(at)
    assert not figures(at)  # choosing a clip alone starts nothing
    analyse(at)
    assert not at.error
    assert [shown(h.value) for h in at.subheader] == ["Results: phone_at_night.mp4"]

    timeline, strip = figures(at)["timeline"], figures(at)["dominant"]
    assert [t["name"] for t in timeline["data"]] == list(EMOTIONS)
    assert all(len(t["x"]) == 115 for t in timeline["data"])  # one point per frame
    assert strip["data"][0]["type"] == "heatmap" and strip["data"][0]["y"] == ["Face 1"]

    summary = at.dataframe[0].value
    assert summary["face_id"].tolist() == [1] and summary["frames"].tolist() == [115]
    assert summary[list(EMOTIONS)].sum(axis=1).iloc[0] == pytest.approx(1.0)

    files = downloads(at, served)
    assert list(files) == ["Download timeline (CSV)", "Download annotated clip (MP4)"]
    rows = csv_rows(at, served)
    assert len(rows) == 115 and rows["frame"].tolist() == list(range(115))
    clip = tmp_path / "annotated.mp4"
    clip.write_bytes(served(at.get("video")[0].proto.url))
    assert clip.read_bytes() == files["Download annotated clip (MP4)"]
    info = probe(clip)
    assert info.codec == "h264" and info.frames == 115  # plays in browsers

    # Moving a slider afterwards does not recompute: the results still say how they were made.
    at.slider[0].set_value(2.0)
    run(at)
    assert any("smoothing 0.5 s" in c.value for c in at.caption)
    assert len(csv_rows(at, served)) == 115


def test_uploaded_clip_at_five_frames_per_second_leaves_no_file(media_dir, served, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the page's temporary folder goes
    at = run()
    at.file_uploader[0].upload("phone_at_night.mp4", (media_dir / "phone_at_night.mp4").read_bytes(), "video/mp4")
    at.radio[0].set_value("Frames per second")
    run(at)
    assert at.number_input[0].value == 5 and not at.number_input[0].disabled
    analyse(at)
    assert not at.error
    assert any("5 frames per second" in c.value for c in at.caption)
    assert 21 <= len(csv_rows(at, served)) <= 25  # 4.6 s at 5 fps: about 23 frames
    assert not list(tmp_path.iterdir())  # the upload and the outputs were removed


def test_a_text_file_is_one_error_and_earlier_results_stay(media_dir, served):
    at = run()
    at.file_uploader[0].upload("x.mp4", b"hello, not a video", "video/mp4")
    analyse(at)
    assert [shown(e.value) for e in at.error] == [NOT_A_VIDEO]
    assert not figures(at) and not at.download_button

    at.file_uploader[0].clear()
    at.selectbox[0].set_value(PHONE)
    analyse(at)
    assert not at.error and "timeline" in figures(at)

    at.file_uploader[0].upload("x.mp4", b"hello, not a video", "video/mp4")
    analyse(at)
    assert [shown(e.value) for e in at.error] == [NOT_A_VIDEO]
    assert [shown(h.value) for h in at.subheader] == ["Results: phone_at_night.mp4"]  # the earlier clip's results
    assert "timeline" in figures(at) and at.dataframe[0].value["frames"].tolist() == [115]
    assert len(csv_rows(at, served)) == 115


def test_a_clip_over_the_limit_is_refused_before_any_work(media_dir, monkeypatch):
    """The analysing process refuses it before its first frame: it reports no progress."""
    from emodetect.app import video_process

    monkeypatch.setattr(video_page, "MAX_VIDEO_SECONDS", 2)
    reported = []
    analyze_video_apart = video_process.analyze_video_apart

    def recording_progress(*args, progress, **kwargs):
        return analyze_video_apart(*args, progress=lambda *p: reported.append(p) or progress(*p), **kwargs)

    monkeypatch.setattr(video_process, "analyze_video_apart", recording_progress)
    at = run()
    at.selectbox[0].set_value(PHONE)
    analyse(at)
    assert [shown(e.value) for e in at.error] == ["phone_at_night.mp4 is 5 s long; clips up to 2 s can be analysed"]
    assert not figures(at) and reported == []


def test_progress_and_duration_texts():
    assert video_page.progress_text(50, 100, 10.0) == "50 / 100 frames · about 10 s left"
    assert video_page.progress_text(0, 100, 0.0) == "0 / 100 frames · about 0 s left"
    assert duration_text(185.4) == "3 min 05 s"


def test_face_tracks_leave_gaps_where_a_face_is_away():
    timeline = pd.DataFrame({"frame": [0, 1, 1, 2], "time_s": [0.0, 0.1, 0.1, 0.2], "face_id": [1, 1, 2, 1],
                             "smooth_label": ["happy", "sad", "fear", "happy"]})
    timeline["face_id"] = timeline["face_id"].astype("Int64")
    tracks = video_page.face_tracks(timeline)
    assert tracks[1]["smooth_label"].tolist() == ["happy", "sad", "happy"]
    assert tracks[2]["time_s"].tolist() == [0.0, 0.1, 0.2]
    assert tracks[2]["smooth_label"].isna().tolist() == [True, False, True]

    strip = charts.dominant_strip(tracks[1]["time_s"], {f"Face {i}": t["smooth_label"] for i, t in tracks.items()})
    assert [list(row) for row in strip.data[0].z] == [[3, 4, 3], [None, 2, None]]
    probs = np.full((3, 7), np.nan)
    probs[1] = np.eye(7)[2]
    lines = charts.emotion_timeline([0.0, 0.1, 0.2], probs).data
    assert [t.name for t in lines] == list(EMOTIONS) and lines[0].line.color == "rgb(220, 50, 47)"


def test_sample_videos_lists_only_clips_that_exist(tmp_path):
    assert sample_videos(tmp_path) == {}
    (tmp_path / "talking_woman.mp4").write_bytes(b"")
    assert sample_videos(tmp_path) == {"Talking woman (15 s, 1 face)": tmp_path / "talking_woman.mp4"}
    assert isinstance(next(iter(sample_videos(tmp_path).values())), Path)
