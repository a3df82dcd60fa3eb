"""FER-2013 readers: the Kaggle image-folder layout and the original `fer2013.csv`.

Both return the same thing: a dict from split name to a `Split` of uint8
N×48×48 images and integer labels in `EMOTIONS` order. Split names follow the
challenge: "Training", "PublicTest", "PrivateTest". A folder layout without
those file-name prefixes names its splits after its folders ("Training" for
train/, "Test" for test/, "Validation" for val/).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from emodetect.labels import EMOTIONS

IMAGE_SIZE = 48
SPLITS = ("Training", "PublicTest", "PrivateTest")
_FOLDER_SPLITS = {"train": "Training", "training": "Training", "test": "Test",
                  "val": "Validation", "valid": "Validation", "validation": "Validation"}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
_CSV_COLUMNS = ("emotion", "pixels", "Usage")
# FER+ vote columns under our names; contempt, "unknown" and "not a face" (NF) have no FER-2013 class.
FERPLUS_NAMES = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
                 "anger": "angry", "disgust": "disgust", "fear": "fear", "contempt": "contempt",
                 "unknown": "unknown", "NF": "not a face"}


class DatasetError(ValueError):
    """A dataset file or folder is not FER-2013 as expected; the message names where."""


@dataclass(frozen=True)
class Split:
    """One split: images (uint8 N×48×48), labels (int64 N), and where each came from."""

    images: np.ndarray
    labels: np.ndarray
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(EMOTIONS))
        return {e: int(c) for e, c in zip(EMOTIONS, counts)}


def load_fer2013(path: str | os.PathLike) -> dict[str, Split]:
    """Load FER-2013 from an image-folder root or from `fer2013.csv`, whichever `path` is."""
    path = Path(path)
    try:
        if path.is_dir():
            return load_folder(path)
        if path.is_file():
            return load_csv(path)
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a FER-2013 folder or CSV file (it is not text)") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    raise DatasetError(f"{path}: no such file or folder")


def load_folder(root: str | os.PathLike) -> dict[str, Split]:
    """Read `root/<split folder>/<class>/<image>`; the file-name prefix, if any, names the split."""
    root = Path(root)
    split_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not split_dirs:
        raise DatasetError(f"{root}: no split folders (expected train/ and test/)")
    found: dict[str, tuple[list[np.ndarray], list[int], list[str]]] = {}
    for split_dir in split_dirs:
        folder_split = _FOLDER_SPLITS.get(split_dir.name.lower(), split_dir.name)
        class_dirs = sorted(d for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not class_dirs:
            raise DatasetError(f"{split_dir}: no class folders (expected {', '.join(EMOTIONS)})")
        for class_dir in class_dirs:
            name = class_dir.name.lower()
            if name not in EMOTIONS:
                raise DatasetError(f"{class_dir}: unknown class folder {class_dir.name!r} "
                                   f"(expected one of {', '.join(EMOTIONS)})")
            files = sorted(f for f in class_dir.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES)
            if not files:
                raise DatasetError(f"{class_dir}: empty class folder (no images)")
            for file in files:
                split = _prefix_split(file.name) or folder_split
                images, labels, sources = found.setdefault(split, ([], [], []))
                images.append(_read_gray48(file))
                labels.append(EMOTIONS.index(name))
                sources.append(str(file))
    return {split: _make_split(*found[split]) for split in _ordered(found)}


def load_csv(path: str | os.PathLike) -> dict[str, Split]:
    """Read the original challenge CSV (`emotion,pixels,Usage`; pixels are 2304 space-separated ints)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        return read_csv(f, str(path))


