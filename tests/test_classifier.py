"""`EmotionClassifier` on real FER-2013 faces in every input form it accepts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emodetect import EMOTIONS, EmotionClassifier
from emodetect.preprocess import to_input


@pytest.fixture(scope="module")
def faces(fer):
    split = fer["PrivateTest"]
    return split.images[::112], split.labels[::112]  # 33 faces across all classes


def _check(probs: np.ndarray, n: int) -> None:
    assert probs.shape == (n, len(EMOTIONS)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_gray_rgb_and_list_inputs_agree(classifier, faces):
    images, _ = faces
    gray = classifier.predict(images)
    rgb = classifier.predict(np.stack([cv2.cvtColor(f, cv2.COLOR_GRAY2RGB) for f in images]))
    sizes = [48, 64, 100, 160]
    crops = [cv2.resize(f, (sizes[i % 4],) * 2, interpolation=cv2.INTER_CUBIC) for i, f in enumerate(images)]
    listed = classifier.predict(crops)
    for probs in (gray, rgb, listed):
        _check(probs, len(images))
    np.testing.assert_allclose(rgb, gray, atol=1e-5)
    # Upscaled-then-shrunk crops lose a little detail but keep the same answer almost always.
    assert (listed.argmax(axis=1) == gray.argmax(axis=1)).mean() >= 0.9


def test_predictions_beat_chance_by_far_on_real_faces(classifier, faces):
    images, labels = faces
    assert (classifier.predict(images).argmax(axis=1) == labels).mean() > 0.4


def test_empty_batch(classifier):
    _check(classifier.predict(np.zeros((0, 48, 48), np.uint8)), 0)
    _check(classifier.predict([]), 0)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.keras"):
        EmotionClassifier.load(tmp_path / "nowhere.keras")


@pytest.mark.parametrize("tta", ["flip", "flip_zoom"])
def test_a_mirrored_face_gets_the_same_answer(classifier, faces, tta):
    """With the mirror among the views, a selfie and its mirror image read the same; without it they
    often do not, which is what the views are for."""
    images, _ = faces
    tested = EmotionClassifier(classifier.model, tta)
    # (Not to the last digit: dynamic-range quantization scales activations per call, see below.)
    np.testing.assert_allclose(tested.predict(images[:, :, ::-1]), tested.predict(images), atol=0.002)
    plain = EmotionClassifier(classifier.model, "plain")
    assert np.abs(plain.predict(images[:, :, ::-1]) - plain.predict(images)).max() > 0.05


def test_views_are_averaged_in_one_call(classifier, faces):
    """flip_zoom = the mean of the face, its mirror, and both 9% closer (the centre 44×44 scaled to 48)."""
    images, _ = faces
    x = to_input(images[:4])  # equalised, scaled to [0, 1]
    closer = np.stack([cv2.resize(f[2:46, 2:46, 0], (48, 48), interpolation=cv2.INTER_LINEAR) for f in x])[..., None]
    expected = np.mean([classifier.model(np.ascontiguousarray(v))[0]
                        for v in (x, x[:, :, ::-1], closer, closer[:, :, ::-1])], axis=0)
    # Dynamic-range quantization may scale activations per call, so calls that group the views otherwise (here
    # four of one view each; `predict`: every view of two faces per call) may differ a little (0.0023 seen).
    np.testing.assert_allclose(EmotionClassifier(classifier.model, "flip_zoom").predict(images[:4]), expected,
                               atol=0.005)


def test_unknown_views_are_refused_by_name(classifier):
    with pytest.raises(ValueError, match="unknown test-time augmentation 'ten_crop'.*flip_zoom"):
        EmotionClassifier(classifier.model, "ten_crop")


def test_a_model_runs_with_the_views_recorded_beside_it(tmp_path):
    """`export --views` records the views a model was calibrated for in training.json beside it, and
    `load` runs it with them; a model file with no record gets the views every earlier model shipped with."""
    from emodetect.classifier import DEFAULT_VIEWS
    from emodetect.paths import LITE_MODEL

    bare = tmp_path / "bare" / "model.tflite"
    recorded = tmp_path / "recorded" / "model.tflite"
    for path in (bare, recorded):
        path.parent.mkdir()
        path.write_bytes(LITE_MODEL.read_bytes())
    recorded.with_name("training.json").write_text('{"views": "flip", "members": []}')
    assert EmotionClassifier.load(bare).tta == DEFAULT_VIEWS == "flip_zoom"
    assert EmotionClassifier.load(recorded).tta == "flip"
    assert EmotionClassifier.load(recorded, tta="plain").tta == "plain"


def test_each_reading_loads_its_own_model_and_a_mismatch_is_refused(fer):
    """`labels=` picks the reading's shipped model; a model file given with the other reading named is one clear
    error, not a silent answer in the wrong reading. The two readings disagree on real faces: they are two
    models, each trained for its truth."""
    from emodetect.labels import DEFAULT_READING, READINGS
    from emodetect.paths import lite_model

    faces = fer["PublicTest"].images[:200]
    probs = {}
    for labels in READINGS:
        clf = EmotionClassifier.load(labels=labels)
        assert clf.labels == labels and clf.with_views("plain").labels == labels
        probs[labels] = clf.predict(faces)
    assert EmotionClassifier.load().labels == DEFAULT_READING
    assert (probs["ferplus"].argmax(axis=1) != probs["fer2013"].argmax(axis=1)).mean() > 0.05
    with pytest.raises(ValueError, match="gives the ferplus reading, not fer2013"):
        EmotionClassifier.load(lite_model("ferplus"), labels="fer2013")
    with pytest.raises(ValueError, match="unknown reading 'votes'"):
        EmotionClassifier.load(labels="votes")
