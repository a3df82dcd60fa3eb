"""The Image page's work: a picture decoded and its faces found once per file and reading, and what it offers to
download."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
import streamlit as st

from emodetect.app.model import detector
from emodetect.imageio import read_image
from emodetect.labels import DEFAULT_READING

if TYPE_CHECKING:
    from emodetect.detector import FaceResult


@st.cache_data(max_entries=16, show_spinner="Finding faces…")
def detect_image(data: bytes, name: str, labels: str = DEFAULT_READING) -> tuple[np.ndarray, list[FaceResult]]:
    """Decode a picture and find its faces, once per file and reading: widget changes then cost nothing.

    Raises `InputError` (one sentence naming `name`) for anything that is not a usable image.
    """
    image = read_image(data, name=name)
    return image, detector(labels).detect(image)


def faces_found(count: int) -> str:
    """ "No face found", "1 face found", "6 faces found"."""
    if count == 0:
        return "No face found"
    return f"{count} face{'' if count == 1 else 's'} found"


# The widest picture Streamlit shows. It shrinks wider ones itself, but a thin strip then comes out
# 0 px high and st.image raises.
DISPLAY_WIDTH = 1460


def for_display(image: np.ndarray) -> np.ndarray:
    """The picture at most DISPLAY_WIDTH wide and at least 1 px high, for st.image."""
    h, w = image.shape[:2]
    if w <= DISPLAY_WIDTH:
        return image
    return cv2.resize(image, (DISPLAY_WIDTH, max(1, round(h * DISPLAY_WIDTH / w))), interpolation=cv2.INTER_AREA)


def to_png(image: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes, for download buttons."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def results_json(name: str, image: np.ndarray, faces: Sequence[FaceResult], labels: str) -> str:
    """The detections of one picture as JSON text, the same document as `python -m emodetect image --json`."""
    from emodetect.detector import results_document

    return json.dumps(results_document(name, image, faces, labels), indent=2)
