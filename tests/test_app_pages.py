"""The Streamlit pages, driven headless with AppTest: what a visitor would see and click."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emodetect.app.model import READING_NAMES, model_card
from emodetect.app.roots import REFUSAL
from emodetect.data import ferplus_for, load_ferplus_votes, votes_text
from emodetect.labels import DEFAULT_READING, EMOTIONS, VALENCES
from emodetect.paths import FERPLUS_VOTES, PROJECT_DIR
from tests.markdown_text import shown

HOME = PROJECT_DIR / "app.py"
IMAGE_PAGE = PROJECT_DIR / "pages" / "1_Image.py"
EXPLORER = PROJECT_DIR / "pages" / "4_Dataset_explorer.py"
SAMPLES = {"smiling_man.jpg": "Smiling man (1 face)", "group_selfie.jpg": "Group selfie (6 faces)",
           "cartoon_no_people.jpg": "Cartoon (no people)"}


def run(page: Path, timeout_s: float = 120) -> AppTest:
    at = AppTest.from_file(page, default_timeout=timeout_s).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    """The Plotly figures on the page, as the JSON the browser receives."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def bar_labels(at: AppTest) -> list[list[str]]:
    """The class names along each probability bar chart."""
    return [fig["data"][0]["y"] for fig in charts(at) if fig["data"][0]["type"] == "bar"]


def heatmap_counts(at: AppTest) -> list[list[list[int]]]:
    """The numbers written in the cells of each confusion-matrix heatmap showing counts."""
    heatmaps = [fig["data"][0]["text"] for fig in charts(at) if fig["data"][0]["type"] == "heatmap"]
    return [[[int(cell) for cell in row] for row in text] for text in heatmaps if "%" not in text[0][0]]


def headings(at: AppTest) -> list[str]:
    return [h.value for h in at.subheader]


def test_home_shows_the_model_card_numbers():
    """The headline figures of the default reading, and every door of both readings against both truths and on
    the real photos, each from the card."""
    card = model_card()
    at = run(HOME)
    metrics = {m.label: m.value for m in at.metric}
    default = card["readings"][card["default_reading"]]
    assert metrics["Real photos right"] == f"{default['wild']['photo']['accuracy']:.1%}"
    assert metrics["Against FER+"] == f"{default['doors']['photo']['ferplus_accuracy']['PrivateTest']:.1%}"
    fer2013 = card["readings"]["fer2013"]["doors"]["photo"]
    assert metrics["FER-2013 PrivateTest"] == f"{fer2013['accuracy']['PrivateTest']:.1%}"
    assert metrics["Model size"] == f"{default['runtime']['bytes'] / 1e6:.1f} MB"
    (table,) = at.dataframe
    rows = table.value.to_dict("records")
    assert len(rows) == 2 * 3  # two readings, three doors
    for row in rows:
        labels = next(r for r, name in READING_NAMES.items() if name == row["Reading"])
        door = card["readings"][labels]["doors"][row["Door"].lower()]
        wild = card["readings"][labels]["wild"][row["Door"].lower()]
        assert (row["FER+ test"], row["FER-2013 test"]) == (
            door["ferplus_accuracy"]["PrivateTest"], door["accuracy"]["PrivateTest"])
        assert (row["Photos: right"], row["Photos: recall"]) == (wild["accuracy"], wild["macro_recall"])
    assert not at.error


def test_image_page_offers_the_samples_and_waits_for_a_picture(media_dir):
    at = run(IMAGE_PAGE)
    assert at.selectbox[0].options == list(SAMPLES.values())
    assert at.info and not at.image and not charts(at)


def test_without_shared_data_the_page_offers_uploads_only(tmp_path, monkeypatch):
    monkeypatch.setattr("emodetect.app.samples.MEDIA_DIR", tmp_path / "absent")
    at = run(IMAGE_PAGE)
    assert len(at.file_uploader) == 1 and not at.selectbox
    assert at.info and not at.error


def test_uploaded_group_selfie_shows_six_faces(media_dir):
    at = run(IMAGE_PAGE)
    at.file_uploader[0].upload("group_selfie.jpg", (media_dir / "group_selfie.jpg").read_bytes(), "image/jpeg")
    rerun(at)
    assert "6 faces found" in headings(at)
    assert bar_labels(at) == [list(EMOTIONS)] * 6
    assert [m.value for m in at.markdown if m.value.startswith("**Face ")][-1].startswith("**Face 6**")
    assert [b.label for b in at.download_button] == ["Download annotated PNG", "Download results (JSON)"]


@pytest.mark.parametrize(("file", "found", "charts_shown"),
                         [("smiling_man.jpg", "1 face found", 1), ("cartoon_no_people.jpg", "No face found", 0)])
