"""Occlusion maps and deletion curves (emodetect/explain.py), in captum's style: toy `predict`s whose maps
can be written out by hand, every case at several batch sizes, then the shipped model on real faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from emodetect.cli import main
from emodetect.draw import RELEVANCE_NOISE, relevance_overlay
from emodetect.explain import area_under, blurred, deletion_curve, occlusion
from emodetect.labels import EMOTIONS
from emodetect.preprocess import to_input

SIZE = 16
PATCH = (slice(4, 8), slice(8, 12))  # the 4×4 square the toy model reads


class PatchModel:
    """Class 0's score is the mean of the patch; the other six are constant. Counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        out = np.full((len(x), len(EMOTIONS)), 0.1, np.float32)
        out[:, 0] = x[:, PATCH[0], PATCH[1], 0].mean(axis=(1, 2))
        return out


def faces(n: int = 3) -> np.ndarray:
    return np.ones((n, SIZE, SIZE, 1), np.float32)


@pytest.mark.parametrize("batch_size", [1, 7, 3 * 16])
def test_non_overlapping_windows_find_exactly_the_patch(batch_size):
    model = PatchModel()
    maps = occlusion(faces(), model, target=0, window=4, stride=4, baseline=0.0, batch_size=batch_size)
    expected = np.zeros((SIZE, SIZE), np.float32)
    expected[PATCH] = 1.0  # covering the patch's own window takes class 0 from 1 to 0
    np.testing.assert_allclose(maps, np.broadcast_to(expected, maps.shape), atol=1e-6)
    assert model.calls == math.ceil(3 * 16 / batch_size) + 1  # 16 windows per face, plus the originals


@pytest.mark.parametrize("batch_size", [1, 7, 3 * 49])
def test_overlapping_windows_average_the_drops_of_the_windows_covering_a_pixel(batch_size):
    model = PatchModel()
    maps = occlusion(faces(), model, target=0, window=4, stride=2, baseline=0.0, batch_size=batch_size)
    assert model.calls == math.ceil(3 * 49 / batch_size) + 1  # 7×7 windows
    # Pixel (4, 8), the patch's corner, is covered by windows at rows 2 and 4 and columns 6 and 8, which
    # hide 2×2, 2×4, 4×2 and 4×4 of the patch's 16 pixels: (4 + 8 + 8 + 16) / 16 / 4.
    np.testing.assert_allclose(maps[:, 4, 8], 0.5625, atol=1e-6)
    # Pixel (3, 8), just above it: windows at rows 0 and 2 (the first hides none of the patch).
    np.testing.assert_allclose(maps[:, 3, 8], (0 + 0 + 4 / 16 + 8 / 16) / 4, atol=1e-6)
    # Pixels no window reaching the patch covers: rows 0-1 and 10-15, columns 0-5 and 14-15.
    outside = np.ones((SIZE, SIZE), bool)
    outside[2:10, 6:14] = False
    assert np.all(maps[:, outside] == 0)


def test_the_same_maps_at_every_batch_size_with_the_default_blurred_baseline():
    rng = np.random.default_rng(0)
    x = rng.random((5, SIZE, SIZE, 1), dtype=np.float32)
    maps = [occlusion(x, PatchModel(), target=0, window=4, stride=2, batch_size=b) for b in (1, 7, 5 * 49)]
    np.testing.assert_allclose(maps[0], maps[1], atol=1e-6)
    np.testing.assert_allclose(maps[0], maps[2], atol=1e-6)
    assert np.abs(maps[0]).max() > 0


def test_a_target_per_face_and_the_top_class_by_default():
    model = PatchModel()
    x = faces(2)
    per_face = occlusion(x, model, target=[0, 3], window=4, stride=4, baseline=0.0)
    assert per_face[0].max() == pytest.approx(1.0) and np.all(per_face[1] == 0)  # class 3 reads nothing
    np.testing.assert_array_equal(occlusion(x, model, window=4, stride=4, baseline=0.0), per_face[[0, 0]])


def test_a_constant_model_gives_flat_zero_maps():
    constant = lambda x: np.full((len(x), len(EMOTIONS)), 1 / len(EMOTIONS), np.float32)  # noqa: E731
    x = np.random.default_rng(1).random((2, SIZE, SIZE, 1), dtype=np.float32)
    assert np.all(occlusion(x, constant, window=4, stride=2) == 0)


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"window": 0}, "window"), ({"window": SIZE + 1}, "window"), ({"window": 2.5}, "window"),
    ({"stride": 0}, "stride"), ({"window": 4, "stride": 5}, "stride"), ({"batch_size": 0}, "batch_size"),
])
def test_bad_geometry_raises_a_value_error_naming_the_argument(kwargs, named):
    with pytest.raises(ValueError, match=f"^{named} must be"):
        occlusion(faces(1), PatchModel(), **{"window": 4, "stride": 2, **kwargs})


