"""One preprocessing function for training and inference, on real FER-2013 faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emodetect.classifier import EmotionClassifier
from emodetect.data import load_csv_bytes
from emodetect.detector import EmotionDetector
from emodetect.imageio import read_image
from emodetect.preprocess import to_gray48, to_input
from emodetect.training.train import TrainConfig, epoch_dataset, prepare_batches


def test_training_batches_are_to_input_of_the_raw_images(fer):
    """With augmentation off, what training feeds the model is exactly `to_input` of the images."""
    split = fer["PublicTest"]
    images, labels = split.images[:64], split.labels[:64]
    batches = prepare_batches(images, labels)
    cfg = TrainConfig(data="", batch_size=64, flip=False, shift=0, rotation_deg=0, zoom=0, erase_prob=0)
    (x, y), = epoch_dataset(batches, epoch=0, cfg=cfg).take(1)
    order = np.random.default_rng([cfg.seed, 0]).permutation(64)
    np.testing.assert_allclose(x.numpy(), to_input(images)[order], atol=1e-6)
    np.testing.assert_array_equal(y.numpy().argmax(axis=1), labels[order])


def test_a_real_face_reaches_the_model_the_same_way_in_training_and_in_inference(media_dir):
    """A face from a real photo, never equalised, as the model sees it at inference (the detector's crop
    through `predict`) and as training would (its pixels in a fer2013.csv, read by the CSV loader, through
    `prepare_batches`): the same input, and an equalised one, as FER-2013's own faces are."""
    detector = EmotionDetector.load()
    (face,) = detector.detect(read_image(media_dir / "smiling_man.jpg"))
    csv = "emotion,pixels,Usage\n3," + " ".join(map(str, face.crop.ravel())) + ",Training\n"
    training = load_csv_bytes(csv.encode(), "face.csv")["Training"]
    batches = prepare_batches(training.images, training.labels)
    np.testing.assert_array_equal(batches.x, to_input([face.crop]))
    np.testing.assert_allclose(detector.classifier.predict(training.images)[0], face.probs, atol=1e-6)
    moved = np.abs(batches.x[0, :, :, 0] * 255 - face.crop).mean()
    assert moved > 5, f"equalising moved the raw crop by only {moved:.1f} grey levels"
    assert batches.x.min() == 0 and batches.x.max() == 1  # the full range, as equalisation spreads it


def test_a_face_lit_differently_gives_nearly_the_same_input(fer):
    """Equalisation undoes a global change of lighting: the same faces darker (gamma 2) reach the model
    within a few grey levels of the originals (before equalisation, ~60 levels apart)."""
    faces = fer["PrivateTest"].images[:200]
    darker = (255 * (faces / 255.0) ** 2).round().astype(np.uint8)
    raw_gap = np.abs(darker.astype(float) - faces).mean()
    gap = np.abs(to_input(darker) - to_input(faces)).mean() * 255
    assert raw_gap > 30 and gap < 8, (raw_gap, gap)


def test_inference_classifies_to_input_of_the_crops(fer, classifier):
    faces = fer["PrivateTest"].images[:16]
    (expected,) = classifier.model(to_input(faces))
    np.testing.assert_allclose(EmotionClassifier(classifier.model, "plain").predict(faces), expected, atol=1e-5)


def test_color_and_size_variants_of_one_face_give_the_same_input(fer):
    face = fer["PrivateTest"].images[0]
    rgb = cv2.cvtColor(face, cv2.COLOR_GRAY2RGB)
    rgba = cv2.cvtColor(face, cv2.COLOR_GRAY2RGBA)
    for variant in (rgb, rgba, face[:, :, None]):
        np.testing.assert_array_equal(to_gray48(variant), face)
    big = cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC)
    assert np.abs(to_gray48(big).astype(int) - face).mean() < 4
    x = to_input([face, big, rgb])
    assert x.shape == (3, 48, 48, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


@pytest.mark.parametrize("bad,error", [
    (np.zeros((48, 48), np.float32), TypeError),
    (np.zeros((0, 10), np.uint8), ValueError),
    (np.zeros((4, 4, 2), np.uint8), ValueError),
])
def test_bad_crops_raise_clear_errors(bad, error):
    with pytest.raises(error):
        to_gray48(bad)
