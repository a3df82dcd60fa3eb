"""Are the occlusion maps faithful to the model? Deletion curves and a randomised-weights sanity check.

On a fixed sample of PrivateTest faces (seed 0), each face's map explains the class the shipped model
predicts. Deletion: the most relevant pixels are replaced by the face's blurred copy first, 5% more at each
step, and the predicted class's probability is read after each step; the area under that curve is lower
when the map finds what the model needs. Ours is compared with two orders that know nothing of the model:
random pixels, and a centred Gaussian blob (faces are centred, so "the middle matters" is a fair rival).
Sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): maps of the same architecture with
randomly initialised weights (Keras's initialisers, seed 0, converted to LiteRT as `export` does; this needs
TensorFlow, the app does not) must not look like the trained model's: Spearman rank correlation per face.
Time per map: one face per call as the app makes it, median over the first 20 faces, nothing in parallel.

    python -m benchmarks.explain [--faces 500] [--threads 2]     (from the project root)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from emodetect.classifier import EmotionClassifier, recorded_views
from emodetect.data import load_fer2013
from emodetect.explain import BASELINE_TEXT, area_under, deletion_curve, occlusion
from emodetect.paths import LITE_MODEL, default_data_dir
from emodetect.preprocess import to_input

SEED = 0
TIMED_FACES = 20
BLOB_SIGMA = 12.0  # pixels of the 48×48 face: a blob about the size of the eyes-nose-mouth area


def randomised_classifier(tta: str) -> EmotionClassifier:
    """The shipped ensemble's architecture (resnet + resnet_narrow, probabilities averaged) with the
    weights it starts training from, as LiteRT with int8 weights like the shipped file."""
    from emodetect._tensorflow import keras
    from emodetect.training import models

    keras.utils.set_random_seed(SEED)
    model = models.average([models.build("resnet"), models.build("resnet_narrow")], name="randomised")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "randomised.keras"
        model.save(path)
        return EmotionClassifier.load(path, tta=tta)


def in_parallel(threads: int, fn, x: np.ndarray, *per_face: np.ndarray) -> np.ndarray:
    """`fn(x, *per_face)` computed on `threads` slices of the faces at once (each thread has its own
    LiteRT interpreter), concatenated: the same numbers as one call, sooner."""
    parts = np.array_split(np.arange(len(x)), threads)
    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(lambda idx: fn(x[idx], *(a[idx] for a in per_face)), parts)))


def ms_per_map(predict, x: np.ndarray) -> float:
    occlusion(x[:1], predict)  # warm-up: sizes the interpreter's tensors
    times = []
    for face in x[:TIMED_FACES]:
        start = time.perf_counter()
        occlusion(face[None], predict)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([spearmanr(p.ravel(), q.ravel()).statistic for p, q in zip(a, b)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2, help="threads for the maps and curves (not the timing)")
    args = parser.parse_args()

    split = load_fer2013(default_data_dir())["PrivateTest"]
    rng = np.random.default_rng(SEED)
    picked = np.sort(rng.choice(len(split), args.faces, replace=False))
    x = to_input(split.images[picked])
    trained = EmotionClassifier.load()
    predict = trained.predict_inputs
    target = predict(x).argmax(axis=1)
    ms_trained = ms_per_map(predict, x)

    started = time.perf_counter()
    ours = in_parallel(args.threads, lambda f, t: occlusion(f, predict, t), x, target)
    randomised = randomised_classifier(recorded_views(LITE_MODEL))
    ms_random = ms_per_map(randomised.predict_inputs, x)
    theirs = in_parallel(args.threads, lambda f, t: occlusion(f, randomised.predict_inputs, t), x, target)
    shuffled = rng.random(ours.shape).astype(np.float32)
    yy, xx = np.mgrid[:48, :48] - 23.5
    blob = np.broadcast_to(np.exp(-(xx ** 2 + yy ** 2) / (2 * BLOB_SIGMA ** 2)), ours.shape).astype(np.float32)
    maps = {"occlusion (ours), trained model": ours, "random pixel order": shuffled,
            "centred Gaussian blob": blob, "occlusion, randomised weights": theirs}
    areas = {name: area_under(in_parallel(args.threads, lambda f, r, t: deletion_curve(f, predict, r, t),
                                          x, relevance, target))
             for name, relevance in maps.items()}
    minutes = (time.perf_counter() - started) / 60

    print(f"{args.faces} PrivateTest faces (seed {SEED}), each explained for the class the shipped model predicts; "
          f"occlusion: 16×16 squares every 8 px, {BASELINE_TEXT}. Deletion: 5% of the pixels per step, most "
          "relevant first, into the same blurred copy; area under the predicted class's probability.\n")
    print("| map | deletion AUC (mean ± s.e.; lower = more faithful) | faces below random order "
          "| Spearman ρ with ours (median) | ms per map |")
    print("|---|---|---|---|---|")
    times = {"occlusion (ours), trained model": f"{ms_trained:.0f}",
             "occlusion, randomised weights": f"{ms_random:.0f}"}
    for name, area in areas.items():
        below = "—" if name == "random pixel order" else f"{np.mean(area < areas['random pixel order']):.0%}"
        rho = "1" if name.startswith("occlusion (ours)") else f"{np.median(spearman(ours, maps[name])):.2f}"
        print(f"| {name} | {area.mean():.3f} ± {area.std(ddof=1) / np.sqrt(len(area)):.3f} | {below} | {rho} "
              f"| {times.get(name, '—')} |")
    print(f"\nms per map: one face per call, median of {TIMED_FACES}, {trained.tta} views; "
          f"maps and curves took {minutes:.1f} min on {args.threads} threads.")


if __name__ == "__main__":
    main()
