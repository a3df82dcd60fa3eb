"""TensorFlow and Keras, imported without their start-up chatter on stderr.

TensorFlow's and LiteRT's C++ start-up logs (oneDNN, CUDA probing, XNNPACK)
ignore TF_CPP_MIN_LOG_LEVEL in recent releases and would break the CLI's
promise of one `error:` line on stderr, so stderr is silenced while they load.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ logs bypass sys.stderr)."""
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


with silenced_stderr():
    import keras
    import tensorflow as tf

    tf.config.list_logical_devices("CPU")  # device set-up logs happen here

__all__ = ["keras", "silenced_stderr", "tf"]
