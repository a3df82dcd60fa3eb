"""How should a detected face be framed for the classifier? Measured, not guessed.

FER-2013's crops have their own framing. We upscale each PublicTest face
(the split we tune on) to 192×192, pad it by half its size on each side
(edge pixels repeated: BlazeFace needs some context), find it again, crop it with
each candidate framing (margin around the box, eyes levelled or not), and
classify the crop. The framing whose accuracy comes closest to classifying the
original crops reproduces FER-2013's framing best. As a second check on a real
photo, the probability of "happy" for smiling_man.jpg, original and mirrored.
Video follows faces with the short-range model between scans (`faces.FaceFollower`),
whose boxes are a little smaller: the last table frames those boxes.

    python -m benchmarks.crop_framing     (from the project root)
"""

from __future__ import annotations

import cv2
import numpy as np

from emodetect import faces as face_detection
from emodetect.classifier import EmotionClassifier
from emodetect.data import load_fer2013
from emodetect.imageio import read_image
from emodetect.labels import EMOTIONS
from emodetect.paths import PROJECT_DIR, default_data_dir

MARGINS = (0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.6)


def main() -> None:
    clf = EmotionClassifier.load()
    find = face_detection.FaceDetector("photo")
    split = load_fer2013(default_data_dir())["PublicTest"]
    big = [cv2.copyMakeBorder(cv2.resize(face, (192, 192), interpolation=cv2.INTER_CUBIC), 96, 96, 96, 96,
                              cv2.BORDER_REPLICATE) for face in split.images]
    found = [find(cv2.cvtColor(b, cv2.COLOR_GRAY2RGB)) for b in big]
    keep = [i for i, f in enumerate(found) if f]
    labels = split.labels[keep]
    reference = (clf.predict(split.images[keep]).argmax(1) == labels).mean()
    smiling = read_image(PROJECT_DIR.parent / "shared" / "data" / "media" / "smiling_man.jpg")
    smiling_faces = [(img, find(img)[0]) for img in (smiling, np.ascontiguousarray(smiling[:, ::-1]))]
    happy = EMOTIONS.index("happy")

    print(f"PublicTest faces found again after upscaling: {len(keep)}/{len(split)}; "
          f"accuracy on their original crops: {reference:.3f}\n")
    print("| margin | eyes levelled | PublicTest accuracy (re-detected) | mean top probability | "
          "smiling_man P(happy) |")
    print("|---|---|---|---|---|")
    for level in (True, False):
        for margin in MARGINS:
            crops = [face_detection.crop(b, found[i][0], margin, level) for i, b in
                     ((i, big[i]) for i in keep)]
            probs = clf.predict(crops)
            accuracy = (probs.argmax(1) == labels).mean()
            p_happy = np.mean([clf.predict([face_detection.crop(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), f, margin,
                                                                level)])[0, happy] for img, f in smiling_faces])
            print(f"| {margin:.1f} | {'yes' if level else 'no'} | {accuracy:.3f} | {probs.max(1).mean():.3f} | "
                  f"{p_happy:.3f} |", flush=True)

    follower = face_detection.FaceFollower(find)
    followed = {}
    for i in keep:  # the face followed from the scan's box, as on the frame after a scan
        follower.faces, follower.last_scan_s = found[i][:1], 0.0  # a scan was just made: follow
        again = follower(cv2.cvtColor(big[i], cv2.COLOR_GRAY2RGB), 0.0)
        if again:
            followed[i] = again[0]
    same = np.isin(keep, list(followed))
    print(f"\nFollowed by the short-range model (as video does between scans): {len(followed)}/{len(keep)} faces\n")
    print("| box from | margin | PublicTest accuracy (these faces) |")
    print("|---|---|---|")
    scanned = clf.predict([face_detection.crop(big[i], found[i][0]) for i in followed]).argmax(1)
    print(f"| scan (full range) | 1.2 | {(scanned == labels[same]).mean():.3f} |")
    for margin in (1.1, 1.2, 1.3):
        probs = clf.predict([face_detection.crop(big[i], f, margin) for i, f in followed.items()])
        print(f"| following (short range) | {margin:.1f} | {(probs.argmax(1) == labels[same]).mean():.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
