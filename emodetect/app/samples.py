"""Sample pictures and clips the image and video pages offer, read from ../shared/data/media when it is there.

Media are never copied into the project: on a machine without the shared
data folder the lists are simply empty and the pages offer uploads only.
"""

from __future__ import annotations

import os
from pathlib import Path

from emodetect.paths import PROJECT_DIR

MEDIA_DIR = PROJECT_DIR.parent / "shared" / "data" / "media"

# Shown name → file name, in the order the page lists them.
SAMPLE_FILES = {
    "Smiling man (1 face)": "smiling_man.jpg",
    "Group selfie (6 faces)": "group_selfie.jpg",
    "Cartoon (no people)": "cartoon_no_people.jpg",
}
SAMPLE_VIDEO_FILES = {
    "Phone at night (5 s, 1 face)": "phone_at_night.mp4",
    "Talking woman (15 s, 1 face)": "talking_woman.mp4",
}


def sample_images(media_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Shown name → path of each sample picture that exists (in MEDIA_DIR by default); empty when none do."""
    return _existing(SAMPLE_FILES, media_dir)


def sample_videos(media_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Shown name → path of each sample clip that exists (in MEDIA_DIR by default); empty when none do."""
    return _existing(SAMPLE_VIDEO_FILES, media_dir)


def _existing(files: dict[str, str], media_dir: str | os.PathLike | None) -> dict[str, Path]:
    media_dir = Path(media_dir) if media_dir is not None else MEDIA_DIR
    paths = {name: media_dir / file for name, file in files.items()}
    return {name: path for name, path in paths.items() if path.is_file()}
