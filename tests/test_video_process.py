"""The Video page's analysis in a child process: the same answers as in this process, at a lower priority,
and no child left running once the visitor leaves."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from emodetect.app import video_process
from emodetect.errors import InputError
from emodetect.video import Cancelled, analyze_video

CLIP = "phone_at_night.mp4"  # 5 s, one face


@pytest.fixture
def children(monkeypatch) -> list[subprocess.Popen]:
    """Every process `analyze_video_apart` starts, to look at while and after it runs."""
    started = []

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(video_process.subprocess, "Popen", Recorded)
    return started


def test_the_child_analyses_a_clip_as_this_process_does_in_a_session_of_its_own(media_dir, tmp_path, children):
    from emodetect.detector import EmotionDetector

    niceness, sessions, groups = [], set(), set()
    autogroup = Path("/proc/self/autogroup")

    def progress(done: int, total: int, elapsed: float) -> None:
        niceness.append(os.getpriority(os.PRIO_PROCESS, children[0].pid))
        sessions.add(os.getsid(children[0].pid))
        if autogroup.exists():
            groups.add(tuple(Path(f"/proc/{children[0].pid}/autogroup").read_text().split()))

    annotated = tmp_path / "annotated.mp4"
    apart = video_process.analyze_video_apart(media_dir / CLIP, fps=5, annotated_path=annotated, progress=progress)
    here = analyze_video(media_dir / CLIP, EmotionDetector.load(preset="video"), fps=5)
    pd.testing.assert_frame_equal(apart.timeline, here.timeline)
    assert (apart.info, apart.frames_analyzed) == (here.info, here.frames_analyzed)
    assert annotated.stat().st_size > 10_000
    assert len(niceness) == apart.frames_analyzed
    child_niceness = os.getpriority(os.PRIO_PROCESS, 0)  # the server's: the webcams step down instead
    assert set(niceness) == {child_niceness}
    # A session of its own, so that where the kernel shares the cores by session first (autogroup) the
    # child does not spend the server's share; that session's group is as nice as the child.
    assert sessions - {os.getsid(0)} == sessions and len(sessions) == 1
    if autogroup.exists():
        ours = autogroup.read_text().split()
        assert len(groups) == 1 and groups != {tuple(ours)}
        assert groups.pop()[-1] == str(child_niceness)
    assert children[0].returncode == 0


def test_a_file_that_is_not_a_video_is_the_same_input_error(tmp_path, children):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    with pytest.raises(InputError) as apart:
        video_process.analyze_video_apart(notes)
    with pytest.raises(InputError) as here:
        from emodetect.detector import EmotionDetector

        analyze_video(notes, EmotionDetector.load(preset="video"))
    assert str(apart.value) == str(here.value)


class VisitorLeft(Exception):
    """What Streamlit raises in a script whose visitor left or pressed another button."""


@pytest.mark.parametrize("leave", ["cancel", "raise"])
def test_a_visitor_who_leaves_mid_clip_leaves_no_process_running(media_dir, children, leave):
    def progress(done: int, total: int, elapsed: float) -> bool:
        if done == 3:
            if leave == "raise":
                raise VisitorLeft()
            return False
        return True

    with pytest.raises(Cancelled if leave == "cancel" else VisitorLeft):
        video_process.analyze_video_apart(media_dir / CLIP, progress=progress)
    (child,) = children
    assert child.returncode == -signal.SIGKILL  # stopped mid-clip, and reaped
