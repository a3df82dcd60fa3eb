"""Training, export and evaluation: the architectures (`models`), the training loop with its checkpoints and
resume, and `export` (`train`), and the metrics and the model card (`evaluate`).

May import: the library (`emodetect.*`), TensorFlow and Keras (through `emodetect._tensorflow`), and
scikit-learn. The library never imports it; the CLI does only for `train`, `average`, `export` and `evaluate`,
and the web app only for `evaluate`'s metrics (the Dataset explorer's live confusion matrix).
"""
