"""Architectures: the seed CNN matches its published layer table; every named one builds."""

from __future__ import annotations

import numpy as np
import pytest

from emodetect.training import models


def test_seed_parameter_count_matches_its_table():
    model = models.build("seed")
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert model.count_params() == 11_328_007
    assert non_trainable == 10_112


@pytest.mark.parametrize("name", sorted(models.ARCHITECTURES))
def test_each_architecture_maps_faces_to_seven_probabilities(name):
    model = models.build(name)
    out = np.asarray(model(np.random.default_rng(0).random((2, 48, 48, 1), dtype=np.float32), training=False))
    assert out.shape == (2, 7)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'vgg99'"):
        models.build("vgg99")
