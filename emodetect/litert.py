"""LiteRT (TensorFlow Lite) models, run with `ai-edge-litert`: BlazeFace and the emotion classifier.

Inference needs nothing else: TensorFlow is not imported to find or classify faces, which keeps the
app, the CLI and the webcam quick to start and ~0.7 GB lighter. A LiteRT interpreter is not
thread-safe, so a `LiteModel` gives each thread its own (webcam viewers and video workers each
run on their own thread).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# File descriptor 2 is one per process. Without this lock, two threads that silence it at once (two
# video analyses or webcam streams each making their LiteRT interpreter) can save each other's
# /dev/null as "the real stderr" and leave the server's stderr silenced for good.
_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration: TensorFlow's and LiteRT's C++ start-up
    logs bypass `sys.stderr` and would break the CLI's promise of one `error:` line.

    One thread at a time; other threads' writes to stderr meanwhile are lost too, so keep it short.
    """
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        from tensorflow.lite.python.interpreter import Interpreter
    return Interpreter


class LiteModel:
    """One `.tflite` model (a file or its bytes), shareable across threads: each thread gets its own
    interpreter, made on that thread's first call. Single input; outputs in the model's order.

    `threads`: the CPU threads each call may use. One in the app, whose calls are many and small and run
    side by side (viewers, analyses); all cores for evaluation's few large batches (half the time on two)."""

    def __init__(self, model: str | os.PathLike | bytes, threads: int = 1):
        self._source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(Path(model))}
        self._threads = threads
        self._local = threading.local()
        self.output_shapes = [tuple(d["shape"]) for d in self._interpreter().get_output_details()]

    def _interpreter(self):
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            with silenced_stderr():  # LiteRT announces its XNNPACK delegate on stderr
                interpreter = _interpreter_class()(num_threads=self._threads, **self._source)
                interpreter.allocate_tensors()
            self._local.interpreter = interpreter
            self._local.input = interpreter.get_input_details()[0]["index"]
            self._local.outputs = [d["index"] for d in interpreter.get_output_details()]
            self._local.shape = tuple(int(n) for n in interpreter.get_input_details()[0]["shape"])
        return interpreter

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on one input array (its shape may change between calls: the batch size, say)."""
        interpreter = self._interpreter()
        local = self._local
        if x.shape != local.shape:
            interpreter.resize_tensor_input(local.input, x.shape)
            interpreter.allocate_tensors()
            local.shape = x.shape
        interpreter.set_tensor(local.input, x)
        interpreter.invoke()
        return [interpreter.get_tensor(i) for i in local.outputs]
