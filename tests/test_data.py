"""FER-2013 loaders on the real folder layout, a plain layout, CSVs made from real images, and bad input."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from emodetect.data import DatasetError, load_csv, load_csv_bytes, load_fer2013, load_folder
from emodetect.labels import EMOTIONS

# The class counts of ../shared/data/README.md, in EMOTIONS order.
README_COUNTS = {
    "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "PublicTest": [467, 56, 496, 895, 653, 415, 607],
    "PrivateTest": [491, 55, 528, 879, 594, 416, 626],
}


def test_folder_layout_splits_by_file_prefix(fer):
    assert list(fer) == ["Training", "PublicTest", "PrivateTest"]
    for split, counts in README_COUNTS.items():
        assert list(fer[split].class_counts().values()) == counts
        assert fer[split].images.dtype == np.uint8
        assert fer[split].images.shape[1:] == (48, 48)
    assert all("PrivateTest_" in s for s in fer["PrivateTest"].sources)


def _copy_some(fer_dir, dest, per_class=3, rename=None):
    """A small FER-style tree of real images; `rename` strips the split prefix."""
    for part in ("train", "test"):
        for emotion in EMOTIONS:
            (dest / part / emotion).mkdir(parents=True)
            for file in sorted((fer_dir / part / emotion).glob("*.jpg"))[:per_class]:
                name = file.name.split("_", 1)[1] if rename else file.name
                shutil.copy(file, dest / part / emotion / name)
    return dest


def test_plain_layout_without_prefixes_uses_folder_names(fer_dir, tmp_path):
    root = _copy_some(fer_dir, tmp_path / "plain", rename=True)
    splits = load_folder(root)
    assert set(splits) == {"Training", "Test"}
    assert len(splits["Training"]) == 3 * len(EMOTIONS)
    assert list(splits["Test"].class_counts().values()) == [3] * len(EMOTIONS)


def _write_csv(path, rows):
    lines = ["emotion,pixels,Usage"] + [f"{label},{' '.join(map(str, img.ravel()))},{usage}"
                                        for label, img, usage in rows]
    path.write_text("\n".join(lines) + "\n")


def test_csv_and_folder_give_the_same_arrays(fer_dir, tmp_path):
    root = _copy_some(fer_dir, tmp_path / "tree")
    folder = load_folder(root)
    rows = [(label, img, split) for split, data in folder.items()
            for img, label in zip(data.images, data.labels)]
    _write_csv(tmp_path / "fer2013.csv", rows)
    from_csv = load_fer2013(tmp_path / "fer2013.csv")
    assert list(from_csv) == list(folder)
    for split in folder:
        np.testing.assert_array_equal(from_csv[split].images, folder[split].images)
        np.testing.assert_array_equal(from_csv[split].labels, folder[split].labels)


@pytest.fixture
def one_real_face(fer):
    return fer["PublicTest"].images[0]


@pytest.mark.parametrize("header,row,message", [
    ("emotion,pixels", "3,{pixels}", "missing column(s) Usage"),
    ("emotion,pixels,Usage", "3,1 2 3,Training", "line 2: 3 pixels, expected 2304"),
    ("emotion,pixels,Usage", "9,{pixels},Training", "line 2: emotion 9 is not in 0..6"),
    ("emotion,pixels,Usage", "happy,{pixels},Training", "line 2: the emotion or pixels column holds"),
    ("emotion,pixels,Usage", "3,{big},Training", "line 2: pixel values outside 0..255"),
])
def test_malformed_csv_names_file_and_line(tmp_path, one_real_face, header, row, message):
    pixels = " ".join(map(str, one_real_face.ravel()))
    path = tmp_path / "bad.csv"
    path.write_text(header + "\n" + row.format(pixels=pixels, big=pixels.replace("0", "999", 1)) + "\n")
    with pytest.raises(DatasetError) as error:
        load_csv(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)



def test_csv_errors_never_echo_a_cell(tmp_path, one_real_face):
    """A server's file must not leak through the app's error: the message gives the line, not the value."""
    pixels = " ".join(map(str, one_real_face.ravel()))
    path = tmp_path / "secrets.csv"
    path.write_text(f"emotion,pixels,Usage\nSECRET_TOKEN_123,{pixels},Training\n3,{pixels} x9z,Training\n")
    with pytest.raises(DatasetError) as error:
        load_csv(path)
    assert "line 2" in str(error.value) and "SECRET" not in str(error.value)


def test_an_uploaded_csv_reads_in_memory_like_the_file(tmp_path, fer):
    rows = ["emotion,pixels,Usage"] + [f"{label},{' '.join(map(str, image.ravel()))},PrivateTest"
                                       for image, label in zip(fer["PrivateTest"].images[:20],
                                                               fer["PrivateTest"].labels[:20])]
    path = tmp_path / "fer2013.csv"
    path.write_text("\n".join(rows) + "\n")
    from_file, uploaded = load_csv(path)["PrivateTest"], load_csv_bytes(path.read_bytes(), "mine.csv")["PrivateTest"]
    assert np.array_equal(from_file.images, uploaded.images) and np.array_equal(from_file.labels, uploaded.labels)
    assert uploaded.sources[0] == "mine.csv:2"
    with pytest.raises(DatasetError, match=r"^mine.csv: not a FER-2013 CSV file \(it is not text\)$"):
        load_csv_bytes(b"\xff\xd8\xff\xe0 jpeg", "mine.csv")

def test_empty_csv_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("emotion,pixels,Usage\n")
    with pytest.raises(DatasetError, match="no rows"):
        load_csv(path)


def test_unknown_class_folder_is_named(fer_dir, tmp_path):
    root = _copy_some(fer_dir, tmp_path / "tree", per_class=1)
    (root / "train" / "contempt").mkdir()
    cv2.imwrite(str(root / "train" / "contempt" / "x.jpg"), np.zeros((48, 48), np.uint8))
    with pytest.raises(DatasetError, match=r"contempt.*unknown class folder"):
        load_folder(root)


def test_empty_class_folder_is_named(fer_dir, tmp_path):
    root = _copy_some(fer_dir, tmp_path / "tree", per_class=1)
    shutil.rmtree(root / "test" / "sad")
    (root / "test" / "sad").mkdir()
    with pytest.raises(DatasetError, match=r"test/sad: empty class folder"):
        load_folder(root)


def test_unreadable_image_is_named(fer_dir, tmp_path):
    root = _copy_some(fer_dir, tmp_path / "tree", per_class=1)
    (root / "train" / "fear" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=r"broken.jpg: not a readable image"):
        load_folder(root)


def test_missing_path_and_empty_root(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_fer2013(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no split folders"):
        load_fer2013(tmp_path)
