"""One preprocessing function for training and inference, on real FER-2013 faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emodetect.classifier import EmotionClassifier
from emodetect.preprocess import to_gray48, to_input
from emodetect.train import TrainConfig, epoch_dataset, prepare_batches


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
