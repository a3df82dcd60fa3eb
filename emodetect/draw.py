"""Boxes, labels and small probability bars drawn onto RGB frames.

Sizes follow the image (a 4000 px photo gets thicker lines and larger text
than a 640 px webcam frame), so the drawing reads the same at any size.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emodetect.detector import FaceResult
from emodetect.labels import COLORS, EMOTIONS, VALENCE_COLORS, VALENCES

FONT = cv2.FONT_HERSHEY_SIMPLEX


def annotate(image: np.ndarray, results: Sequence[FaceResult], valence: bool = False, bars: bool = True,
             ids: Sequence[int] | None = None, copy: bool = True) -> np.ndarray:
    """Draw each face's box, label (and track id), and probability bars; returns the drawn image.

    `valence=True` shows the 3-class grouping (positive/negative/neutral)
    instead of the seven emotions. `copy=False` draws in place (the webcam's
    hot path).
    """
    out = image.copy() if copy else image
    h, w = out.shape[:2]
    unit = max(h, w) / 640  # 1.0 on a 640 px frame
    thickness = max(1, round(2 * unit))
    font_scale = 0.5 * unit
    for i, face in enumerate(results):
        names, probs, palette = ((VALENCES, face.valence_probs, VALENCE_COLORS) if valence
                                 else (EMOTIONS, face.probs, COLORS))
        top = int(np.argmax(probs))
        color = palette[names[top]]
        x, y, bw, bh = face.box
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thickness, cv2.LINE_AA)
        text = f"{names[top]} {probs[top]:.0%}"
        if ids is not None:
            text = f"#{ids[i]} {text}"
        _label(out, text, x, y, color, font_scale, thickness)
        if bars:
            _bars(out, names, probs, palette, face.box, unit)
    return out


def _label(out: np.ndarray, text: str, x: int, y: int, color, scale: float, thickness: int) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    top = y - th - base - 2 * thickness
    if top < 0:  # no room above the box: put the label inside its top edge
        top = y
    cv2.rectangle(out, (x, top), (x + tw + 2 * thickness, top + th + base + 2 * thickness), color, -1)
    cv2.putText(out, text, (x + thickness, top + th + thickness), FONT, scale, _ink(color), thickness, cv2.LINE_AA)


def _bars(out: np.ndarray, names: Sequence[str], probs: np.ndarray, palette: dict, box, unit: float) -> None:
    """A small panel of one bar per class beside the box (right if it fits, else left, else inside)."""
    h, w = out.shape[:2]
    x, y, bw, bh = box
    row = round(min(11 * unit, max(8, bh / 7)))  # about as tall as the face, never huge
    width = row * 6
    scale = row / 28
    text_w = cv2.getTextSize("surprise", FONT, scale, 1)[0][0] + 4
    panel_w = text_w + width + 4
    panel_h = row * len(names) + 4
    px = x + bw + 4 if x + bw + 4 + panel_w <= w else x - panel_w - 4
    px = min(max(px, 0), max(0, w - panel_w))
    py = min(max(y, 0), max(0, h - panel_h))
    region = out[py:py + panel_h, px:px + panel_w]
    region[:] = (region * 0.45).astype(np.uint8)  # darken the background so the bars read on any picture
    for i, (name, p) in enumerate(zip(names, probs)):
        ry = py + 2 + i * row
        cv2.putText(out, name, (px + 2, ry + row - 3), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
        length = int(round(float(p) * width))
        if length:
            cv2.rectangle(out, (px + text_w, ry + 2), (px + text_w + length, ry + row - 2), palette[name], -1)


def _ink(color) -> tuple[int, int, int]:
    """Black or white text, whichever reads better on `color`."""
    r, g, b = color
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


# Relevance colours: red where covering the area lowers the explained emotion, blue where it raises it.
SUPPORTS = (230, 30, 30)
OPPOSES = (30, 90, 230)
HOW_TO_READ = ("Red: what the model relied on for this emotion (blurring that area lowers the emotion's "
               "probability); blue: what speaks against it; untinted: what did not matter.")


# The largest change of probability an occlusion map may show and still be flat: the int8 models quantize their
# activations per call, so the same face in another batch answers up to ~0.001 differently (a uniform crop's
# map peaked at 0.0009). A map whose every patch moves the answer by less than this tints nothing.
RELEVANCE_NOISE = 0.005


def relevance_overlay(crop: np.ndarray, relevance: np.ndarray, size: int = 144) -> np.ndarray:
    """A size×size RGB picture of the gray `crop` (what the model saw) tinted by its `relevance` map
    (H×W, from `explain.occlusion`), scaled by the map's largest magnitude: a flat map (within
    `RELEVANCE_NOISE`) tints nothing."""
    gray = cv2.resize(np.asarray(crop, np.uint8), (size, size), interpolation=cv2.INTER_LINEAR)
    rgb = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    relevance = cv2.resize(np.asarray(relevance, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    peak = float(np.abs(relevance).max())
    strength = relevance / peak if peak > RELEVANCE_NOISE else np.zeros_like(relevance)
    alpha = 0.75 * np.abs(strength)[..., None]
    color = np.where(strength[..., None] >= 0, np.float32(SUPPORTS), np.float32(OPPOSES))
    return np.round(rgb * (1 - alpha) + color * alpha).astype(np.uint8)


def explanation_sheet(crops: Sequence[np.ndarray], maps: np.ndarray, labels: Sequence[str],
                      size: int = 144) -> np.ndarray:
    """One row per face: its label, the crop the model saw and the crop tinted by its map, with how to
    read the colours at the bottom: the picture `python -m emodetect image --explain` writes."""
    pad, band = 8, 26
    width = 2 * size + 3 * pad
    rows = []
    for crop, relevance, label in zip(crops, maps, labels):
        row = np.full((band + size + pad, width, 3), 255, np.uint8)
        cv2.putText(row, label, (pad, band - 8), FONT, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        face = cv2.resize(np.asarray(crop, np.uint8), (size, size), interpolation=cv2.INTER_LINEAR)
        row[band:band + size, pad:pad + size] = face[..., None]
        row[band:band + size, 2 * pad + size:2 * pad + 2 * size] = relevance_overlay(crop, relevance, size)
        rows.append(row)
    legend = np.full((3 * band, width, 3), 255, np.uint8)
    for i, (text, color) in enumerate([("red: relied on", SUPPORTS), ("blue: speaks against", OPPOSES),
                                       ("covered = blurred face", (0, 0, 0))]):
        cv2.putText(legend, text, (pad, (i + 1) * band - 8), FONT, 0.5, color, 1, cv2.LINE_AA)
    return np.concatenate([*rows, legend])
