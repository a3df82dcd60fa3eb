"""The seven FER-2013 emotions, their colours, and the 3-class valence grouping.

`EMOTIONS` is in the original challenge CSV order (`emotion` column 0..6), so a
label index means the same thing in the CSV, in the model's output and in every
file this project writes.
"""

from __future__ import annotations

import numpy as np

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# One colour per emotion, RGB, used by drawings and charts alike.
COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (220, 50, 47),
    "disgust": (133, 153, 0),
    "fear": (108, 113, 196),
    "happy": (250, 190, 0),
    "sad": (38, 139, 210),
    "surprise": (211, 54, 130),
    "neutral": (147, 161, 161),
}

VALENCES: tuple[str, ...] = ("positive", "negative", "neutral")
VALENCE_OF: dict[str, str] = {
    "happy": "positive",
    "angry": "negative",
    "disgust": "negative",
    "fear": "negative",
    "sad": "negative",
    "neutral": "neutral",
    "surprise": "neutral",
}
VALENCE_COLORS: dict[str, tuple[int, int, int]] = {
    "positive": (250, 190, 0),
    "negative": (220, 50, 47),
    "neutral": (147, 161, 161),
}

# VALENCE_MATRIX[i, j] = 1 when emotion i belongs to valence j.
VALENCE_MATRIX = np.array(
    [[float(VALENCE_OF[e] == v) for v in VALENCES] for e in EMOTIONS], dtype=np.float32
)


def to_valence(probs: np.ndarray) -> np.ndarray:
    """Sum 7-class probabilities (…×7) into (…×3) valence probabilities."""
    return np.asarray(probs, dtype=np.float32) @ VALENCE_MATRIX


def valence_labels(labels: np.ndarray) -> np.ndarray:
    """Map integer emotion labels to integer valence labels (index into VALENCES)."""
    return np.argmax(VALENCE_MATRIX[np.asarray(labels)], axis=-1)


# Two readings of a face, each a model trained for its own truth (models/<reading>/): what most of the FER+
# annotators chose (trained on their vote distributions), and FER-2013's original single label. Each is
# scored against its own truth in the model card; neither is a compromise between them.
READINGS: dict[str, str] = {
    "ferplus": "what most of 10 people would say",
    "fer2013": "the dataset's original single label",
}
# The reading with the higher macro recall on real photos (../shared/data/wild/ through the photo door; the
# model card states both figures and tests/test_model_card.py checks this choice against them).
DEFAULT_READING = "ferplus"


def check_reading(labels: str) -> str:
    """`labels` if it names a reading, else ValueError listing them."""
    if labels not in READINGS:
        raise ValueError(f"unknown reading {labels!r}; one of {', '.join(READINGS)}")
    return labels
