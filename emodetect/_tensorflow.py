"""TensorFlow and Keras, imported without their start-up chatter on stderr.

TensorFlow's and LiteRT's C++ start-up logs (oneDNN, CUDA probing, XNNPACK)
ignore TF_CPP_MIN_LOG_LEVEL in recent releases and would break the CLI's
promise of one `error:` line on stderr, so stderr is silenced while they load.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# File descriptor 2 is one per process. Without this lock, two threads that silence it at once (two
# video analyses or webcam streams each making their LiteRT interpreter) can save each other's
# /dev/null as "the real stderr" and leave the server's stderr silenced for good.
_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ logs bypass sys.stderr).

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


# pylibsrtp (aiortc's SRTP, used by the webcam page) carries its own OpenSSL and exports its symbols.
# Loaded after TensorFlow, its calls bind to TensorFlow's BoringSSL symbols of the same names and the
# process dies with a segmentation fault in `srtp_init` (e.g. the Streamlit server, once the Image page
# has loaded the model and someone then opens the Webcam page). Loaded first, it keeps its own.
with contextlib.suppress(ImportError):
    import pylibsrtp  # noqa: F401

with silenced_stderr():
    import keras
    import tensorflow as tf

    tf.config.list_logical_devices("CPU")  # device set-up logs happen here

__all__ = ["keras", "silenced_stderr", "tf"]
