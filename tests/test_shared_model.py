"""The detector the app shares across sessions and threads (app_support's st.cache_resource), without a browser.

tests/test_concurrency.py drives the same sharing through the real server; these pin the causes down.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from emodetect import EmotionDetector
from emodetect._tensorflow import keras, silenced_stderr
from emodetect.imageio import read_image
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


def _page() -> None:
    from emodetect import app_support

    app_support.setup_page("Test")


def test_script_runs_leave_the_keras_session_alone(monkeypatch):
    """Streamlit's own clean-up after each run would clear TensorFlow's kernels under every thread's feet."""
    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)
    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: cleared.append(args))
    app = AppTest.from_function(_page).run()
    assert not app.exception
    assert not cleared
