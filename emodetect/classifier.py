"""`EmotionClassifier`: the shipped Keras model behind one small, fast, thread-safe API."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emodetect._tensorflow import keras, tf
from emodetect.paths import DEFAULT_MODEL
from emodetect.preprocess import INPUT_SIZE, to_input

# The app and the CLI classify each face and its mirror image and average the
# two (+0.5-1 pt accuracy on FER-2013 for twice a very small cost).
FLIP_TTA = True


class EmotionClassifier:
    """Seven-emotion probabilities for face crops.

    Inference runs through one traced `tf.function` rather than
    `model.predict`, which costs tens of milliseconds per call for small
    batches. Traced functions are safe to call from several threads at once.
    """

    def __init__(self, model: keras.Model, flip_tta: bool = FLIP_TTA):
        self.model = model
        self.flip_tta = flip_tta
        self._forward = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 1], tf.float32)],
            reduce_retracing=True,
        )
        self.predict(np.zeros((1, INPUT_SIZE, INPUT_SIZE), np.uint8))  # trace once, now, not on first use

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, flip_tta: bool = FLIP_TTA) -> EmotionClassifier:
        """Load the shipped model, or the `.keras` file at `path` (Keras safe mode: no arbitrary code)."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        model = keras.models.load_model(path, compile=False, safe_mode=True)
        return cls(model, flip_tta=flip_tta)

    def predict(self, faces: np.ndarray | Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """N×7 float32 probabilities (`EMOTIONS` order) for a batch of face crops.

        `faces`: uint8 N×H×W gray, N×H×W×3 RGB, or a list of crops of any sizes.
        With `flip_tta` each face is also classified mirrored and the two
        predictions averaged (the model card reports both ways).
        """
        return self.predict_inputs(to_input(faces), batch_size)

    def predict_inputs(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Like `predict`, for inputs already made by `preprocess.to_input`."""
        out = np.empty((len(x), self.model.output_shape[-1]), np.float32)
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            if self.flip_tta:
                both = self._forward(np.concatenate([chunk, chunk[:, :, ::-1]])).numpy()
                probs = (both[: len(chunk)] + both[len(chunk):]) / 2
            else:
                probs = self._forward(chunk).numpy()
            out[start:start + len(chunk)] = probs
        return out / out.sum(axis=1, keepdims=True)
