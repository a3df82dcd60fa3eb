"""Where things live: the shipped models (one per reading), their card, and the default FER-2013 location."""

from __future__ import annotations

import os
from pathlib import Path

from emodetect.labels import DEFAULT_READING, check_reading

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Installed from a wheel, the shipped model lies inside the package (emodetect/shipped, pyproject.toml);
# in a checkout it is the project's models/.
INSTALLED_MODELS = Path(__file__).resolve().parent / "shipped"
MODELS_DIR = INSTALLED_MODELS if INSTALLED_MODELS.is_dir() else PROJECT_DIR / "models"
MODEL_CARD = MODELS_DIR / "model_card.json"


def lite_model(labels: str = DEFAULT_READING) -> Path:
    """The model inference runs for the reading `labels` (`labels.READINGS`): models/<labels>/emodetect.tflite,
    written with the training.json it is described by (views, reading, members) by `python -m emodetect
    export`, which converts the runs' Keras networks to LiteRT with int8 weights (classifier.keras_to_lite)."""
    return MODELS_DIR / check_reading(labels) / "emodetect.tflite"


def keras_model(labels: str = DEFAULT_READING) -> Path:
    """Where `export` writes the reading's Keras ensemble, beside its `.tflite`. Not committed: it is remade
    from the runs committed in runs/ (models/runs.md), and nothing the app or the CLI runs reads it."""
    return lite_model(labels).with_suffix(".keras")


LITE_MODEL = lite_model()


def default_data_dir() -> Path:
    """FER-2013 when no path is given: $EMODETECT_DATA, else ../shared/data/fer2013 beside the project."""
    env = os.environ.get("EMODETECT_DATA")
    return Path(env) if env else PROJECT_DIR.parent / "shared" / "data" / "fer2013"


# Real photos of real people, one labelled emotion each: the real-world yardstick the card scores every door on
# (evaluation and choosing only, never training; see its README).
WILD_PHOTOS = PROJECT_DIR.parent / "shared" / "data" / "wild"

# The FER+ crowd votes for the faces of ../shared/data/fer2013 (read-only shared data; see its README).
FERPLUS_VOTES = PROJECT_DIR.parent / "shared" / "data" / "ferplus" / "fer2013plus_votes.csv"
