"""Where things live: the shipped model (Keras and LiteRT), its card, and the default FER-2013 location."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Installed from a wheel, the shipped model lies inside the package (emodetect/shipped, pyproject.toml);
# in a checkout it is the project's models/.
INSTALLED_MODELS = Path(__file__).resolve().parent / "shipped"
MODELS_DIR = INSTALLED_MODELS if INSTALLED_MODELS.is_dir() else PROJECT_DIR / "models"
# The trained Keras model (training, export and evaluation read it) and what inference runs: the same
# model converted to LiteRT with int8 weights by `python -m emodetect export` (see classifier.keras_to_lite).
KERAS_MODEL = MODELS_DIR / "emodetect.keras"
LITE_MODEL = KERAS_MODEL.with_suffix(".tflite")
MODEL_CARD = MODELS_DIR / "model_card.json"


def default_data_dir() -> Path:
    """FER-2013 when no path is given: $EMODETECT_DATA, else ../shared/data/fer2013 beside the project."""
    env = os.environ.get("EMODETECT_DATA")
    return Path(env) if env else PROJECT_DIR.parent / "shared" / "data" / "fer2013"


# The FER+ crowd votes for the faces of ../shared/data/fer2013 (read-only shared data; see its README).
FERPLUS_VOTES = PROJECT_DIR.parent / "shared" / "data" / "ferplus" / "fer2013plus_votes.csv"
