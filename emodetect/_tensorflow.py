"""TensorFlow and Keras, imported without their start-up chatter on stderr.

TensorFlow's C++ start-up logs (oneDNN, CUDA probing) ignore
TF_CPP_MIN_LOG_LEVEL in recent releases and would break the CLI's promise of
one `error:` line on stderr, so stderr is silenced for the import alone.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _quiet_import():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import tensorflow as tf

        tf.config.list_logical_devices("CPU")  # device set-up logs happen here, still silenced
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras


tf, keras = _quiet_import()
