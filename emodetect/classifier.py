"""`EmotionClassifier`: the shipped models behind one small, fast, thread-safe API.

Each reading of a face (`labels.READINGS`) has its model, `models/<reading>/emodetect.tflite`: trained Keras
networks converted by `keras_to_lite` with dynamic-range quantization (int8 weights), several times faster than
through Keras on this 2-core CPU at the same accuracy (docs/model.md, "Inference"; the model card measures
the converted models), so finding and classifying faces never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emodetect.labels import DEFAULT_READING, EMOTIONS, check_reading
from emodetect.litert import LiteModel
from emodetect.paths import lite_model
from emodetect.preprocess import closer, mirrored, to_input

# Test-time augmentation: the views of each face, besides the face itself, whose probabilities are
# averaged. The model card scores every set. Which set a model is run with belongs to the model, since
# a bigger network affords fewer views in the webcam's time: `export --views` chooses it, calibrates the
# model for it and records it beside the model (`recorded_views`); the app and the CLI use that.
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
# The views of a model with no record of its own: what every model exported before views were recorded
# was calibrated and shipped with.
DEFAULT_VIEWS = "flip_zoom"
# Scoring a split (evaluation, a teacher's targets, calibration) is many faces with nothing else
# to do meanwhile: every core on each.
EVALUATION_THREADS = os.cpu_count() or 1
# Images per model call when many faces are classified: LiteRT is fastest on small batches, whose activations
# stay in the CPU's caches, and answers the same whatever the batch (here, shipped model, 2 threads: 0.90 ms per
# image at 8 per call, 1.69 ms at 1,024; 1 thread: 1.75 ms and 3.37 ms).
IMAGES_PER_CALL = 8
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


def _record(model_path: str | os.PathLike) -> dict:
    """The training.json `export` wrote beside the model at `model_path` ({} if none)."""
    record = Path(model_path).with_name("training.json")
    return json.loads(record.read_text()) if record.is_file() else {}


def recorded_views(model_path: str | os.PathLike) -> str:
    """The set of `TTA_VIEWS` that `export` calibrated the model at `model_path` for, read from the
    training.json beside it: the views the app runs that model with."""
    return _record(model_path).get("views", DEFAULT_VIEWS)


def recorded_labels(model_path: str | os.PathLike) -> str:
    """The reading (`labels.READINGS`) the model at `model_path` was exported for, from the training.json
    beside it; a model exported before readings existed was trained and calibrated on FER-2013's labels."""
    return _record(model_path).get("labels", "fer2013")


def model_path_for(path: str | os.PathLike | None, labels: str | None) -> Path:
    """The model file to run: `path`, whose recorded reading must then be `labels` (when given), or the
    shipped model of the reading `labels` (by default `labels.DEFAULT_READING`)."""
    if path is None:
        return lite_model(check_reading(labels or DEFAULT_READING))
    path = Path(path)
    if labels is not None and recorded_labels(path) != check_reading(labels):
        raise ValueError(f"{path.name} gives the {recorded_labels(path)} reading, not {labels}")
    return path


class EmotionClassifier:
    """Seven-emotion probabilities for face crops, in one reading (`labels`). Safe to share across threads."""

    def __init__(self, model: LiteModel, tta: str, labels: str = DEFAULT_READING):
        if tta not in TTA_VIEWS:
            raise ValueError(f"unknown test-time augmentation {tta!r}; one of {', '.join(TTA_VIEWS)}")
        self.model = model
        self.tta = tta
        self.labels = check_reading(labels)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, tta: str | None = None,
             threads: int = 1, labels: str | None = None) -> EmotionClassifier:
        """The shipped model of the reading `labels` ("ferplus": what most of 10 annotators would say,
        "fer2013": the dataset's single label; by default `labels.DEFAULT_READING`), or the one at `path`: a
        `.tflite` file, or a `.keras` file (converted as `export` does, which needs TensorFlow and ~3 s); run
        with the views `tta`, by default those recorded for it (`recorded_views`), on `threads` CPU threads
        per call (`LiteModel`)."""
        path = model_path_for(path, labels)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        model = LiteModel(keras_to_lite(path) if path.suffix == ".keras" else path, threads)
        return cls(model, tta or recorded_views(path), recorded_labels(path))

    def with_views(self, tta: str) -> EmotionClassifier:
        """The same model (and its interpreters) run with the views `tta`."""
        return EmotionClassifier(self.model, tta, self.labels)

    def predict(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """N×7 float32 probabilities (`EMOTIONS` order) for a batch of face crops.

        `faces`: uint8 N×H×W gray, N×H×W×3 RGB, or a list of crops of any sizes.
        Each face is classified as the views of `tta` show it (its views in one model call),
        and the predictions are averaged.
        """
        return self.predict_inputs(to_input(faces))

    def predict_inputs(self, x: np.ndarray) -> np.ndarray:
        """Like `predict`, for inputs already made by `preprocess.to_input`."""
        probs = self.view_probabilities(x).mean(axis=0)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict_every_views(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """`predict_inputs` for every set of `TTA_VIEWS` at once: N×7 per set. Each set's views begin
        with the views of the sets before it, so the largest set's model calls serve them all."""
        largest = max(TTA_VIEWS, key=lambda tta: len(TTA_VIEWS[tta]))
        views = self.with_views(largest).view_probabilities(x)
        every = {}
        for tta, own in TTA_VIEWS.items():
            assert TTA_VIEWS[largest][:len(own)] == own, f"{tta}'s views are not the first of {largest}'s"
            probs = views[:len(own) + 1].mean(axis=0)
            every[tta] = probs / probs.sum(axis=1, keepdims=True)
        return every

    def view_probabilities(self, x: np.ndarray) -> np.ndarray:
        """V×N×7: each view of `tta` (the face as given first) classified on its own, before averaging;
        `export` calibrates the average from these. `x` as `preprocess.to_input` makes it. Every view of a
        few faces per model call (`IMAGES_PER_CALL`)."""
        out = np.empty((len(TTA_VIEWS[self.tta]) + 1, len(x), len(EMOTIONS)), np.float32)
        faces_per_call = max(1, IMAGES_PER_CALL // len(out))
        for start in range(0, len(x), faces_per_call):
            chunk = x[start:start + faces_per_call]
            views = [chunk] + [view(chunk) for view in TTA_VIEWS[self.tta]]
            (probs,) = self.model(np.concatenate(views))
            out[:, start:start + len(chunk)] = probs.reshape(len(views), len(chunk), -1)
        return out
