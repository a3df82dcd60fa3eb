"""Why this emotion? Occlusion relevance maps for face crops, and the deletion curve that measures them.

    x = preprocess.to_input([face.crop])                       # N×48×48×1
    maps = occlusion(x, classifier.predict_inputs)             # N×48×48, for each face's top class
    curves = deletion_curve(x, classifier.predict_inputs, maps)

The model is any callable `predict` (N inputs in, N×7 probabilities out), so the maps explain the shipped
LiteRT model, ensemble and test-time views included, exactly as the app runs it; nothing here imports
TensorFlow. Occlusion covers one window of the face at a time and asks the model again: a pixel's relevance
is how much the target emotion's probability drops, averaged over the windows that cover it. Positive: the
model needs that area for this emotion; negative: covering it makes the emotion more likely.

A covered pixel becomes the face's blurred copy (`blurred`), not black: the window loses its detail (the
mouth's shape) but keeps its brightness, so the model is not shown a black square it never saw in training.
Every perturbed copy of every face is concatenated and run in `batch_size` chunks, one `predict` call each,
after one call on the untouched faces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]

# The blur of the baseline, in pixels of the 48×48 input: wide enough to erase a mouth or a brow.
BASELINE_SIGMA = 4.0
BASELINE_TEXT = f"covered pixels replaced by the face blurred (Gaussian, σ = {BASELINE_SIGMA:g} px of 48)"
DELETION_STEPS = 20  # 5% of the pixels per step


def blurred(x: np.ndarray, sigma: float = BASELINE_SIGMA) -> np.ndarray:
    """Each face of the N×H×W×1 batch `x` Gaussian-blurred: the default baseline of `occlusion`."""
    out = np.empty_like(x)
    for i, face in enumerate(x):
        out[i, ..., 0] = cv2.GaussianBlur(face[..., 0], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return out


def occlusion(x: np.ndarray, predict: Predict, target: int | Sequence[int] | np.ndarray | None = None,
              window: int = 16, stride: int = 8, baseline: float | np.ndarray | None = None,
              batch_size: int = 256) -> np.ndarray:
    """N×H×W relevance of each pixel of `x` (N×H×W×1) for the class `target` (one int, N ints, or by
    default each face's top class): the drop in its probability when a `window`×`window` square at
    `stride` steps covering the pixel becomes `baseline` (a scalar or an array broadcastable to `x`;
    by default `blurred(x)`), averaged over those squares. The last row and column of squares are put
    against the edge, so every pixel is covered.

    Calls `predict` 1 + ceil(N × squares / batch_size) times.
    """
    x = _checked_inputs(x)
    height, width = x.shape[1:3]
    _check_int("window", window, 1, min(height, width))
    _check_int("stride", stride, 1, window)  # a larger stride would leave pixels no square covers
    _check_int("batch_size", batch_size, 1, None)
    masks = _window_masks(height, width, window, stride)
    original = predict(x)
    target = _targets(target, original)
    base = _baselines(baseline, x)
    picked = original[np.arange(len(x)), target]
    scores = _masked_scores(x, base, masks, target, predict, batch_size)
    drops = picked[:, None] - scores  # N×masks
    return np.einsum("nm,mhw->nhw", drops, masks) / masks.sum(axis=0)


def deletion_curve(x: np.ndarray, predict: Predict, relevance: np.ndarray,
                   target: int | Sequence[int] | np.ndarray | None = None, steps: int = DELETION_STEPS,
                   baseline: float | np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """N×(steps+1) probabilities of `target` as the most relevant pixels (by `relevance`, N×H×W) are
    replaced by `baseline` (default `blurred(x)`), 1/`steps` of them more at each step: column 0 is the
    untouched face, the last the baseline alone. A faithful map makes it fall fast; `area_under` scores it.

    Calls `predict` 1 + ceil(N × steps / batch_size) times.
    """
    x = _checked_inputs(x)
    relevance = np.asarray(relevance, np.float32)
    if relevance.shape != x.shape[:3]:
        raise ValueError(f"relevance must be N×H×W {x.shape[:3]}, got {relevance.shape}")
    _check_int("steps", steps, 1, None)
    _check_int("batch_size", batch_size, 1, None)
    original = predict(x)
    target = _targets(target, original)
    base = _baselines(baseline, x)
    pixels = relevance.shape[1] * relevance.shape[2]
    order = np.argsort(-relevance.reshape(len(x), -1), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(pixels)[None], axis=1)  # 0 = the most relevant pixel
    counts = np.round(np.arange(1, steps + 1) * pixels / steps).astype(int)

    def perturbed(flat: np.ndarray) -> np.ndarray:
        faces, step = np.divmod(flat, steps)
        covered = (rank[faces] < counts[step][:, None]).reshape(len(flat), *x.shape[1:3], 1)
        return np.where(covered, base[faces], x[faces])

    scores = _batched(perturbed, len(x) * steps, target.repeat(steps), predict, batch_size).reshape(len(x), steps)
    return np.concatenate([original[np.arange(len(x)), target][:, None], scores], axis=1)


def area_under(curves: np.ndarray) -> np.ndarray:
    """The area under each deletion curve (N×(steps+1) over a unit-long axis): lower means more faithful."""
    return np.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), axis=1)


def _checked_inputs(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim != 4 or x.shape[3] != 1:
        raise ValueError(f"x must be N×H×W×1 as preprocess.to_input makes it, got shape {x.shape}")
    return x


def _check_int(name: str, value: int, low: int, high: int | None) -> None:
    """A `ValueError` naming the argument, never an `assert` (which `python -O` skips)."""
    if not isinstance(value, int | np.integer) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")


def _targets(target: int | Sequence[int] | np.ndarray | None, original: np.ndarray) -> np.ndarray:
    if target is None:
        return original.argmax(axis=1)
    target = np.broadcast_to(np.asarray(target), (len(original),)).astype(int)
    if target.min(initial=0) < 0 or target.max(initial=0) >= original.shape[1]:
        raise ValueError(f"target must be class indices from 0 to {original.shape[1] - 1}")
    return target


def _baselines(baseline: float | np.ndarray | None, x: np.ndarray) -> np.ndarray:
    if baseline is None:
        return blurred(x)
    return np.broadcast_to(np.asarray(baseline, np.float32), x.shape)


def _window_masks(height: int, width: int, window: int, stride: int) -> np.ndarray:
    """M×H×W float32, 1 inside each square: starts at every `stride`, plus one against each far edge."""
    def starts(length: int) -> list[int]:
        return sorted(set(range(0, length - window + 1, stride)) | {length - window})

    tops, lefts = starts(height), starts(width)
    masks = np.zeros((len(tops) * len(lefts), height, width), np.float32)
    for k, (top, left) in enumerate((t, s) for t in tops for s in lefts):
        masks[k, top:top + window, left:left + window] = 1.0
    return masks


def _masked_scores(x: np.ndarray, base: np.ndarray, masks: np.ndarray, target: np.ndarray, predict: Predict,
                   batch_size: int) -> np.ndarray:
    """N×M: the target's probability for each face with each mask's pixels set to the baseline."""
    def perturbed(flat: np.ndarray) -> np.ndarray:
        faces, mask = np.divmod(flat, len(masks))
        m = masks[mask][..., None]
        return x[faces] * (1.0 - m) + base[faces] * m

    total = len(x) * len(masks)
    return _batched(perturbed, total, target.repeat(len(masks)), predict, batch_size).reshape(len(x), len(masks))


def _batched(make: Callable[[np.ndarray], np.ndarray], total: int, target: np.ndarray, predict: Predict,
             batch_size: int) -> np.ndarray:
    """`target`'s probability for each of `total` perturbed inputs, built by `make(flat indices)` one chunk of
    `batch_size` at a time (so 500 faces never sit in memory as 60,000 copies) and sent in one call each."""
    out = np.empty(total, np.float32)
    for start in range(0, total, batch_size):
        chunk = np.arange(start, min(start + batch_size, total))
        out[chunk] = predict(make(chunk).astype(np.float32))[np.arange(len(chunk)), target[chunk]]
    return out