def load_csv_bytes(data: bytes, name: str) -> dict[str, Split]:
    """A `fer2013.csv` uploaded to the app, read in memory (nothing is written to disk); errors name `name`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{name}: not a FER-2013 CSV file (it is not text)") from None
    return read_csv(io.StringIO(text, newline=""), name)


def read_csv(f: TextIO, where: str) -> dict[str, Split]:
    """The challenge CSV from an open text stream; `where` names it in errors.

    Errors give the line and the column, never the cell's value: a server's file must not be echoed to a
    visitor.
    """
    found: dict[str, tuple[list[np.ndarray], list[int], list[str]]] = {}
    reader = csv.DictReader(f)
    missing = [c for c in _CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise DatasetError(f"{where}: missing column(s) {', '.join(missing)} "
                           f"(expected header {','.join(_CSV_COLUMNS)})")
    for row in reader:
        line = reader.line_num
        try:
            label = int(row["emotion"])
            pixels = np.array(row["pixels"].split(), dtype=np.int64)
        except (ValueError, TypeError, AttributeError):  # a missing cell is None
            raise DatasetError(f"{where}, line {line}: the emotion or pixels column holds something other than "
                               "whole numbers") from None
        if not 0 <= label < len(EMOTIONS):
            raise DatasetError(f"{where}, line {line}: emotion {label} is not in 0..{len(EMOTIONS) - 1}")
        if pixels.size != IMAGE_SIZE * IMAGE_SIZE:
            raise DatasetError(f"{where}, line {line}: {pixels.size} pixels, expected {IMAGE_SIZE * IMAGE_SIZE}")
        if pixels.min() < 0 or pixels.max() > 255:
            raise DatasetError(f"{where}, line {line}: pixel values outside 0..255")
        images, labels, sources = found.setdefault((row["Usage"] or "").strip(), ([], [], []))
        images.append(pixels.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
        labels.append(label)
        sources.append(f"{where}:{line}")
    if not found:
        raise DatasetError(f"{where}: no rows")
    return {split: _make_split(*found[split]) for split in _ordered(found)}


def _prefix_split(filename: str) -> str | None:
    prefix = filename.split("_", 1)[0]
    return prefix if prefix in SPLITS else None


def _read_gray48(file: Path) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(file, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DatasetError(f"{file}: not a readable image")
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def _make_split(images: list[np.ndarray], labels: list[int], sources: list[str]) -> Split:
    return Split(np.stack(images), np.array(labels, dtype=np.int64), tuple(sources))


def _ordered(found: dict) -> list[str]:
    """Challenge splits first in their usual order, then any others alphabetically."""
    return [s for s in SPLITS if s in found] + sorted(s for s in found if s not in SPLITS)


def load_ferplus_votes(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """The FER+ crowd votes (`../shared/data/ferplus/fer2013plus_votes.csv`, see its README): for each face's
    path relative to the FER-2013 folder (`test/sad/PrivateTest_123.jpg`), the emotions that got votes, most
    first, under our names (`FERPLUS_NAMES`). Ten annotators per face tell whether a label is debatable."""
    path = Path(path)
    votes = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("file", *FERPLUS_NAMES) if c not in (reader.fieldnames or ())]
            if missing:
                raise DatasetError(f"{path}: missing FER+ column(s) {', '.join(missing)}")
            for row in reader:
                counts = {ours: int(row[theirs]) for theirs, ours in FERPLUS_NAMES.items()}
                votes[row["file"]] = dict(sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1]))
    except DatasetError:
        raise
    except (OSError, UnicodeDecodeError, ValueError) as e:  # a count that is not a number, say
        raise DatasetError(f"{path}: not a readable FER+ votes file ({e})") from None
    return votes


def votes_text(votes: dict[str, int]) -> str:
    """ "neutral 6, sad 3, angry 1": one face's FER+ votes as a caption."""
    return ", ".join(f"{name} {count}" for name, count in votes.items())


@dataclass(frozen=True)
class FerPlus:
    """The FER+ annotators' view of one split's faces, in the split's order.

    `distribution`: N×7 float, each face's votes for our seven emotions as fractions (a row of zeros
    where FER+ has no votes for the face, or gave them all to contempt, "unknown" or "not a face").
    `plurality`: N ints, the `EMOTIONS` index of the emotion most annotators chose, or -1 where there is
    none to score against (no votes, a tie for first, or a first place outside our seven)."""

    distribution: np.ndarray
    plurality: np.ndarray

    @property
    def scored(self) -> np.ndarray:
        """Which faces have a plurality: the rows every FER+ score is computed on."""
        return self.plurality >= 0


def ferplus_for(split: Split, root: str | os.PathLike, votes: dict[str, dict[str, int]]) -> FerPlus:
    """`split`'s faces (read from the FER-2013 folder `root`) matched to `load_ferplus_votes`' votes."""
    root = Path(root)
    distribution = np.zeros((len(split), len(EMOTIONS)), np.float32)
    plurality = np.full(len(split), -1, np.int64)
    for i, source in enumerate(split.sources):
        try:
            face_votes = votes.get(Path(source).relative_to(root).as_posix())
        except ValueError:  # not a file under `root`: a CSV's row
            face_votes = None
        if not face_votes:
            continue
        counts = np.array([face_votes.get(e, 0) for e in EMOTIONS], np.float32)
        if counts.sum():
            distribution[i] = counts / counts.sum()
        top = max(face_votes.values())
        firsts = [name for name, count in face_votes.items() if count == top]
        if len(firsts) == 1 and firsts[0] in EMOTIONS:
            plurality[i] = EMOTIONS.index(firsts[0])
    return FerPlus(distribution, plurality)


def reading_truth(split: Split, labels: str, root: str | os.PathLike,
                  votes_file: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """What the reading `labels` (`labels.READINGS`) is scored against on `split`: a boolean mask of the faces
    that have a truth and, for those, the `EMOTIONS` index. "fer2013": every face's own label; "ferplus": the
    FER+ annotators' plurality, on the faces that have one (`FerPlus.scored`)."""
    if labels == "fer2013":
        return np.ones(len(split), bool), split.labels
    ferplus = ferplus_for(split, root, load_ferplus_votes(votes_file))
    return ferplus.scored, ferplus.plurality[ferplus.scored]
