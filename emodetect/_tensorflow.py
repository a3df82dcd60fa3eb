"""TensorFlow and Keras, imported without their start-up chatter on stderr.

TensorFlow's C++ start-up logs (oneDNN, CUDA probing) ignore
TF_CPP_MIN_LOG_LEVEL in recent releases and would break the CLI's promise of
one `error:` line on stderr, so stderr is silenced while they load. Only
training, evaluation's model conversion and loading `.keras` files need
TensorFlow; inference runs on LiteRT alone (emodetect/litert.py).
"""

from __future__ import annotations

import contextlib

from emodetect.litert import silenced_stderr

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
