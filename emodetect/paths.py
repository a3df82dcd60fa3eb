"""Where things live: the shipped model, its card, and the default FER-2013 location."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_DIR / "models"
DEFAULT_MODEL = MODELS_DIR / "emodetect.keras"
MODEL_CARD = MODELS_DIR / "model_card.json"


def default_data_dir() -> Path:
    """FER-2013 when no path is given: $EMODETECT_DATA, else ../shared/data/fer2013 beside the project."""
    env = os.environ.get("EMODETECT_DATA")
    return Path(env) if env else PROJECT_DIR.parent / "shared" / "data" / "fer2013"
