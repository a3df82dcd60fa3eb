"""`EmotionClassifier`: the shipped model behind one small, fast, thread-safe API.

The app runs `models/emodetect.tflite`, the trained Keras model (`models/emodetect.keras`) converted by
`keras_to_lite` with dynamic-range quantization (int8 weights). On this 2-core CPU a face and its mirror
image take ~0.9 ms that way against ~6.6 ms through Keras, at the same accuracy (the model card
measures the converted model), and finding and classifying faces never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emodetect.labels import EMOTIONS
from emodetect.litert import LiteModel
from emodetect.paths import LITE_MODEL
from emodetect.preprocess import closer, mirrored, to_input

# Test-time augmentation: the views of each face, besides the face itself, whose probabilities are
# averaged. The model card scores every set; the app and the CLI use APP_TTA, chosen on PublicTest
# (README, "Test-time augmentation"): looking 9% closer as well as mirrored gained more than a point
# over the mirror alone, for twice its cost.
TTA_VIEWS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], ...]] = {
    "plain": (),
    "flip": (mirrored,),
    "flip_zoom": (mirrored, closer, lambda x: mirrored(closer(x))),
}
TTA_DESCRIPTIONS = {
    "plain": "each face classified once",
    "flip": "each face also classified mirrored",
    "flip_zoom": "each face classified four ways (as cropped and 9% closer, each also mirrored)",
}
APP_TTA = "flip_zoom"
# What `keras_to_lite` does to the weights; the model card states it.
QUANTIZATION = "dynamic range: int8 weights, float32 activations"


def keras_to_lite(path: str | os.PathLike) -> bytes:
    """The `.keras` model at `path` (loaded in Keras safe mode: no arbitrary code) as `.tflite` bytes
    with int8 weights; the same file and TensorFlow give the same bytes."""
    from emodetect._tensorflow import keras, silenced_stderr, tf

    model = keras.models.load_model(path, compile=False, safe_mode=True)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with silenced_stderr(), contextlib.redirect_stdout(io.StringIO()):  # Keras prints the traced signature
        return converter.convert()


class EmotionClassifier:
    """Seven-emotion probabilities for face crops. Safe to share across threads."""

    def __init__(self, model: LiteModel, tta: str = APP_TTA):
        if tta not in TTA_VIEWS:
            raise ValueError(f"unknown test-time augmentation {tta!r}; one of {', '.join(TTA_VIEWS)}")
        self.model = model
        self.tta = tta

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, tta: str = APP_TTA) -> EmotionClassifier:
        """The shipped model, or the one at `path`: a `.tflite` file, or a `.keras` file (converted as
        `export` does, which needs TensorFlow and ~3 s)."""
        path = Path(path) if path is not None else LITE_MODEL
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        return cls(LiteModel(keras_to_lite(path) if path.suffix == ".keras" else path), tta)

    def predict(self, faces: np.ndarray | Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """N×7 float32 probabilities (`EMOTIONS` order) for a batch of face crops.

        `faces`: uint8 N×H×W gray, N×H×W×3 RGB, or a list of crops of any sizes.
        Each face is classified as the views of `tta` show it (one model call for all views),
        and the predictions are averaged.
        """
        return self.predict_inputs(to_input(faces), batch_size)

    def predict_inputs(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Like `predict`, for inputs already made by `preprocess.to_input`."""
        probs = self.view_probabilities(x, batch_size).mean(axis=0)
        return probs / probs.sum(axis=1, keepdims=True)

    def view_probabilities(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """V×N×7: each view of `tta` (the face as given first) classified on its own, before averaging;
        `export` calibrates the average from these. `x` as `preprocess.to_input` makes it."""
        out = np.empty((len(TTA_VIEWS[self.tta]) + 1, len(x), len(EMOTIONS)), np.float32)
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            views = [chunk] + [view(chunk) for view in TTA_VIEWS[self.tta]]
            (probs,) = self.model(np.concatenate(views))
            out[:, start:start + len(chunk)] = probs.reshape(len(views), len(chunk), -1)
        return out
