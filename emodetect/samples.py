"""Sample pictures the image page offers, read from ../shared/data/media when it is there.

Pictures are never copied into the project: on a machine without the shared
data folder the list is simply empty and the page offers uploads only.
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


def sample_images(media_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Shown name → path of each sample picture that exists (in MEDIA_DIR by default); empty when none do."""
    media_dir = Path(media_dir) if media_dir is not None else MEDIA_DIR
    paths = {name: media_dir / file for name, file in SAMPLE_FILES.items()}
    return {name: path for name, path in paths.items() if path.is_file()}
