"""Face crop → model input. The one function training and inference both call.

Every crop is histogram-equalised: the FER-2013 copy the model learned from was equalised before
publication, so a face from a photo, a clip or the webcam is only like a training face once it is too
(and a face's lighting, a global change of its grey levels, stops mattering: benchmarks/lighting.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

INPUT_SIZE = 48


def to_gray48(crop: np.ndarray) -> np.ndarray:
    """One crop (H×W gray, H×W×3 RGB or H×W×4 RGBA, uint8) → uint8 48×48 gray."""
    crop = np.asarray(crop)
    if crop.dtype != np.uint8:
        raise TypeError(f"face crops must be uint8, got {crop.dtype}")
    if crop.ndim == 3 and crop.shape[2] == 1:
        crop = crop[:, :, 0]
    elif crop.ndim == 3 and crop.shape[2] in (3, 4):
        code = cv2.COLOR_RGB2GRAY if crop.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        crop = cv2.cvtColor(crop, code)
    elif crop.ndim != 2:
        raise ValueError(f"a face crop must be H×W, H×W×3 or H×W×4, got shape {crop.shape}")
    if crop.shape[0] == 0 or crop.shape[1] == 0:
        raise ValueError("empty face crop")
    if crop.shape != (INPUT_SIZE, INPUT_SIZE):
        shrinking = crop.shape[0] > INPUT_SIZE
        crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE),
                          interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return crop


def to_input(faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """A batch of crops → float32 N×48×48×1 in [0, 1], each crop equalised (`equalized`).

    `faces` is a uint8 array N×H×W (gray) or N×H×W×3 (RGB), or a list of crops
    of any sizes. FER-2013 arrays (N×48×48) take the fast path with no resizing.
    """
    return scaled(equalized(gray48_batch(faces)))


def gray48_batch(faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """A batch of crops (as `to_input` takes them) → uint8 N×48×48 gray, not yet equalised."""
    if isinstance(faces, np.ndarray) and faces.dtype == np.uint8 and faces.shape[1:] == (INPUT_SIZE, INPUT_SIZE):
        return faces
    crops = [to_gray48(f) for f in faces]
    return np.stack(crops) if crops else np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)


def equalized(gray: np.ndarray) -> np.ndarray:
    """uint8 N×48×48 faces, each histogram-equalised (`cv2.equalizeHist`, as FER-2013's faces were).
    A uniform face stays as it is."""
    return np.stack([cv2.equalizeHist(face) for face in gray]) if len(gray) else gray


def scaled(gray: np.ndarray) -> np.ndarray:
    """uint8 N×48×48 → the model's float32 N×48×48×1 in [0, 1]."""
    return (gray.astype(np.float32) * (1.0 / 255.0))[..., np.newaxis]


def mirrored(x: np.ndarray) -> np.ndarray:
    """Model inputs N×48×48×1 flipped left to right."""
    return x[:, :, ::-1]


def closer(x: np.ndarray, border: int = 2) -> np.ndarray:
    """Model inputs N×48×48×1 with `border` pixels cut from each side and scaled back up: the face
    9% closer (the centre 44×44 crop at the default), as training's ±10% zoom shows it."""
    inner = slice(border, INPUT_SIZE - border)
    crops = [cv2.resize(image[inner, inner, 0], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
             for image in x]
    return np.stack(crops)[..., np.newaxis] if crops else np.zeros_like(x)
