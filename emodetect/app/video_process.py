"""A video analysis in a process and a session of its own: what the app's Video page runs.

In the server's process an analysis's threads hold Python's GIL most of the time, and every other
thread waits for it at each switch: the asyncio loop that carries the webcam streams fell up to 0.8 s
behind with one analysis running, until the browsers' WebRTC checks went unanswered and streams ended
(docs/benchmarks.md, "Many visitors at once"). A child process shares no GIL; in a session of its own
(`_share_evenly`) the kernel gives it and the server even shares of the cores, and the webcam streams
step down while it runs (`emodetect.app.room`). If the server dies, the child's next progress line
fails and it ends.

The parent sends the job as one JSON line on the child's stdin; the child answers with JSON lines on
its stdout (progress, or an input error) and writes nothing else there; it leaves the result in a file.

    analysis = analyze_video_apart("clip.mp4", annotated_path="out.mp4", progress=print)
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from emodetect.errors import InputError
from emodetect.labels import DEFAULT_READING
from emodetect.limits import MAX_FACES, MAX_VIDEO_SECONDS
from emodetect.paths import PROJECT_DIR
from emodetect.video import Cancelled, Progress, Tracker, VideoAnalysis, checked_clip


def analyze_video_apart(path: str | os.PathLike, fps: float | None = None, smoothing_s: float = Tracker.smoothing_s,
                        annotated_path: str | os.PathLike | None = None, progress: Progress | None = None,
                        max_seconds: float = MAX_VIDEO_SECONDS, max_faces: int = MAX_FACES,
                        labels: str = DEFAULT_READING) -> VideoAnalysis:
    """`analyze_video(path, EmotionDetector.load(preset="video", labels=labels, max_faces=max_faces), ...)` in a
    child process.

    Same result and errors (`InputError`, `Cancelled` when `progress` returns False); a file that is no
    clip, or too long, is refused here before a process starts (~1.5 s of imports). If `progress` raises
    (Streamlit stopping a script whose visitor left), the child is killed on the way out.
    """
    checked_clip(path, max_seconds)
    job = {"path": str(path), "fps": fps, "smoothing_s": smoothing_s, "max_seconds": max_seconds,
           "max_faces": max_faces, "labels": labels,
           "annotated_path": None if annotated_path is None else str(annotated_path)}
    with tempfile.TemporaryDirectory(prefix="emodetect-analysis-") as tmp:
        job["result_path"] = str(Path(tmp) / "analysis.pickle")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR),
                                                                          os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen([sys.executable, "-m", "emodetect.app.video_process"], cwd=PROJECT_DIR, env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        try:
            child.stdin.write(json.dumps(job) + "\n")
            child.stdin.close()
            for line in child.stdout:
                message = json.loads(line)
                if "progress" in message:
                    if progress is not None and progress(*message["progress"]) is False:
                        raise Cancelled()
                elif "error" in message:
                    raise InputError(message["error"])
            status = child.wait()
            if status != 0 or not os.path.isfile(job["result_path"]):
                raise RuntimeError(f"the video analysis stopped unexpectedly (exit status {status}); "
                                   "its error is in the server's log")
            with open(job["result_path"], "rb") as f:
                return pickle.load(f)  # written by our own child, in our own private folder
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdout.close()


def _share_evenly() -> None:
    """Where Linux groups CPU time by session (autogroup: a desktop's terminal, this project's machines), the
    child's session (`start_new_session`) is a group as nice as the child, which is as nice as the server.

    With autogroup the kernel first shares the cores between sessions and only then, by niceness, among
    a session's processes: a child in the server's session spent the server's share, and the event loop that
    carries every webcam stream waited on the run queue (a 4 + 4 run, docs/benchmarks.md). In a session of
    its own the analysis gets an even share beside the server. It once ran at +10 besides, so that streams
    came first: four analyses beside four webcams then took 6.7 times as long as four alone; now the
    streams step down while analyses run (`emodetect.app.room`). Under a service manager or in a
    container, cgroups replace autogroup; there the file is absent or ignored.
    """
    try:
        Path("/proc/self/autogroup").write_text(str(os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:
        pass  # a kernel without autogroup


def _run_job() -> None:
    """The child: one job from stdin, answers on stdout; anything else printed goes to stderr."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _share_evenly()
    from emodetect.detector import EmotionDetector
    from emodetect.video import analyze_video

    job = json.loads(sys.stdin.readline())

    def report(done: int, total: int, elapsed: float) -> None:
        answers.write(json.dumps({"progress": [done, total, elapsed]}) + "\n")

    try:
        detector = EmotionDetector.load(preset="video", labels=job["labels"], max_faces=job["max_faces"])
        analysis = analyze_video(job["path"], detector, fps=job["fps"], smoothing_s=job["smoothing_s"],
                                 annotated_path=job["annotated_path"], progress=report, max_seconds=job["max_seconds"])
    except InputError as e:
        answers.write(json.dumps({"error": str(e)}) + "\n")
        return
    with open(job["result_path"], "wb") as f:
        pickle.dump(analysis, f)


if __name__ == "__main__":
    _run_job()
