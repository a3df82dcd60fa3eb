"""What each candidate model costs per face and what it scores on PublicTest, with each set of views.

How the shipped model and its test-time views are chosen: the most accurate on PublicTest among those
that cost no more per face than what the app runs now (whose classifier already uses the webcam's
budget, 3 ms per frame with one face in `frame_pipeline`, when this machine runs at its fast speed).
Cost: one face per call, as the webcam classifies a frame with one face (preprocessing included, the
crop not), median over 300 PublicTest faces after a warm-up, on one thread as the app runs each interpreter.
The ratio column is the cost against the first row's, in the same run.

    python -m benchmarks.classifier_cost [--model A.tflite --model B.tflite ...]   (default: the shipped model)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from emodetect.classifier import TTA_VIEWS, EmotionClassifier
from emodetect.data import load_fer2013
from emodetect.paths import LITE_MODEL, PROJECT_DIR, default_data_dir
from emodetect.training.evaluate import accuracy_by_views

FACES = 300


def ms_per_face(clf: EmotionClassifier, faces) -> float:
    for face in faces[:20]:  # warm-up: makes the interpreter, sizes its tensors
        clf.predict(face[None])
    times = []
    for face in faces:
        start = time.perf_counter()
        clf.predict(face[None])
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", type=Path, help="a .tflite candidate (repeatable)")
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    candidates = args.model or [LITE_MODEL]
    public = load_fer2013(args.data)["PublicTest"]
    faces = public.images[:FACES]
    loaded = {path: EmotionClassifier.load(path) for path in candidates}
    accuracy = {path: accuracy_by_views(clf, public) for path, clf in loaded.items()}
    classifiers = {(path, views): EmotionClassifier(clf.model, views)
                   for path, clf in loaded.items() for views in TTA_VIEWS}
    # Rounds interleave the candidates, so a change in this shared machine's speed meets all of them.
    costs = {key: [] for key in classifiers}
    for _ in range(args.rounds):
        for key, clf in classifiers.items():
            costs[key].append(ms_per_face(clf, faces))
    print(f"One face per call: median of {len(faces)} PublicTest faces in each of {args.rounds} interleaved rounds, "
          "median of the rounds; PublicTest accuracy of all 3,589\n")
    print("| model | views | ms per face | × first row | PublicTest accuracy |")
    print("|---|---|---|---|---|")
    baseline = statistics.median(next(iter(costs.values())))
    for (path, views), times in costs.items():
        cost = statistics.median(times)
        name = path.resolve().relative_to(PROJECT_DIR) if path.resolve().is_relative_to(PROJECT_DIR) else path
        print(f"| `{name}` | {views} | {cost:.2f} | {cost / baseline:.2f} | {accuracy[path][views]:.4f} |")


if __name__ == "__main__":
    main()
