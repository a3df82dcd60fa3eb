"""Every size limit in one place; the app, the CLI and the docs read them from here.

Messages about a limit name it, so a refused visitor knows what would be accepted.
"""

import os

MAX_UPLOAD_MB = 200  # Streamlit's server.maxUploadSize (set in .streamlit/config.toml to the same)
MAX_IMAGE_PIXELS = 50_000_000  # larger images are refused before decoding (decompression-bomb guard)
MAX_DETECT_SIDE = 4096  # larger images are scaled down for face detection; boxes are mapped back
MAX_FACES = 50  # faces classified per image or frame (the largest ones)
MAX_VIDEO_SECONDS = 600
# Video analyses running at once on one server; later ones wait in line. Half the cores (at least one),
# so the webcam streams keep the rest. Operators set another number in $EMODETECT_MAX_ANALYSES.
DEFAULT_MAX_ANALYSES = max(1, (os.cpu_count() or 2) // 2)
# The most frames per second a webcam stream gets (operators: $EMODETECT_WEBCAM_FPS): a camera's usual rate,
# what a visitor alone on the server gets. With more streams or video analyses running, each gets less
# (emodetect/app/room.py).
DEFAULT_WEBCAM_FPS = 30
MAX_WEBCAM_FPS = 60


def duration_text(seconds: float) -> str:
    """ "42 s", "3 min 05 s": durations as people read them, for limit messages and progress."""
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