def test_sample_pictures(media_dir, file, found, charts_shown):
    at = run(IMAGE_PAGE)
    at.selectbox[0].set_value(SAMPLES[file])
    rerun(at)
    assert found in headings(at)
    assert len(bar_labels(at)) == charts_shown
    assert at.image  # the picture is shown, with or without boxes


def test_the_other_reading_is_one_click_away(media_dir):
    """The Image page starts in the default reading and says what it means; one click gives the other reading's
    probabilities for the same face and its caption."""
    at = run(IMAGE_PAGE)
    at.selectbox[0].set_value(SAMPLES["smiling_man.jpg"])
    rerun(at)
    picker = at.button_group(key="image-reading")
    assert picker.value == DEFAULT_READING
    bars = [fig["data"][0]["x"] for fig in charts(at)]
    assert any("what most of 10 people would say" in c.value for c in at.caption)

    picker.set_value("fer2013")
    rerun(at)
    assert any("the dataset's original single label" in c.value for c in at.caption)
    assert "1 face found" in headings(at)
    assert [fig["data"][0]["x"] for fig in charts(at)] != bars


def test_three_valences_change_charts_and_drawing(media_dir):
    at = run(IMAGE_PAGE)
    at.selectbox[0].set_value(SAMPLES["smiling_man.jpg"])
    rerun(at)
    drawing = at.image[0].value
    assert bar_labels(at) == [list(EMOTIONS)]

    at.radio[0].set_value("3 valences")
    rerun(at)
    assert at.radio[0].label == "Classes"
    assert bar_labels(at) == [list(VALENCES)]
    face = next(m.value for m in at.markdown if m.value.startswith("**Face 1**"))
    assert any(v in face for v in VALENCES)
    assert at.image[0].value != drawing  # the boxes now carry valence labels and bars
    assert "1 face found" in headings(at)


def test_non_image_upload_is_one_error_and_the_page_still_works(media_dir):
    at = run(IMAGE_PAGE)
    at.file_uploader[0].upload("x.jpg", b"hello", "image/jpeg")
    rerun(at)
    assert [shown(e.value) for e in at.error] == ["x.jpg is not an image file"]
    assert not charts(at)

    at.file_uploader[0].clear()
    at.selectbox[0].set_value(SAMPLES["smiling_man.jpg"])
    rerun(at)
    assert not at.error
    assert "1 face found" in headings(at)


def test_explorer_shows_the_card_and_one_error_for_a_wrong_folder(tmp_path, monkeypatch):
    (tmp_path / "holiday photos").mkdir()
    monkeypatch.setenv("EMODETECT_DATA", str(tmp_path))
    card = model_card()["readings"][DEFAULT_READING]
    at = run(EXPLORER)
    assert len(at.error) == 1 and "holiday photos" in at.error[0].value
    assert heatmap_counts(at) == [card["private_test"]["confusion_matrix"]]
    traces = [trace for fig in charts(at) for trace in fig["data"]]
    assert {t["name"] for t in traces if t["type"] == "bar" and "name" in t} >= set(model_card()["class_counts"])
    curves = {(t["name"], t["line"]["color"]) for t in traces if t.get("mode") == "lines+markers"}
    assert curves == {("Training", "#1f77b4"), ("PublicTest", "#ff7f0e")}  # train blue, PublicTest orange
    assert f"{card['calibration']['ece']:.1%}" in [m.value for m in at.metric]
    temperatures = ", ".join(f"{m['temperature']:.2f}" for m in card["training"]["members"])
    assert any("divided by" in c.value and f"({temperatures})" in c.value for c in at.caption)

    at.radio(key="card-confusion").set_value("3 valences")
    rerun(at)
    assert heatmap_counts(at) == [card["private_test"]["valence_confusion_matrix"]]

    # The other reading, one click away: its own card, matrices and calibration.
    other = model_card()["readings"]["fer2013"]
    at.button_group(key="explorer-reading").set_value("fer2013")
    rerun(at)
    assert heatmap_counts(at) == [other["private_test"]["valence_confusion_matrix"]]
    assert f"{other['calibration']['ece']:.1%}" in [m.value for m in at.metric]
    assert any(f"against the {other['own_truth']}" in h for h in headings(at))


