"""emodetect: facial emotion recognition on FER-2013, from face crops to live video.

    from emodetect import EMOTIONS, EmotionClassifier
    probs = EmotionClassifier.load().predict(faces)   # N×7, EMOTIONS order

    from emodetect import EmotionDetector
    faces = EmotionDetector.load().detect(rgb_image)  # one result per face, largest first

The model runs on LiteRT: finding and classifying faces never imports
TensorFlow (only training, export and evaluation do).
"""

from emodetect.labels import EMOTIONS, VALENCES

__version__ = "0.2.0"  # the one place: pyproject.toml reads it, CHANGELOG.md has its entry

__all__ = ["EMOTIONS", "VALENCES", "EmotionClassifier", "EmotionDetector", "__version__"]


def __getattr__(name: str):
    if name == "EmotionClassifier":
        from emodetect.classifier import EmotionClassifier

        return EmotionClassifier
    if name == "EmotionDetector":
        from emodetect.detector import EmotionDetector

        return EmotionDetector
    raise AttributeError(f"module 'emodetect' has no attribute {name!r}")
