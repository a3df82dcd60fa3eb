"""Refresh the README's pictures of the app: run the browser tests that photograph each page, then keep
the top of each screenshot, scaled down, in docs/screenshots/ (so the repository stays light).

    make screenshots                            (or: python tools/docs_screenshots.py)
    python tools/docs_screenshots.py --copy     (after a full `make test`: only keep what it took)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
# docs name → the browser test's screenshot of that page at work, and where the kept screenful starts
# (pixels of the 1400 px wide full-page screenshot: the explorer's mistakes and their maps lie far below
# its top).
PAGES = {
    "home.png": ("home.png", 0),
    "image.png": ("image-explain.png", 0),
    "video.png": ("concurrency-video-1.png", 0),
    "webcam.png": ("webcam-live.png", 0),
    "explorer.png": ("explorer-model-card.png", 0),
    "batch-results.png": ("batch-results.png", 0),
    "explorer-explain.png": ("explorer-explain.png", 1680),
}
TESTS = ["tests/test_browser.py", "tests/test_concurrency.py"]
WIDTH, HEIGHT = 1000, 720  # a screenful of the 1400×900 test window, at 1000 px wide


def main() -> int:
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT) if "--copy" not in sys.argv else None
    if run is not None and run.returncode != 0:
        print("error: the browser tests failed; docs/screenshots/ left as it was", file=sys.stderr)
        return 1
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, (source, top) in PAGES.items():
        image = cv2.imread(str(SHOTS / source))
        if image is None:
            print(f"error: no screenshot {SHOTS / source}", file=sys.stderr)
            return 1
        scale = WIDTH / image.shape[1]
        small = cv2.resize(image[top:], (WIDTH, round((image.shape[0] - top) * scale)),
                           interpolation=cv2.INTER_AREA)[:HEIGHT]
        cv2.imwrite(str(DOCS / name), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"docs/screenshots/{name} ← test-output/screenshots/{source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
