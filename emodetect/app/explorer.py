"""The Dataset explorer's work: the operator's FER-2013 copies or a visitor's CSV, read once; every face of a split
classified in a reading; the FER+ votes beside them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from emodetect.app import roots
from emodetect.app.model import detector
from emodetect.app.settings import data_roots
from emodetect.data import (
    DatasetError,
    FerPlus,
    Split,
    ferplus_for,
    load_csv_bytes,
    load_fer2013,
    load_ferplus_votes,
    votes_text,
)
from emodetect.labels import EMOTIONS
from emodetect.paths import FERPLUS_VOTES


# Datasets are cached as resources, not as data: `cache_data` would copy their ~80 MB of images on
# every rerun. Nothing modifies the arrays.
@st.cache_resource(max_entries=2, show_spinner="Reading FER-2013…")
def dataset(label: str) -> dict[str, Split]:
    """The configured FER-2013 copy named `label` (`data_roots`), read once. Raises `NotAvailable` for
    any other name, and `DatasetError` with a one-line reason that names the copy, not its server path."""
    root = roots.by_label(data_roots(), label)
    try:
        return load_fer2013(root.path)
    except DatasetError as e:
        raise DatasetError(str(e).replace(str(root.path), label)) from None


def upload_key(data: bytes) -> str:
    """The cache key of an uploaded file's contents."""
    return "upload:" + hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=2, show_spinner="Reading your CSV…")
def uploaded_dataset(key: str, name: str, _data: bytes) -> dict[str, Split]:
    """A visitor's `fer2013.csv`, read in memory once per contents (`key` from `upload_key`; the bytes
    themselves are not hashed again). Never written to disk."""
    return load_csv_bytes(_data, name)


@st.cache_data(max_entries=8, show_spinner="Classifying every face of the split…")
def split_probs(key: str, split: str, labels: str, _splits: dict[str, Split]) -> np.ndarray:
    """N×7 probabilities in the reading `labels` for one split of the dataset cached under `key` (a `data_roots`
    label or an `upload_key`), with the views the model was exported for: as the card's headline numbers
    score it."""
    from emodetect.classifier import recorded_views
    from emodetect.paths import lite_model

    return detector(labels).classifier.with_views(recorded_views(lite_model(labels))).predict(_splits[split].images)


def confident_mistakes(probs: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` wrongly classified faces with the highest top probability, most confident first."""
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    return wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:count]


@st.cache_resource(show_spinner="Reading the FER+ votes…")
def ferplus_votes() -> dict[str, dict[str, int]]:
    """The FER+ votes of the shared data (`data.load_ferplus_votes`), read once; empty where the file is absent."""
    return load_ferplus_votes(FERPLUS_VOTES) if FERPLUS_VOTES.is_file() else {}


def face_votes(key: str, split: Split, index: int) -> dict[str, int] | None:
    """One face's FER+ votes, most first, for the dataset cached under `key`; None where FER+ has none for it:
    only faces of a configured FER-2013 folder laid out like the shared copy have votes (not a CSV's rows)."""
    root = next((r.path for r in data_roots() if r.label == key), None)
    try:
        return ferplus_votes().get(Path(split.sources[index]).relative_to(root).as_posix()) if root else None
    except ValueError:  # not a file under the folder: a CSV's row
        return None


@st.cache_data(max_entries=8, show_spinner=False)
def split_ferplus(key: str, split: str, _splits: dict[str, Split]) -> FerPlus | None:
    """The FER+ annotators' distributions and pluralities for one split of the dataset cached under `key`
    (`data.ferplus_for`); None where no face of it has a plurality to score against."""
    root = next((r.path for r in data_roots() if r.label == key), None)
    if root is None:
        return None
    matched = ferplus_for(_splits[split], root, ferplus_votes())
    return matched if matched.scored.any() else None


def mistake_caption(split: Split, index: int, probs: np.ndarray, key: str) -> str:
    """ "sad → neutral 91% · FER+ votes: neutral 6, sad 3, angry 1" under one mistake's map (`face_votes`)."""
    caption = f"{EMOTIONS[split.labels[index]]} → {EMOTIONS[int(probs.argmax())]} {probs.max():.0%}"
    votes = face_votes(key, split, index)
    return f"{caption} · FER+ votes: {votes_text(votes)}" if votes else caption
