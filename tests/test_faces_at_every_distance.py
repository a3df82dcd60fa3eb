"""Every door finds every face a person would point at: close-ups that fill or overflow the frame, the
people behind the one at the camera, and photos turned sideways (faces.FaceDetector, FaceFollower).

The pictures are the shared media and the wild set's close-ups (evaluated, never trained on); the
variants are made by benchmarks/faces_found.py, which measures the same cases at full size.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.faces_found import close_up_clip, cut_inside_face, thumbnail, turned
from emodetect import EmotionDetector
from emodetect import faces as face_detection
from emodetect.app.live import FrameAnalyser
from emodetect.imageio import read_image
from emodetect.video import AnnotatedWriter, analyze_video

DOORS = ("photo", "video", "webcam")


@pytest.fixture(scope="module")
def detectors():
    return {door: EmotionDetector.load(preset=door) for door in DOORS}


@pytest.fixture(scope="module")
def man(media_dir):
    return read_image(media_dir / "smiling_man.jpg")


@pytest.fixture(scope="module")
def group_640(media_dir):
    return cv2.resize(read_image(media_dir / "group_selfie.jpg"), (640, 480), interpolation=cv2.INTER_AREA)


def test_close_up_portraits_of_the_wild_set_are_found_by_every_door(wild_dir, detectors):
    """Every 20th wild photo (69 faces that fill the picture): before the two-distance scan the photo and
    video doors found a face in about one of five."""
    paths = sorted(wild_dir.glob("*/*.*"))[::20]
    images = [read_image(p) for p in paths]
    for door, det in detectors.items():
        missed = [p.name for p, image in zip(paths, images) if not det.find_faces(image)]
        assert len(missed) <= 1, f"{door} door missed {missed}"


@pytest.mark.parametrize("size", ["full", "thumbnail"])
def test_a_face_cut_by_the_frame_is_found_and_read_by_every_door(detectors, man, size):
    cut = cut_inside_face(man)  # forehead and chin cut off
    picture = cut if size == "full" else thumbnail(cut)
    for door, det in detectors.items():
        (face,) = det.detect(picture)
        assert face.label == "happy", f"{door} door: {face.label}"
        x, y, w, h = face.box
        assert w * h >= 0.5 * picture.shape[0] * picture.shape[1]  # the face, not a part of it


def test_a_close_up_clip_has_its_face_in_every_frame(detectors, tmp_path):
    """talking_woman.mp4 cut a little narrower than her face: the video door, and the webcam's
    analyser on the same frames, find her in (nearly) every frame while following her between scans."""
    frames = close_up_clip()
    side = frames[0].shape[0]
    writer = AnnotatedWriter(tmp_path / "close.mp4", side, side, 29.97)
    for frame in frames:
        writer.write(frame)
    writer.close()
    analysis = analyze_video(tmp_path / "close.mp4", detectors["video"])
    with_face = analysis.timeline.dropna(subset=["face_id"]).groupby("frame").size()
    assert len(with_face) >= 0.95 * analysis.frames_analyzed
    assert with_face.max() == 1  # one person, one face
    analyser = FrameAnalyser(detectors["webcam"])
    counts = [len(analyser(frame.copy(), i / 29.97)) for i, frame in enumerate(frames)]
    assert np.mean([c == 1 for c in counts]) >= 0.95
    assert analyser.follower.scans < len(frames) / 4  # followed between scans, not scanned every frame


def test_the_webcam_finds_the_people_behind_its_user(detectors, group_640):
    """The group selfie at webcam size: the woman at the camera and the five behind her, on the first
    frame and on every frame after, as the webcam's analyser follows them."""
    analyser = FrameAnalyser(detectors["webcam"])
    counts = [len(analyser(group_640.copy(), i / 30)) for i in range(20)]
    assert counts == [6] * 20
    for door in ("photo", "video"):
        assert len(detectors[door].detect(group_640)) == 6


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_sideways_photo_gets_its_face_boxed_on_the_picture_as_uploaded(detectors, man, degrees):
    (upright,) = detectors["photo"].detect(man)
    picture = turned(man, degrees)
    (face,) = detectors["photo"].detect(picture)
    assert face.label == "happy"
    # the upright face's centre, turned with the picture, is the found face's centre
    h, w = man.shape[:2]
    cx, cy = upright.box[0] + upright.box[2] / 2, upright.box[1] + upright.box[3] / 2
    expected = {90: (h - cy, cx), 180: (w - cx, h - cy), 270: (cy, w - cx)}[degrees]
    centre = (face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2)
    assert np.hypot(*np.subtract(centre, expected)) < 0.1 * upright.box[2]
    # and its crop is upright: the same face the model sees in the upright photo
    assert np.corrcoef(_blurred(face.crop).ravel(), _blurred(upright.crop).ravel())[0, 1] > 0.9


def test_an_upright_photo_is_not_turned(detectors, man, group_640, media_dir):
    """Turns are tried only when no face is clear upright; the upright answers stay as they were."""
    finder = detectors["photo"].face_detector
    for picture in (man, group_640, read_image(media_dir / "group_selfie.jpg")):
        assert [f.box for f in finder(picture)] == [f.box for f in finder._scan(picture)]
    for degrees in (0, 90, 180, 270):  # and no turn of the cartoon shows a face
        assert detectors["photo"].detect(turned(read_image(media_dir / "cartoon_no_people.jpg"), degrees)) == []


def test_padding_a_crop_past_the_frame_keeps_the_face_as_it_is(detectors, man):
    """A face whose framing margin runs past the picture is padded (its border repeated), not stretched:
    its crop matches the crop of the whole picture inside the face; and a face that fits is read the same
    whatever lies around the picture."""
    finder = detectors["photo"].face_detector
    gray = cv2.cvtColor(man, cv2.COLOR_RGB2GRAY)
    (face,) = finder(man)
    bx, by, bw, bh = (round(v) for v in face.box)
    inside = gray[by:by + bh, bx:bx + bw]  # the face box alone: the 20% margin is outside it
    moved = face_detection.Face((face.box[0] - bx, face.box[1] - by, *face.box[2:]),
                                face.keypoints - (bx, by), face.score)
    whole, padded = (face_detection.crop(g, f).astype(np.float32) for g, f in ((gray, face), (inside, moved)))
    core = slice(12, 84)  # the face box's part of a 96-px crop at margin 1.2 (8 px each side), less a little
    assert np.abs(whole[core, core] - padded[core, core]).mean() < 3
    framed = cv2.copyMakeBorder(man, 100, 100, 100, 100, cv2.BORDER_CONSTANT, value=(90, 120, 60))
    (alone,), (with_border,) = detectors["photo"].detect(man), detectors["photo"].detect(framed)
    np.testing.assert_allclose(alone.probs, with_border.probs, atol=0.02)


def _blurred(crop: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 3)
