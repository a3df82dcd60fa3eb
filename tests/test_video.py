"""Video engine on real clips: tracking, timestamps, sampling, export, and bad files."""

from __future__ import annotations

import subprocess
import sys

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from emodetect.errors import InputError
from emodetect.labels import EMOTIONS
from emodetect.paths import PROJECT_DIR
from emodetect.video import AnnotatedWriter, analyze_video, iter_frames, probe


@pytest.fixture(scope="module")
def video_detector():
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(preset="video")


@pytest.fixture(scope="module")
def talking(media_dir, video_detector, tmp_path_factory):
    out = tmp_path_factory.mktemp("video") / "annotated.mp4"
    calls = []
    analysis = analyze_video(media_dir / "talking_woman.mp4", video_detector, annotated_path=out,
                             progress=lambda done, total, elapsed: calls.append((done, total, elapsed)))
    return analysis, calls


def _count_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_one_person_keeps_one_id(talking):
    analysis, _ = talking
    assert analysis.frames_analyzed == 464
    assert len(analysis.timeline) == 464  # one face per frame, no phantom second face
    ids = analysis.timeline["face_id"].value_counts(normalize=True)
    assert ids.iloc[0] >= 0.95


def test_timestamps_increase_at_the_clip_frame_rate(talking):
    analysis, _ = talking
    times = analysis.timeline.drop_duplicates("frame")["time_s"].to_numpy()
    steps = np.diff(times)
    assert (steps > 0).all()
    np.testing.assert_allclose(np.median(steps), 1 / 29.97, rtol=1e-3)
    assert times[-1] == pytest.approx(463 / 29.97, abs=0.01)


def test_probabilities_and_smoothing(talking):
    timeline = talking[0].timeline
    raw = timeline[list(EMOTIONS)].to_numpy()
    smooth = timeline[["smooth_" + e for e in EMOTIONS]].to_numpy()
    np.testing.assert_allclose(raw.sum(axis=1), 1, atol=1e-3)
    np.testing.assert_allclose(smooth.sum(axis=1), 1, atol=1e-3)
    # Smoothing is what stops the chart flickering: frame-to-frame changes shrink.
    assert np.abs(np.diff(smooth, axis=0)).mean() < 0.5 * np.abs(np.diff(raw, axis=0)).mean()
    assert (timeline["smooth_label"] != timeline["smooth_label"].shift()).sum() <= \
        (timeline["label"] != timeline["label"].shift()).sum()


def test_progress_reports_every_frame(talking):
    _, calls = talking
    assert [c[0] for c in calls] == list(range(1, 465))
    assert all(total == 464 for _, total, _ in calls)
    assert all(b[2] >= a[2] for a, b in zip(calls, calls[1:]))


