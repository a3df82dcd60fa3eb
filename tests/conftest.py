"""Shared fixtures: the real data in ../shared/data, loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from emodetect.paths import PROJECT_DIR, default_data_dir  # noqa: E402

FER_DIR = default_data_dir()
MEDIA_DIR = PROJECT_DIR.parent / "shared" / "data" / "media"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (this test needs ../shared/data)")
    return path


@pytest.fixture(scope="session")
def fer_dir() -> Path:
    return _require(FER_DIR)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return _require(MEDIA_DIR)


@pytest.fixture(scope="session")
def fer(fer_dir):
    from emodetect.data import load_fer2013

    return load_fer2013(fer_dir)


@pytest.fixture(scope="session")
def classifier():
    from emodetect.classifier import EmotionClassifier

    return EmotionClassifier.load()
