"""Accuracy under other lighting: PrivateTest faces re-lit, with and without the input equalisation.

Each condition changes every face's grey levels as a camera or a room would (gamma, contrast, brightness, a
shadow over one side), then the shipped model classifies them with the views it was exported for, once as
the app fed it before (the crop scaled to [0, 1]) and once as `preprocess.to_input` feeds it now (the crop
equalised first, as FER-2013's faces were). Target: every condition within 1 point of the clean faces.

    python -m benchmarks.lighting [--data FOLDER]     (from the project root)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from emodetect.classifier import EVALUATION_THREADS, EmotionClassifier
from emodetect.data import load_fer2013
from emodetect.paths import default_data_dir
from emodetect.preprocess import INPUT_SIZE, equalized, scaled


def _levels(faces: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`change` applied to grey levels in [0, 255] (float), rounded and clipped back to uint8."""
    return np.clip(np.round(change(faces.astype(np.float64))), 0, 255).astype(np.uint8)


def _shadow(faces: np.ndarray) -> np.ndarray:
    """Light from the right: the left edge at 30% of its brightness, rising linearly to full at the middle."""
    ramp = np.minimum(1.0, 0.3 + 0.7 * np.arange(INPUT_SIZE) / (INPUT_SIZE / 2))
    return _levels(faces, lambda f: f * ramp[None, None, :])


CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda faces: faces,
    "gamma 0.5 (brighter)": lambda faces: _levels(faces, lambda f: 255 * (f / 255) ** 0.5),
    "gamma 2.0 (darker)": lambda faces: _levels(faces, lambda f: 255 * (f / 255) ** 2.0),
    "contrast x0.5": lambda faces: _levels(faces, lambda f: 128 + 0.5 * (f - 128)),
    "brightness +40": lambda faces: _levels(faces, lambda f: f + 40),
    "brightness -40": lambda faces: _levels(faces, lambda f: f - 40),
    "shadow on one side": _shadow,
}
INPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "before: scaled": scaled,
    "now: equalised, scaled": lambda faces: scaled(equalized(faces)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(default_data_dir()))
    args = parser.parse_args()
    private = load_fer2013(args.data)["PrivateTest"]
    clf = EmotionClassifier.load(threads=EVALUATION_THREADS)
    accuracy = {(condition, way): float((clf.predict_inputs(feed(change(private.images))).argmax(axis=1)
                                         == private.labels).mean())
                for condition, change in CONDITIONS.items() for way, feed in INPUTS.items()}
    print(f"PrivateTest, {len(private):,} faces, the shipped model with its views ({clf.tta}); "
          "accuracy, and its change from the clean faces in points\n")
    print("| condition | " + " | ".join(INPUTS) + " |")
    print("|---|" + "---|" * len(INPUTS))
    for condition in CONDITIONS:
        cells = []
        for way in INPUTS:
            score, clean = accuracy[condition, way], accuracy["clean", way]
            cells.append(f"{score:.4f}" + ("" if condition == "clean" else f" ({100 * (score - clean):+.1f})"))
        print(f"| {condition} | " + " | ".join(cells) + " |")
    worst = {way: max(abs(accuracy[c, way] - accuracy["clean", way]) for c in CONDITIONS) for way in INPUTS}
    print("\nLargest change from clean, in points: " + "; ".join(f"{w} {100 * d:.1f}" for w, d in worst.items()))


if __name__ == "__main__":
    main()
