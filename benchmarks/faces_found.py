"""Faces found at every distance, by each door, beside the `fer` package's Haar cascade, in one run.

Sets (all real pictures; the variants are made here from the shared media):
- wild: ../shared/data/wild, 1,366 labelled close-up photos (evaluation only, never trained on).
- FER-2013 PublicTest faces upscaled to 350 px with no padding (close-ups too: the face fills the frame).
- media: smiling_man.jpg as it is, cut inside his face box (forehead and chin off), that cut as a 160-px
  thumbnail and turned by 90°, 180° and 270°; the group selfie at 640×480, turned by 90°, and three
  selfies side by side (18 faces); talking_woman.mp4 cut to a square narrower than her face, frame by
  frame (the close-up clip).
- no face: the cartoon (as it is and turned), blank frames, the test corpus's no-face pictures.

Doors: photo = EmotionDetector(preset="photo").find_faces; video and webcam = their presets, on a clip
through `faces.FaceFollower` as `analyze_video` and `live.FrameAnalyser` run it. fer = its own
`detect_emotions` (Haar, minSize 50×50) in benchmarks/.peer-venv, on the same pictures as PNG files.
End to end on the wild set: the photo door's label of the largest face against the image's label, a
missed face counted wrong (fer the same with its own pipeline); macro recall over the classes with at
least 20 images.

    python -m benchmarks.faces_found [--fer2013 N]     (from the project root; N: first N PublicTest faces)
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.peer import run_peer
from emodetect import faces as face_detection
from emodetect.detector import EmotionDetector
from emodetect.imageio import read_image
from emodetect.paths import PROJECT_DIR
from emodetect.training.evaluate import MIN_CLASS_PHOTOS, accuracy_and_macro_recall, wild_photos
from emodetect.video import iter_frames

SHARED = PROJECT_DIR.parent / "shared" / "data"
MEDIA = SHARED / "media"
WILD = SHARED / "wild"
DOORS = ("photo", "video", "webcam")


# --- the variants -------------------------------------------------------------------------------------------

@functools.cache
def _photo_faces() -> face_detection.FaceDetector:
    return face_detection.FaceDetector("photo")


def face_box(image: np.ndarray) -> tuple[float, float, float, float]:
    """The largest face's box in a picture that holds one (found by the photo door's detector, made once)."""
    return _photo_faces()(image)[0].box


def cut_inside_face(image: np.ndarray, share: float = 0.85) -> np.ndarray:
    """A square `share` of the face box's longer side, centred on the face: forehead and chin cut off."""
    bx, by, bw, bh = face_box(image)
    side = round(max(bw, bh) * share)
    x0, y0 = round(bx + bw / 2 - side / 2), round(by + bh / 2 - side / 2)
    return np.ascontiguousarray(image[max(0, y0):y0 + side, max(0, x0):x0 + side])


