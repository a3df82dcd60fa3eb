"""What the Streamlit pages share: page set-up, the cached model, the model card and cached results.

Pages only arrange widgets; everything they cache or compute lives here, once.
TensorFlow is imported only when a page first asks for the model, so the home
page (which reads the card alone) opens quickly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
import streamlit as st

from emodetect.data import Split, load_fer2013
from emodetect.imageio import read_image
from emodetect.paths import MODEL_CARD

if TYPE_CHECKING:
    from emodetect.detector import EmotionDetector, FaceResult


def setup_page(title: str) -> None:
    """The same tab title, icon and wide layout on every page (must be a page's first Streamlit call)."""
    st.set_page_config(page_title=f"{title} · emodetect", page_icon="🙂", layout="wide")


def model_card() -> dict:
    """The shipped model card (`models/model_card.json`), the only source of numbers about the model.

    Read with `json` alone: `evaluate.load_model_card` would import TensorFlow.
    """
    return json.loads(MODEL_CARD.read_text())


@st.cache_resource(show_spinner="Loading the emotion model…")
def detector() -> EmotionDetector:
    """One detector per server process, shared by all pages and sessions (it is thread-safe)."""
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load()


@st.cache_resource(show_spinner="Loading the emotion model…")
def webcam_detector() -> EmotionDetector:
    """One fast detector (preset "webcam") per server process, shared by every webcam stream.

    The page fetches it on the script thread; the WebRTC worker threads then share it safely
    (the classifier is a tf.function and each thread gets its own LiteRT interpreter).
    """
    from emodetect.detector import EmotionDetector

    return EmotionDetector.load(preset="webcam")


def rtc_configuration() -> dict:
    """The WebRTC configuration for streamlit-webrtc: ICE servers from $EMODETECT_ICE_SERVERS, else from
    the `ice_servers` secret, else none (enough on localhost; see `emodetect.live`).

    Raises ValueError (one line) when the setting is malformed.
    """
    from emodetect import live

    value = os.environ.get(live.ICE_SERVERS_ENV)
    if value is None and st.secrets.load_if_toml_exists():  # False (no error) without a secrets.toml
        value = st.secrets.get(live.ICE_SERVERS_SECRET)
    # An explicit empty list: with None, streamlit-webrtc would fetch public STUN/TURN servers itself.
    return {"iceServers": live.parse_ice_servers(value)}


@st.cache_data(max_entries=16, show_spinner="Finding faces…")
def detect_image(data: bytes, name: str) -> tuple[np.ndarray, list[FaceResult]]:
    """Decode a picture and find its faces, once per file: widget changes then cost nothing.

    Raises `InputError` (one sentence naming `name`) for anything that is not a usable image.
    """
    image = read_image(data, name=name)
    return image, detector().detect(image)


def faces_found(count: int) -> str:
    """ "No face found", "1 face found", "6 faces found"."""
    if count == 0:
        return "No face found"
    return f"{count} face{'' if count == 1 else 's'} found"


def to_png(image: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes, for download buttons."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def results_json(name: str, image: np.ndarray, faces: Sequence[FaceResult]) -> str:
    """The detections of one picture as JSON text, the same document as `python -m emodetect image --json`."""
    from emodetect.detector import results_document

    return json.dumps(results_document(name, image, faces), indent=2)


# The dataset is cached as a resource, not as data: `cache_data` would copy its ~80 MB of
# images on every rerun. Nothing modifies the arrays.
@st.cache_resource(max_entries=2, show_spinner="Reading FER-2013…")
def dataset(path: str) -> dict[str, Split]:
    """FER-2013 from a folder or CSV, read once per path. Raises `DatasetError` with a one-line reason."""
    return load_fer2013(path)


@st.cache_data(max_entries=8, show_spinner="Classifying every face of the split…")
def split_probs(path: str, split: str) -> np.ndarray:
    """N×7 probabilities of the app's classifier (flip TTA as in the card) for one split of `dataset(path)`."""
    return detector().classifier.predict(dataset(path)[split].images)


def confident_mistakes(probs: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` wrongly classified faces with the highest top probability, most confident first."""
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    return wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:count]