def _small_fer_csv(fer_dir: Path, path: Path, per_class: int = 4) -> int:
    """A fer2013.csv of a few real PrivateTest faces per class (outside the project); returns its row count."""
    rows = ["emotion,pixels,Usage"]
    for label, emotion in enumerate(EMOTIONS):
        for file in sorted((fer_dir / "test" / emotion).glob("PrivateTest_*"))[:per_class]:
            pixels = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
            rows.append(f"{label},{' '.join(map(str, pixels.ravel()))},PrivateTest")
    path.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def test_explorer_reads_a_fer2013_csv(fer_dir, tmp_path, monkeypatch):
    csv = tmp_path / "fer2013.csv"
    faces = _small_fer_csv(fer_dir, csv)
    monkeypatch.setenv("EMODETECT_DATA", str(csv))
    at = run(EXPLORER)
    assert not at.error
    assert at.selectbox[0].options == ["PrivateTest"]
    grids = at.image[:len(EMOTIONS)]  # one row of sample faces per emotion, uncaptioned: a CSV has no FER+ votes
    assert [len(im.value) for im in grids] == [4] * len(EMOTIONS) and not any(any(im.captions) for im in grids)
    card_counts, live_counts = heatmap_counts(at)
    assert np.sum(live_counts) == faces
    mistakes = next(im for im in at.image if any("→" in c for c in im.captions))
    assert all(c.split(" → ")[0] in EMOTIONS for c in mistakes.captions)


def test_explorer_recomputes_the_card_accuracy_on_the_real_data(fer_dir, fer, monkeypatch):
    """The live confusion matrix, computed now on the whole PrivateTest split, for either reading against
    either truth, gives the card's numbers."""
    monkeypatch.setenv("EMODETECT_DATA", str(fer_dir))
    card = model_card()["readings"][DEFAULT_READING]
    at = run(EXPLORER, timeout_s=600)  # all 3,589 PrivateTest faces: ~100 s on two cores without AVX-512
    assert at.selectbox[0].value == "PrivateTest"
    assert f"{card['metrics']['PrivateTest'][card['app_tta']]['accuracy']:.1%}" in [m.value for m in at.metric]
    mistakes = next(im for im in at.image if any(c and "→" in c for c in im.captions))
    assert len(mistakes.value) == 24  # the most confident mistakes

    # FER+ as the truth: the card's score against the annotators, recomputed on the faces they agree on.
    truth = next(r for r in at.radio if r.label == "Truth")
    faces = card["ferplus"]["faces"]["PrivateTest"]
    assert truth.options == ["FER-2013 labels", f"FER+ plurality ({faces:,} faces)"]
    truth.set_value(truth.options[1]).run(timeout=600)
    annotators = card["ferplus"]["metrics"]["PrivateTest"][card["app_tta"]]["accuracy"]
    assert f"{annotators:.1%}" in [m.value for m in at.metric]
    assert heatmap_counts(at)[-1] == card["ferplus"]["private_test"]["confusion_matrix"]

    # A face the annotators overruled, up close: its votes, and the flag.
    private = fer["PrivateTest"]
    ferplus = ferplus_for(private, fer_dir, load_ferplus_votes(FERPLUS_VOTES))
    face = int(np.flatnonzero(ferplus.scored & (ferplus.plurality != private.labels))[0])
    at.number_input[0].set_value(face + 1).run(timeout=600)
    votes = load_ferplus_votes(FERPLUS_VOTES)[Path(private.sources[face]).relative_to(fer_dir).as_posix()]
    assert any(f"FER+ votes (10 people): {votes_text(votes)}" in m.value for m in at.markdown)
    assert [w.value for w in at.warning] == [f"The annotators overruled this face's label: most chose "
                                             f"{EMOTIONS[ferplus.plurality[face]]}."]
    assert not at.exception and not at.error

    # The other reading against either truth.
    other = model_card()["readings"]["fer2013"]
    at.button_group(key="explorer-reading").set_value("fer2013").run(timeout=600)
    annotators = other["ferplus"]["metrics"]["PrivateTest"][other["app_tta"]]["accuracy"]
    assert f"{annotators:.1%}" in [m.value for m in at.metric]
    assert heatmap_counts(at)[-1] == other["ferplus"]["private_test"]["confusion_matrix"]
    next(r for r in at.radio if r.label == "Truth").set_value("FER-2013 labels").run(timeout=600)
    assert f"{other['metrics']['PrivateTest'][other['app_tta']]['accuracy']:.1%}" in [m.value for m in at.metric]
    assert heatmap_counts(at)[-1] == other["private_test"]["confusion_matrix"]


def test_explorer_a_file_that_is_not_fer2013_is_one_error(tmp_path, monkeypatch):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not text")
    monkeypatch.setenv("EMODETECT_DATA", str(photo))
    at = run(EXPLORER)
    assert len(at.error) == 1 and "photo.jpg" in at.error[0].value
    assert heatmap_counts(at)  # the model card part is still there