def thumbnail(image: np.ndarray, side: int = 160) -> np.ndarray:
    scale = side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def turned(image: np.ndarray, degrees: int) -> np.ndarray:
    """The picture turned clockwise by 90, 180 or 270 degrees, with no orientation tag to undo it."""
    return np.ascontiguousarray(np.rot90(image, -degrees // 90))


def close_up_clip(share: float = 0.9) -> list[np.ndarray]:
    """talking_woman.mp4 cut to one square a little narrower than her face (`share` of its median box
    width), at every frame: her forehead and chin are cut by the frame, as a vlogger close to the camera."""
    frames = [frame.image for frame in iter_frames(MEDIA / "talking_woman.mp4")]
    boxes = np.array([face_box(f) for f in frames[::30]])
    bx, by, bw, bh = np.median(boxes, axis=0)
    side = round(bw * share)
    x0, y0 = round(bx + bw / 2 - side / 2), round(by + bh / 2 - side / 2)
    return [np.ascontiguousarray(f[y0:y0 + side, x0:x0 + side]) for f in frames]


def media_cases() -> dict[str, tuple[np.ndarray, int]]:
    """Pictures made from the shared media, each with the number of faces a person would count."""
    man = read_image(MEDIA / "smiling_man.jpg")
    group = read_image(MEDIA / "group_selfie.jpg")
    cut = cut_inside_face(man)
    cases = {"smiling man": (man, 1), "smiling man, cut inside his face": (cut, 1),
             "the cut as a 160-px thumbnail": (thumbnail(cut), 1)}
    for degrees in (90, 180, 270):
        cases[f"smiling man turned {degrees}°"] = (turned(man, degrees), 1)
    cases["group selfie at 640×480"] = (cv2.resize(group, (640, 480), interpolation=cv2.INTER_AREA), 6)
    cases["group selfie turned 90°"] = (turned(group, 90), 6)
    cases["three group selfies side by side"] = (np.hstack([group] * 3), 18)
    return cases


def no_face_cases() -> dict[str, np.ndarray]:
    cartoon = read_image(MEDIA / "cartoon_no_people.jpg")
    cases = {"cartoon": cartoon}
    for degrees in (90, 180, 270):
        cases[f"cartoon turned {degrees}°"] = turned(cartoon, degrees)
    for name, value in (("black", 0), ("grey", 128), ("white", 255)):
        cases[f"blank {name} 640×480"] = np.full((480, 640, 3), value, np.uint8)
    return cases | corpus_no_face_pictures()


def corpus_no_face_pictures() -> dict[str, np.ndarray]:
    """The test corpus's pictures that hold no face and can be read (tests/corpus.py)."""
    from tests.corpus import IMAGE_CASES

    pictures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in IMAGE_CASES:
            if case.faces == 0:
                pictures[f"corpus {case.name}"] = read_image(case.make(Path(tmp)))
    return pictures


def wild_set() -> list[tuple[str, np.ndarray, str]]:
    return [(path.stem, read_image(path), label) for path, label in wild_photos(WILD)]


def fer2013_close_ups(limit: int | None) -> list[np.ndarray]:
    paths = sorted((SHARED / "fer2013" / "test").glob("*/PublicTest_*.jpg"))[:limit]
    return [cv2.cvtColor(cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (350, 350),
                                    interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB) for p in paths]


# --- the doors ----------------------------------------------------------------------------------------------

def door_faces(detectors: dict[str, EmotionDetector], images: Iterable[np.ndarray]) -> dict[str, list]:
    """Each door's faces in each picture, found on its own."""
    images = list(images)
    return {door: [det.find_faces(image) for image in images] for door, det in detectors.items()}


def clip_faces(detectors: dict[str, EmotionDetector], frames: list[np.ndarray], fps: float = 29.97) -> dict:
    """Each door's faces in each frame of a clip: the photo door frame by frame, video and webcam following
    faces between whole-frame scans, as they run."""
    found = {"photo": [detectors["photo"].find_faces(f) for f in frames]}
    for door in ("video", "webcam"):
        follower = face_detection.FaceFollower(detectors[door].find_faces)
        found[door] = [follower(frame, i / fps) for i, frame in enumerate(frames)]
    return found


def fer_faces(pictures: dict[str, np.ndarray]) -> dict[str, dict]:
    """fer's faces and largest face's label for each picture (written as PNG for its own reader)."""
    with tempfile.TemporaryDirectory() as tmp:
        for key, image in pictures.items():
            cv2.imwrite(str(Path(tmp) / f"{key}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        return run_peer(["faces", "--folder", tmp])["images"]


def eyes_turned(face: face_detection.Face) -> bool:
    """True when a face's eyes are more than 45° from level: found in a turn of the picture."""
    return abs(face_detection.eye_angle(face)) > 45


def share(found: list[list]) -> str:
    hits = sum(bool(f) for f in found)
    return f"{hits}/{len(found)} ({100 * hits / max(1, len(found)):.1f}%)"


def photo_seconds(detector: EmotionDetector, runs: int = 3) -> dict[str, float]:
    """The photo door's `detect` on 12-megapixel photos (the group selfie scaled to 4000×3000), median
    of `runs`: upright, and turned by 90° (its faces found in a turn)."""
    big = cv2.resize(read_image(MEDIA / "group_selfie.jpg"), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    times = {}
    for name, image in (("upright", big), ("turned 90°", turned(big, 90))):
        detector.detect(image)  # warm-up
        runs_s = []
        for _ in range(runs):
            start = time.perf_counter()
            detector.detect(image)
            runs_s.append(time.perf_counter() - start)
        times[name] = statistics.median(runs_s)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fer2013", type=int, default=None, help="first N PublicTest faces (default: all)")
    args = parser.parse_args()
    detectors = {door: EmotionDetector.load(preset=door) for door in DOORS}

    wild = wild_set()
    wild_images = [image for _, image, _ in wild]
    fer2013 = fer2013_close_ups(args.fer2013)
    clip = close_up_clip()
    media = media_cases()
    empty = no_face_cases()
    sets = {"wild (1,366 close-up photos)": wild_images, "FER-2013 PublicTest at 350 px": fer2013,
            "close-up clip (face cut by the frame), frames": clip}

    pictures = {f"wild-{i}": image for i, image in enumerate(wild_images)}
    pictures |= {f"fer-{i}": image for i, image in enumerate(fer2013)}
    pictures |= {f"clip-{i}": image for i, image in enumerate(clip)}
    pictures |= {f"media-{i}": image for i, (image, _) in enumerate(media.values())}
    pictures |= {f"empty-{i}": image for i, image in enumerate(empty.values())}
    fer = fer_faces(pictures)
    fer_count = {prefix: [fer[f"{prefix}-{i}"]["faces"] for i in range(n)] for prefix, n in
                 (("wild", len(wild)), ("fer", len(fer2013)), ("clip", len(clip)), ("media", len(media)),
                  ("empty", len(empty)))}

    found = {"wild (1,366 close-up photos)": door_faces(detectors, wild_images),
             "FER-2013 PublicTest at 350 px": door_faces(detectors, fer2013),
             "close-up clip (face cut by the frame), frames": clip_faces(detectors, clip)}
    print("Share of pictures with a face found (each door; fer's Haar cascade on the same pictures, same run)\n")
    print("| set | " + " | ".join(f"{d} door" for d in DOORS) + " | fer |")
    print("|---|" + "---|" * (len(DOORS) + 1))
    for name, prefix in zip(sets, ("wild", "fer", "clip")):
        cells = [share(found[name][door]) for door in DOORS]
        print(f"| {name} | " + " | ".join(cells) + f" | {share([[1] * c for c in fer_count[prefix]])} |")

    media_found = door_faces(detectors, [image for image, _ in media.values()])
    print("\nFaces found in the media variants (what a person counts in brackets)\n")
    print("| picture | " + " | ".join(f"{d} door" for d in DOORS) + " | fer |")
    print("|---|" + "---|" * (len(DOORS) + 1))
    for i, (name, (_, expected)) in enumerate(media.items()):
        cells = [str(len(media_found[door][i])) for door in DOORS]
        print(f"| {name} ({expected}) | " + " | ".join(cells) + f" | {fer_count['media'][i]} |")

    empty_found = door_faces(detectors, empty.values())
    print("\nFalse faces where there is none\n")
    print("| picture | " + " | ".join(f"{d} door" for d in DOORS) + " | fer |")
    print("|---|" + "---|" * (len(DOORS) + 1))
    for i, name in enumerate(empty):
        cells = [str(len(empty_found[door][i])) for door in DOORS]
        print(f"| {name} | " + " | ".join(cells) + f" | {fer_count['empty'][i]} |")

    truth = [label for _, _, label in wild]
    ours = [r[0].label if (r := detectors["photo"].detect(image)) else None for image in wild_images]
    theirs = [fer[f"wild-{i}"]["label"] for i in range(len(wild))]
    print(f"\nEnd to end on the wild set ({len(wild)} photos; the largest face's label, a missed face wrong; "
          f"macro recall over the classes with ≥ {MIN_CLASS_PHOTOS} images)\n")
    print("| pipeline | accuracy | macro recall |")
    print("|---|---|---|")
    for name, predicted in (("emodetect photo door", ours), ("fer", theirs)):
        acc, recall = accuracy_and_macro_recall(predicted, truth)
        print(f"| {name} | {acc:.3f} | {recall:.3f} |")
    wrongly_turned = sum(bool(f) and eyes_turned(f[0]) for f in found["wild (1,366 close-up photos)"]["photo"])
    print(f"\nUpright wild photos whose largest face the photo door took from a turn: {wrongly_turned}/{len(wild)}")
    turned_wild = [turned(image, 90) for image in wild_images]
    turned_found = door_faces({"photo": detectors["photo"]}, turned_wild)["photo"]
    turned_back = sum(bool(f) and eyes_turned(f[0]) for f in turned_found)
    turned_labels = [r[0].label if (r := detectors["photo"].detect(image)) else None for image in turned_wild]
    acc, recall = accuracy_and_macro_recall(turned_labels, truth)
    print(f"Wild photos turned by 90°, photo door: a face found in {share(turned_found)}, turned back (its eyes "
          f"level once turned) in {turned_back}; end to end accuracy {acc:.3f}, macro recall {recall:.3f}")

    seconds = photo_seconds(detectors["photo"])
    print("\nPhoto door, 12 MP photo (group selfie at 4000×3000), detect() median of 3: "
          + ", ".join(f"{name} {t:.2f} s" for name, t in seconds.items()))


if __name__ == "__main__":
    main()
