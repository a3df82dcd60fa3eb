"""The detector the app shares across sessions and threads (emodetect.app.model's st.cache_resource), without a browser.

tests/test_concurrency.py drives the same sharing through the real server; these pin the causes down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from emodetect import EmotionDetector
from emodetect.imageio import read_image
from emodetect.litert import silenced_stderr
from emodetect.paths import PROJECT_DIR
from emodetect.video import iter_frames


@pytest.fixture(scope="module")
def frames(media_dir) -> list[np.ndarray]:
    """A dozen frames of one face, and a group photo of six."""
    clip = [f.image for _, f in zip(range(12), iter_frames(media_dir / "talking_woman.mp4", every=20))]
    return [*clip, read_image(media_dir / "group_selfie.jpg")]


@pytest.mark.parametrize("preset", ["video", "webcam"])
def test_one_detector_on_many_threads_gives_each_the_results_it_gives_alone(frames, preset):
    detector = EmotionDetector.load(preset=preset)
    alone = [detector.detect(f) for f in frames]
    mismatches: list[str] = []

    def run(seed: int) -> None:
        for i in np.random.default_rng(seed).permutation(len(frames)):
            got = detector.detect(frames[i])
            same = len(got) == len(alone[i]) and all(
                g.box == a.box and np.allclose(g.probs, a.probs, atol=1e-5) for g, a in zip(got, alone[i]))
            if not same:
                mismatches.append(f"thread {seed}, frame {i}: {len(got)} faces, alone {len(alone[i])}")

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not mismatches


def test_silencing_stderr_on_two_threads_at_once_gives_it_back():
    """Each new thread makes its own LiteRT interpreter inside `silenced_stderr`; overlapping, the
    second used to save the first's /dev/null as "stderr" and restore that, silencing the server for good."""
    before = os.fstat(2)

    def silence(start_s: float) -> None:
        time.sleep(start_s)
        with silenced_stderr():
            time.sleep(0.2)

    threads = [threading.Thread(target=silence, args=(start_s,)) for start_s in (0.0, 0.1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_finding_and_classifying_faces_never_imports_tensorflow(media_dir):
    """The app, the CLI and the webcam run on LiteRT alone: quick to start and ~0.7 GB lighter per process."""
    code = (
        "import sys; from emodetect import EmotionDetector; from emodetect.imageio import read_image; "
        "from emodetect.video import analyze_video; "
        f"found = EmotionDetector.load().detect(read_image({str(media_dir / 'group_selfie.jpg')!r})); "
        f"a = analyze_video({str(media_dir / 'phone_at_night.mp4')!r}, EmotionDetector.load(preset='video')); "
        "print(len(found), a.frames_analyzed, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["6", "115", "[]"], done.stdout