def test_annotated_mp4_plays_back_with_every_frame(talking):
    analysis, _ = talking
    with av.open(str(analysis.annotated_path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert _count_frames(analysis.annotated_path) == 464


def test_summary_and_exports(talking, tmp_path):
    analysis, _ = talking
    summary = analysis.summary()
    assert len(summary) == len(analysis.face_ids)
    np.testing.assert_allclose(summary[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-6)
    analysis.to_csv(tmp_path / "t.csv")
    analysis.to_json(tmp_path / "t.json")
    csv = pd.read_csv(tmp_path / "t.csv")
    assert len(csv) == 464 and list(csv.columns) == list(analysis.timeline.columns)
    assert len(pd.read_json(tmp_path / "t.json")) == 464


def test_sampling_at_5_fps(media_dir, video_detector):
    analysis = analyze_video(media_dir / "talking_woman.mp4", video_detector, fps=5)
    times = analysis.timeline["time_s"].to_numpy()
    assert analysis.frames_analyzed == len(analysis.timeline) == 78  # 15.48 s at 5 fps
    np.testing.assert_allclose(np.diff(times), 0.2, atol=1 / 29.97)


def test_every_nth_frame(media_dir):
    frames = list(iter_frames(media_dir / "phone_at_night.mp4", every=10))
    assert [f.index for f in frames] == list(range(0, 115, 10))


def _write_clip(path, frames, fps=25.0):
    h, w = frames[0].shape[:2]
    writer = AnnotatedWriter(path, w, h, fps)
    for frame in frames:
        writer.write(frame)
    writer.close()


def test_two_people_side_by_side_keep_two_ids(media_dir, video_detector, tmp_path):
    left = [f.image for f in iter_frames(media_dir / "talking_woman.mp4")][:115]
    right = [f.image for f in iter_frames(media_dir / "phone_at_night.mp4")]
    _write_clip(tmp_path / "two.mp4", [np.concatenate([a, b], axis=1) for a, b in zip(left, right)])
    analysis = analyze_video(tmp_path / "two.mp4", video_detector)
    per_id = analysis.timeline["face_id"].value_counts()
    assert len(per_id) >= 2 and per_id.iloc[1] >= 0.9 * 115
    # each of the two main ids stays on its own half of the picture
    for face_id in per_id.index[:2]:
        centres = analysis.timeline.loc[analysis.timeline["face_id"] == face_id]
        centre_x = centres["x"] + centres["w"] / 2
        assert (centre_x < 596).all() or (centre_x >= 596).all()


def test_clip_without_faces_gives_an_empty_timeline(media_dir, video_detector, tmp_path):
    from emodetect.imageio import read_image

    cartoon = read_image(media_dir / "cartoon_no_people.jpg")
    _write_clip(tmp_path / "cartoon.mp4", [cartoon] * 20)
    analysis = analyze_video(tmp_path / "cartoon.mp4", video_detector)
    assert analysis.face_ids == [] and len(analysis.timeline) == 20
    assert analysis.timeline["face_id"].isna().all()
    assert analysis.summary().empty


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "emodetect", "video", *map(str, args)], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=300)


def test_cli_writes_csv_with_a_row_per_frame(media_dir, tmp_path):
    result = _cli(media_dir / "phone_at_night.mp4", "--csv", tmp_path / "t.csv", "--json", tmp_path / "t.json")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "t.csv")) == 115
    assert "face 1:" in result.stdout


@pytest.mark.parametrize("content", ["truncated", "text", "empty"])
def test_cli_refuses_bad_files_with_one_line(media_dir, tmp_path, content):
    bad = tmp_path / "bad.mp4"
    data = (media_dir / "talking_woman.mp4").read_bytes()
    bad.write_bytes({"truncated": data[: len(data) // 2], "text": b"just some text\n" * 100, "empty": b""}[content])
    result = _cli(bad, "--csv", tmp_path / "t.csv")
    assert result.returncode == 2
    assert result.stderr.startswith("error: bad.mp4 ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.csv").exists()


def test_api_raises_input_error(tmp_path):
    (tmp_path / "x.mp4").write_text("hello")
    with pytest.raises(InputError, match="x.mp4"):
        probe(tmp_path / "x.mp4")


# Between whole-frame scans, video follows each face with the short-range model (faces.FaceFollower).

def _follow(follower, frames, fps=30.0):
    return [follower(frame, i / fps) for i, frame in enumerate(frames)]


def test_a_face_that_appears_beside_a_followed_one_is_found_at_the_next_scan(media_dir, video_detector):
    from emodetect.faces import FaceFollower
    from emodetect.imageio import read_image

    talking = [f.image for f in iter_frames(media_dir / "talking_woman.mp4")][:60]
    h, w = talking[0].shape[:2]
    newcomer = cv2.resize(read_image(media_dir / "smiling_man.jpg"), (w, h))
    # one person for the first second, then a second one steps in on the right
    frames = [np.hstack([f, newcomer if i >= 30 else np.zeros_like(f)]) for i, f in enumerate(talking)]
    follower = FaceFollower(video_detector.find_faces, rescan_s=0.2)
    counts = [len(faces) for faces in _follow(follower, frames)]
    assert set(counts[:30]) == {1}
    arrived = counts.index(2)
    assert 30 <= arrived <= 30 + 6  # found within one rescan interval (0.2 s at 30 fps)
    assert set(counts[arrived:]) == {2}
    assert follower.scans < len(frames) / 3  # most frames were followed, not scanned


def test_a_face_that_leaves_is_not_followed_into_the_empty_frame(media_dir, video_detector):
    from emodetect.faces import FaceFollower

    talking = [f.image for f in iter_frames(media_dir / "talking_woman.mp4")][:40]
    frames = talking[:20] + [np.zeros_like(f) for f in talking[20:]]
    counts = [len(faces) for faces in _follow(FaceFollower(video_detector.find_faces), frames)]
    assert counts == [1] * 20 + [0] * 20