@pytest.mark.parametrize("asked", ["/etc", "..", "~", "/proc/self/environ", "fer2013/..", "x" * 3000])
def test_explorer_refuses_every_dataset_but_the_configured_ones(fer_dir, tmp_path, monkeypatch, asked):
    """A visitor picks a configured copy by name; a path in the URL gets one refusal and reads nothing."""
    copy = tmp_path / "fer2013"
    copy.mkdir()
    _small_fer_csv(fer_dir, copy / "fer2013.csv", per_class=1)
    monkeypatch.setenv("EMODETECT_DATA", str(copy / "fer2013.csv"))
    at = AppTest.from_file(EXPLORER, default_timeout=120)
    at.query_params["dataset"] = asked
    rerun(at)
    assert [e.value for e in at.error] == [REFUSAL]
    assert at.sidebar.selectbox[0].options == ["fer2013.csv", "Upload your fer2013.csv"]
    assert not at.sidebar.text_input  # nowhere to type a server path
    text = " ".join(e.value for e in [*at.caption, *at.markdown, *at.error])
    assert "PackageKit" not in text and "environ" not in text and str(tmp_path) not in text


def test_explorer_reads_an_uploaded_csv_in_memory(fer_dir, tmp_path, monkeypatch):
    """The visitor's own fer2013.csv: faces and a live confusion matrix, nothing written to disk."""
    csv = tmp_path / "fer2013.csv"
    faces = _small_fer_csv(fer_dir, csv)
    data = csv.read_bytes()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("EMODETECT_DATA", str(tmp_path / "absent"))
    at = run(EXPLORER)
    at.sidebar.selectbox[0].set_value("Upload your fer2013.csv")
    rerun(at)
    assert any("Upload a fer2013.csv" in i.value for i in at.info)
    at.sidebar.file_uploader[0].upload("my **faces** $x$.csv", data, "text/csv")
    rerun(at)
    assert not at.error
    assert any(shown(c.value).endswith("read from my **faces** $x$.csv") for c in at.caption)
    assert np.sum(heatmap_counts(at)[1]) == faces
    assert not list(scratch.iterdir())

    at.sidebar.file_uploader[0].upload("notes.csv", b"shopping,list\neggs,milk\n", "text/csv")
    rerun(at)
    assert [shown(e.value) for e in at.error] == ["notes.csv: missing column(s) emotion, pixels, Usage "
                                                  "(expected header emotion,pixels,Usage)"]


def test_image_page_shows_what_the_model_looked_at_for_the_chosen_emotion(media_dir):
    from emodetect.draw import HOW_TO_READ

    at = run(IMAGE_PAGE)
    at.selectbox[0].set_value(SAMPLES["smiling_man.jpg"])
    rerun(at)
    shown = len(at.image)
    at.toggle[0].set_value(True)
    rerun(at)
    assert at.toggle[0].label == "Show what the model looked at"
    assert len(at.image) == shown + 1  # the face's map beside its crop
    assert HOW_TO_READ in [c.value for c in at.caption]
    choice = at.selectbox(key="explain-smiling_man.jpg-1")
    assert choice.value == "happy" and choice.options == list(EMOTIONS)
    happy = at.image[-1].value
    choice.set_value("sad")
    rerun(at)
    assert at.image[-1].value != happy  # another emotion, another map
    assert bar_labels(at) == [list(EMOTIONS)]  # the chart is still there


def test_explorer_maps_the_confident_mistakes_beside_their_ferplus_votes(fer_dir, tmp_path, monkeypatch):
    """A FER-2013 folder of a few real PrivateTest faces (outside the project), laid out like the shared copy,
    so its faces' FER+ votes are found."""
    import shutil

    for emotion in EMOTIONS:
        (tmp_path / "test" / emotion).mkdir(parents=True)
        for file in sorted((fer_dir / "test" / emotion).glob("PrivateTest_*"))[:4]:
            shutil.copy(file, tmp_path / "test" / emotion / file.name)
    monkeypatch.setenv("EMODETECT_DATA", str(tmp_path))
    at = run(EXPLORER)
    mistakes = next(im for im in at.image if any("→" in c for c in im.captions))
    at.toggle(key="explain-mistakes").set_value(True)
    rerun(at)
    maps = [im for im in at.image if any("→" in c for c in im.captions)][-1]
    assert len(maps.value) == len(mistakes.value)
    assert [c.split(" · ")[0] for c in maps.captions] == list(mistakes.captions)
    votes = [c.split(" · FER+ votes: ")[1] for c in maps.captions if " · FER+ votes: " in c]
    assert votes and all(0 < sum(int(part.rsplit(" ", 1)[1]) for part in v.split(", ")) <= 10 for v in votes)
