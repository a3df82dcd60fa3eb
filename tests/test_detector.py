"""Faces in real pictures: detection, crops, `EmotionDetector`, drawing and the image CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from emodetect import EmotionDetector
from emodetect import faces as face_detection
from emodetect.draw import annotate
from emodetect.errors import InputError
from emodetect.imageio import read_image
from emodetect.labels import EMOTIONS
from emodetect.paths import PROJECT_DIR
from emodetect.video import iter_frames

EXPECTED_FACES = {"smiling_man.jpg": 1, "group_selfie.jpg": 6, "cartoon_no_people.jpg": 0}


@pytest.fixture(scope="module")
def detector():
    return EmotionDetector.load()


@pytest.fixture(scope="module")
def pictures(media_dir):
    return {name: read_image(media_dir / name) for name in EXPECTED_FACES}


def _variants(image):
    yield "original", image
    yield "half", cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    yield "double", cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    yield "flipped", np.ascontiguousarray(image[:, ::-1])


@pytest.mark.parametrize("name", list(EXPECTED_FACES))
def test_face_count_on_real_pictures_at_any_scale_and_flipped(detector, pictures, name):
    for variant, image in _variants(pictures[name]):
        results = detector.detect(image)
        assert len(results) == EXPECTED_FACES[name], f"{name} {variant}: {[r.box for r in results]}"


def test_smiling_man_is_happy_at_any_scale_and_flipped(detector, pictures):
    for variant, image in _variants(pictures["smiling_man.jpg"]):
        (face,) = detector.detect(image)
        assert face.label == "happy", f"{variant}: {dict(zip(EMOTIONS, face.probs.round(2)))}"


def test_group_selfie_boxes_are_six_distinct_faces_largest_first(detector, pictures):
    image = pictures["group_selfie.jpg"]
    results = detector.detect(image)
    sizes = [r.box[2] * r.box[3] for r in results]
    assert sizes == sorted(sizes, reverse=True)
    widths = sorted(r.box[2] for r in results)
    assert widths[0] >= 80 and widths[-1] >= 400  # the faces span ~100 px to ~500 px
    centres = np.array([(r.box[0] + r.box[2] / 2, r.box[1] + r.box[3] / 2) for r in results])
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2) + np.eye(6) * 1e9
    assert gaps.min() > 80  # no face counted twice
    for r in results:
        x, y, w, h = r.box
        assert 0 <= x and 0 <= y and x + w <= image.shape[1] and y + h <= image.shape[0]
        assert r.keypoints.shape == (6, 2) and 0.5 <= r.score <= 1
        np.testing.assert_allclose(r.probs.sum(), 1, rtol=1e-5)
        # both eyes inside the box
        for ex, ey in r.keypoints[:2]:
            assert x <= ex <= x + w and y <= ey <= y + h


def test_wide_panorama_finds_the_faces(detector, pictures):
    """A 3:1 strip with the selfie in the middle and blank sky either side."""
    selfie = pictures["group_selfie.jpg"]
    h, w = selfie.shape[:2]
    panorama = np.full((h, 3 * w, 3), 200, np.uint8)
    panorama[:, w:2 * w] = selfie
    assert len(detector.detect(panorama)) == 6


def test_all_faces_of_a_frame_are_classified_in_one_batch(detector, pictures):
    calls = []
    original = detector.classifier.predict
    detector.classifier.predict = lambda crops, *a, **k: calls.append(len(crops)) or original(crops, *a, **k)
    try:
        detector.detect(pictures["group_selfie.jpg"])
    finally:
        detector.classifier.predict = original
    assert calls == [6]


def test_gray_and_rgba_inputs(detector, pictures):
    image = pictures["smiling_man.jpg"]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    for variant in (gray, rgba):
        (face,) = detector.detect(variant)
        assert face.label == "happy"


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.float32), np.zeros((0, 5, 3), np.uint8),
                                 np.zeros((4, 4, 2), np.uint8)])
def test_bad_arrays_raise_input_error(detector, bad):
    with pytest.raises(InputError):
        detector.detect(bad)


@pytest.mark.parametrize("clip,preset,share", [
    ("talking_woman.mp4", "video", 0.99), ("phone_at_night.mp4", "video", 0.9),
    ("talking_woman.mp4", "webcam", 0.99), ("phone_at_night.mp4", "webcam", 0.9)])
def test_faces_found_in_video_frames(media_dir, clip, preset, share):
    find = face_detection.FaceDetector(preset)
    counts = [len(find(frame.image)) for frame in iter_frames(media_dir / clip)]
    assert np.mean([c >= 1 for c in counts]) >= share
    assert np.mean([c > 1 for c in counts]) <= 0.01  # one person: hardly ever a second box


def test_eye_levelling_undoes_a_tilt(pictures):
    """A face rotated by 20° gives nearly the same levelled crop as the upright one."""
    image = pictures["smiling_man.jpg"]
    find = face_detection.FaceDetector("photo")
    h, w = image.shape[:2]
    tilted = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h),
                            borderMode=cv2.BORDER_REPLICATE)
    upright, levelled, unlevelled = [
        cv2.GaussianBlur(face_detection.crop(cv2.cvtColor(i, cv2.COLOR_RGB2GRAY), find(i)[0], level_eyes=lvl)
                         .astype(np.float32), (0, 0), 4)  # blur: compare the layout of the face, not pixels
        for i, lvl in ((image, True), (tilted, True), (tilted, False))]

    def similarity(a, b):
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    assert similarity(upright, levelled) > similarity(upright, unlevelled) + 0.08


def test_drawing_is_readable_at_any_size(detector, pictures):
    image = pictures["smiling_man.jpg"]
    results = detector.detect(image)
    drawn = annotate(image, results)
    assert drawn.shape == image.shape and not np.array_equal(drawn, image)
    np.testing.assert_array_equal(image, read_image(PROJECT_DIR.parent / "shared/data/media/smiling_man.jpg"))
    big = cv2.resize(image, None, fx=8, fy=8)
    big_results = detector.detect(big)

    def ink_rows(a, b):  # rows of the label strip above the box that the drawing changed
        x, y, w, _ = b
        return int((np.abs(annotate(a, [r for r in results_of(a)]).astype(int) - a)[:y, x:x + w].sum(axis=(1, 2))
                    > 0).sum())

    def results_of(a):
        return results if a is image else big_results

    assert ink_rows(big, big_results[0].box) > 4 * ink_rows(image, results[0].box)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "emodetect", "image", *map(str, args)], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=300)


def test_cli_prints_faces_and_json_and_saves_the_drawing(media_dir, tmp_path):
    result = _cli(media_dir / "group_selfie.jpg")
    assert result.returncode == 0 and result.stdout.count("face ") == 6
    result = _cli(media_dir / "smiling_man.jpg", "--json", "--annotated", tmp_path / "out.png")
    document = json.loads(result.stdout)
    assert [f["label"] for f in document["faces"]] == ["happy"]
    assert set(document["faces"][0]) == {"box", "keypoints", "score", "label", "probs"}
    assert cv2.imread(str(tmp_path / "out.png")).shape == (384, 381, 3)
    assert _cli(media_dir / "cartoon_no_people.jpg").stdout.strip() == "no face found"


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"PK\x03\x04zipzipzip"])
def test_cli_refuses_non_images_with_one_line(tmp_path, content):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    result = _cli(path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: photo.jpg ") and result.stderr.count("\n") == 1
