"""`EmotionDetector`: every face in a picture, with its emotion, in one call.

    det = EmotionDetector.load()
    for face in det.detect(rgb_image):          # largest face first
        print(face.box, face.label, face.probs)

The image page, the video engine, the webcam callback and the CLI all call
this same `detect`; nothing re-implements a step of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from emodetect import faces as face_detection
from emodetect.classifier import EmotionClassifier, model_path_for, recorded_views
from emodetect.imageio import as_rgb
from emodetect.labels import EMOTIONS, VALENCES, to_valence
from emodetect.limits import MAX_DETECT_SIDE, MAX_FACES
from emodetect.preprocess import to_gray48

# The test-time views (classifier.TTA_VIEWS) each door classifies a face with, chosen on PublicTest under
# the door's budget (benchmarks/doors.py): a photo has no frame to keep up with, so it affords every view
# in its 100 ms per face; video and the webcam run what the model was exported for (`recorded_views`:
# the webcam's 3 ms per frame, and the video door's real-time factor).
DOOR_VIEWS = {"photo": "flip_zoom", "video": None, "webcam": None}


def door_views(preset: str, recorded: str) -> str:
    """The views the door `preset` runs a model with whose recorded views are `recorded`."""
    return DOOR_VIEWS[preset] or recorded


# How a detection is framed before classification (see benchmarks/crop_framing.py for the numbers).
CROP_MARGIN = 1.2
LEVEL_EYES = True


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is (input pixels), how sure the detector is, and its emotion probabilities."""

    box: tuple[int, int, int, int]  # x, y, w, h
    keypoints: np.ndarray  # 6×2 pixels, in faces.KEYPOINTS order
    score: float  # detector confidence
    probs: np.ndarray  # 7 floats, EMOTIONS order
    crop: np.ndarray  # uint8 48×48 gray: the face exactly as the model saw it (what explain.occlusion explains)

    @property
    def label(self) -> str:
        return EMOTIONS[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.probs))

    @property
    def valence_probs(self) -> np.ndarray:
        return to_valence(self.probs)

    @property
    def valence(self) -> str:
        return VALENCES[int(np.argmax(self.valence_probs))]

    def to_dict(self) -> dict:
        return {
            "box": list(self.box),
            "keypoints": np.round(self.keypoints, 1).tolist(),
            "score": round(self.score, 4),
            "label": self.label,
            "probs": {e: round(float(p), 4) for e, p in zip(EMOTIONS, self.probs)},
        }


class EmotionDetector:
    """Face detection + FER-style crops + the emotion classifier, one batch per image."""

    def __init__(self, classifier: EmotionClassifier, face_detector: face_detection.FaceDetector,
                 crop_margin: float = CROP_MARGIN, level_eyes: bool = LEVEL_EYES, max_faces: int = MAX_FACES):
        self.classifier = classifier
        self.face_detector = face_detector
        self.crop_margin = crop_margin
        self.level_eyes = level_eyes
        self.max_faces = max_faces

    @classmethod
    def load(cls, model_path: str | os.PathLike | None = None, preset: str = "photo", labels: str | None = None,
             **kwargs) -> EmotionDetector:
        """The shipped classifier of the reading `labels` (`labels.READINGS`, by default
        `labels.DEFAULT_READING`), or the one at `model_path`, with a BlazeFace detector set up for `preset`:
        "photo" (any size, small faces, tiled), "video" (frames) or "webcam" (fastest), and the classifier's
        views for that door (`DOOR_VIEWS`). `FaceResult.probs` are then in that reading."""
        path = model_path_for(model_path, labels)
        views = door_views(preset, recorded_views(path))
        return cls(EmotionClassifier.load(path, views), face_detection.FaceDetector(preset), **kwargs)

    @property
    def labels(self) -> str:
        """The reading this detector's probabilities are in (`labels.READINGS`)."""
        return self.classifier.labels

    def find_faces(self, image: np.ndarray) -> list[face_detection.Face]:
        """Faces in an RGB image (largest first), detected on a copy no larger than MAX_DETECT_SIDE."""
        scale = min(1.0, MAX_DETECT_SIDE / max(image.shape[:2]))
        if scale < 1.0:
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            return [face_detection.Face(tuple(v / scale for v in f.box), f.keypoints / scale, f.score)
                    for f in self.face_detector(small)]
        return self.face_detector(image)

    def detect(self, image: np.ndarray) -> list[FaceResult]:
        """Every face in `image` (RGB uint8 H×W×3; gray H×W and RGBA accepted), largest first."""
        image = as_rgb(image)
        return self.classify(image, self.find_faces(image))

    def classify(self, image: np.ndarray, found: list[face_detection.Face]) -> list[FaceResult]:
        """The emotions of faces already found in the RGB `image` (the first `max_faces` of them)."""
        found = found[: self.max_faces]
        if not found:
            return []
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # the model reads gray; crop one channel, not three
        crops = np.stack([to_gray48(face_detection.crop(gray, f, self.crop_margin, self.level_eyes))
                          for f in found])
        probs = self.classifier.predict(crops)
        h, w = image.shape[:2]
        return [FaceResult(_clip_box(f.box, w, h), f.keypoints.astype(np.float32), f.score, p, c)
                for f, p, c in zip(found, probs, crops)]


def face_limit_note(count: int, limit: int) -> str | None:
    """What to tell the user when a picture or frame gave `limit` faces: any smaller ones were left out."""
    if count < limit:
        return None
    return f"Only the {limit} largest faces are analysed in each picture or frame; smaller ones may be left out."


def results_document(name: str, image: np.ndarray, results: list[FaceResult], labels: str) -> dict:
    """One picture's detections as a JSON-ready dict (boxes in the picture's pixels, largest face first), with
    the reading (`labels.READINGS`) their probabilities are in."""
    return {"image": name, "width": int(image.shape[1]), "height": int(image.shape[0]), "reading": labels,
            "faces": [r.to_dict() for r in results]}


def _clip_box(box: tuple[float, ...], w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
    x1, y1 = min(w, round(box[0] + box[2])), min(h, round(box[1] + box[3]))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)
