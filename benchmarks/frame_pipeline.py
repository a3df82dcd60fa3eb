"""Per-frame speed of the live pipeline, ours beside the `fer` package's, in one run.

Frames: the first 200 of talking_woman.mp4, resized to 640×480 (one face each).
Ours: what the webcam callback runs (`live.FrameAnalyser` on EmotionDetector(preset="webcam")) —
detection, classification (crop + CNN with its four test-time views), smoothing, drawing.
Theirs: fer's Haar cascade + mini-Xception (its own code, in benchmarks/.peer-venv; see
peer.py). Medians over the frames.

    python -m benchmarks.frame_pipeline [--n 200]     (from the project root)
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from benchmarks.peer import run_peer
from emodetect import faces as face_detection
from emodetect.app.live import FrameAnalyser
from emodetect.detector import EmotionDetector
from emodetect.draw import annotate
from emodetect.paths import PROJECT_DIR
from emodetect.video import iter_frames

VIDEO = PROJECT_DIR.parent / "shared" / "data" / "media" / "talking_woman.mp4"
FPS = 30  # the frames' pace for the analyser's smoothing


def frames_640x480(n: int) -> list[np.ndarray]:
    frames = []
    for frame in iter_frames(VIDEO):
        frames.append(cv2.resize(frame.image, (640, 480), interpolation=cv2.INTER_LINEAR))
        if len(frames) == n:
            break
    return frames


def ours(frames: list[np.ndarray]) -> dict:
    det = EmotionDetector.load(preset="webcam")
    analyser = FrameAnalyser(det)
    for frame in frames[:5]:  # warm-up: traces the classifier, creates the interpreters
        annotate(frame, det.detect(frame))
    detect_ms, classify_ms, draw_ms, total_ms, found = [], [], [], [], 0
    for i, frame in enumerate(frames):
        t0 = time.perf_counter()
        faces = det.find_faces(frame)
        t1 = time.perf_counter()
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        det.classifier.predict([face_detection.crop(gray, f, det.crop_margin, det.level_eyes) for f in faces])
        t2 = time.perf_counter()
        results = analyser(frame, i / FPS)  # the webcam callback's call: the total below
        t3 = time.perf_counter()
        annotate(frame, results, copy=False)  # drawing alone (drawn over again)
        t4 = time.perf_counter()
        detect_ms.append((t1 - t0) * 1e3)
        classify_ms.append((t2 - t1) * 1e3)
        draw_ms.append((t4 - t3) * 1e3)
        total_ms.append((t3 - t2) * 1e3)
        found += bool(results)
    return {"detect": statistics.median(detect_ms), "classify": statistics.median(classify_ms),
            "draw": statistics.median(draw_ms), "total": statistics.median(total_ms), "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    frames = frames_640x480(args.n)
    mine = ours(frames)
    fer = run_peer(["frames", "--video", str(VIDEO), "--size", "640x480", "--n", str(args.n)])
    theirs = {"detect": fer["detect_ms"]["median"], "classify": fer["classify_ms"]["median"],
              "total": fer["total_ms"]["median"], "found": fer["frames_with_face"]}
    n = len(frames)
    print(f"Per 640×480 frame, one face, median of {n} frames of talking_woman.mp4 (same run)\n")
    print("| measure | emodetect | fer | ours / fer |")
    print("|---|---|---|---|")
    for key, name in [("detect", "detection ms"), ("classify", "classification ms"),
                      ("total", "detection + classification (+ smoothing, drawing for ours) ms")]:
        print(f"| {name} | {mine[key]:.2f} | {theirs[key]:.2f} | {mine[key] / theirs[key]:.2f} |")
    print(f"| drawing ms | {mine['draw']:.2f} | – | – |")
    print(f"| frames per second | {1000 / mine['total']:.0f} | {1000 / theirs['total']:.0f} | "
          f"{theirs['total'] / mine['total']:.1f}× faster |")
    print(f"| frames with a face found | {mine['found']}/{n} | {theirs['found']}/{n} | |")


if __name__ == "__main__":
    main()