@pytest.mark.parametrize("batch_size", [1, 7, 3 * 20])
def test_deletion_curve_of_the_true_map_falls_first(batch_size):
    model = PatchModel()
    x = faces()
    maps = occlusion(x, model, target=0, window=4, stride=4, baseline=0.0)
    model.calls = 0
    curves = deletion_curve(x, model, maps, target=0, steps=20, baseline=0.0, batch_size=batch_size)
    assert model.calls == math.ceil(3 * 20 / batch_size) + 1
    # The patch is 16 of the 256 pixels: the first 5% (13 pixels) leave 3 of it, the next step none.
    assert curves.shape == (3, 21)
    np.testing.assert_allclose(curves[:, :3], [[1, 3 / 16, 0]] * 3, atol=1e-6)
    assert np.all(curves[:, 3:] == 0)
    shuffled = np.random.default_rng(0).random(maps.shape)
    assert np.all(area_under(curves) < area_under(deletion_curve(x, model, shuffled, target=0, baseline=0.0)))


# The shipped model on real faces.

@pytest.fixture(scope="module")
def detector():
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load()


@pytest.fixture(scope="module")
def one_view(detector):
    """What the app's maps explain (`emodetect.app.model.relevance_overlay`): the face as cropped, seen once."""
    return detector.classifier.with_views("plain").predict_inputs


@pytest.fixture(scope="module")
def smiling_crop(media_dir, detector):
    from emodetect.imageio import read_image

    (face,) = detector.detect(read_image(media_dir / "smiling_man.jpg"))
    assert face.label == "happy"
    return face.crop


def test_happy_relies_on_the_mouth_more_than_the_brow(smiling_crop, one_view):
    (relevance,) = occlusion(to_input(smiling_crop[None]), one_view, target=EMOTIONS.index("happy"))
    assert relevance[32:].mean() > relevance[:16].mean()
    assert relevance.max() > 0.1  # blurring the mouth costs "happy" a clear share of its probability


def test_the_map_of_a_mirrored_face_is_the_mirrored_map(smiling_crop, one_view):
    x = to_input(np.stack([smiling_crop, smiling_crop[:, ::-1]]))
    maps = occlusion(x, one_view, target=EMOTIONS.index("happy"))
    # The model is not exactly symmetric (it was trained on flipped faces, it is not built symmetric).
    assert np.corrcoef(maps[0].ravel(), maps[1, :, ::-1].ravel())[0, 1] > 0.8


def test_a_uniform_crop_gives_a_flat_map_and_an_untinted_overlay(one_view):
    crop = np.full((48, 48), 128, np.uint8)
    x = to_input(crop[None])
    np.testing.assert_allclose(blurred(x), x, atol=1e-6)  # nothing to blur
    (relevance,) = occlusion(x, one_view)
    assert np.abs(relevance).max() < RELEVANCE_NOISE  # the int8 model's rounding, not the face
    assert np.all(relevance_overlay(crop, relevance) == 128)


@pytest.mark.slow
def test_on_real_faces_the_maps_delete_faster_than_a_shuffled_order(fer, one_view):
    x = to_input(fer["PrivateTest"].images[::72][:50])  # 50 faces spread over the split's classes
    maps = occlusion(x, one_view)
    shuffled = np.random.default_rng(0).permutation(maps.reshape(len(x), -1), axis=1).reshape(maps.shape)
    ours, shuffled = (area_under(deletion_curve(x, one_view, order)).mean() for order in (maps, shuffled))
    assert ours < shuffled


def test_cli_explain_writes_a_sheet_of_every_face(media_dir, tmp_path, capsys):
    out = tmp_path / "explained.png"
    assert main(["image", str(media_dir / "group_selfie.jpg"), "--explain", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 2 * 144 + 3 * 8 and sheet.shape[0] > 6 * 144  # a row of two 144 px pictures per face
    assert 20_000 < out.stat().st_size < 2_000_000
    assert capsys.readouterr().out.count("face ") == 6


def test_ferplus_votes_are_read_under_our_names_most_first():
    from emodetect.data import load_ferplus_votes, votes_text
    from emodetect.paths import FERPLUS_VOTES

    if not FERPLUS_VOTES.is_file():
        pytest.skip(f"FER+ votes not found at {FERPLUS_VOTES} (this test needs ../shared/data)")
    votes = load_ferplus_votes(FERPLUS_VOTES)
    assert len(votes) == 32_101
    # The file's first row: neutral 4, happiness 0, surprise 0, sadness 1, anger 3, disgust 2, ...
    assert votes_text(votes["train/angry/Training_1426440.jpg"]) == "neutral 4, angry 3, disgust 2, sad 1"
    # Ten annotators per face (the README); one row of the file counts only 9 votes.
    assert sum(sum(v.values()) != 10 for v in votes.values()) == 1
    assert set().union(*votes.values()) <= set(EMOTIONS) | {"contempt", "unknown", "not a face"}
