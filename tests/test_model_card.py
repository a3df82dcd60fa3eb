"""The shipped models and their card agree: re-evaluating each reading's model on the real data reproduces
the card, and the card's choices (the default reading, each door's views) follow from its own numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emodetect.classifier import EVALUATION_THREADS, TTA_VIEWS, EmotionClassifier, recorded_labels, recorded_views
from emodetect.data import load_fer2013
from emodetect.detector import DOOR_VIEWS, EmotionDetector
from emodetect.labels import DEFAULT_READING, EMOTIONS, READINGS
from emodetect.paths import LITE_MODEL, PROJECT_DIR, lite_model
from emodetect.preprocess import to_input
from emodetect.training.evaluate import (
    NO_FACE,
    accuracy_by_views,
    fit_temperature,
    load_model_card,
    reading_card,
    wild_photos,
    wild_predictions,
    wild_scores,
)


@pytest.fixture(scope="module")
def card():
    return load_model_card()


@pytest.fixture(scope="module", params=list(READINGS))
def labels(request):
    return request.param


@pytest.fixture(scope="module")
def fresh(fer_dir, labels):
    """The reading's card part computed again on PrivateTest, every set of views: the split every figure the app
    shows is from (PublicTest's scoring is the same code: test_public_only_... checks it on 300 faces)."""
    return reading_card(labels, fer_dir, scored=("PrivateTest",))


def test_each_reading_ships_small_and_scores_against_its_own_truth(card, labels):
    """The targets of issue 34, on PrivateTest, measured once after choosing on PublicTest: the FER+ reading
    gives what most annotators chose on 80% or more of the faces through the photo door; the FER-2013 reading
    is no worse than the compromise it replaces at FER-2013's labels (its target of 72% was not reached:
    see models/runs.md)."""
    reading = card["readings"][labels]
    assert lite_model(labels).stat().st_size <= 8 * 1024 * 1024
    assert reading["runtime"]["bytes"] == lite_model(labels).stat().st_size
    assert reading["labels"] == labels == recorded_labels(lite_model(labels))
    photo = reading["doors"]["photo"]
    if labels == "ferplus":
        assert photo["ferplus_accuracy"]["PrivateTest"] >= 0.80
    else:
        assert photo["accuracy"]["PrivateTest"] >= 0.70


def test_the_default_reading_is_the_one_real_photos_reward(card):
    recall = {labels: card["readings"][labels]["wild"]["photo"]["macro_recall"] for labels in READINGS}
    assert card["default_reading"] == DEFAULT_READING == max(recall, key=recall.get)
    assert EmotionClassifier.load().labels == EmotionDetector.load(preset="webcam").labels == DEFAULT_READING
    assert LITE_MODEL == lite_model(DEFAULT_READING)


def test_the_app_runs_the_model_with_the_views_it_was_exported_for(card, labels):
    """`export --views` chose the views (docs/model.md, "Test-time augmentation"), calibrated the model for them
    and recorded them beside it; the app, the CLI and the card's headline numbers all use that record."""
    reading = card["readings"][labels]
    assert reading["app_tta"] == recorded_views(lite_model(labels))
    assert EmotionClassifier.load(labels=labels).tta == reading["app_tta"]
    assert set(reading["metrics"]["PublicTest"]) == set(TTA_VIEWS) == set(card["tta_views"])


def test_the_app_shows_calibrated_percentages_fitted_on_public_test(card, fer, fer_dir, labels):
    """`export` divided the logits by the temperature that fits PublicTest best against the reading's own truth,
    as the app runs the model (refitting it now finds nothing left to correct), and on PrivateTest, never used to
    fit it, the confidence shown is within a few points of the accuracy against that truth."""
    from emodetect.data import reading_truth
    from emodetect.paths import FERPLUS_VOTES

    public = fer["PublicTest"]
    rows, truth = reading_truth(public, labels, fer_dir, FERPLUS_VOTES)
    views = EmotionClassifier.load(labels=labels, threads=EVALUATION_THREADS).view_probabilities(
        to_input(public.images[rows]))
    assert fit_temperature(views, truth) == pytest.approx(1.0, abs=0.02)
    assert card["readings"][labels]["calibration"]["ece"] <= 0.04


def test_the_model_the_app_runs_is_the_committed_runs_converted(fer, labels):
    """models/<reading>/emodetect.tflite is what `export` made of the runs committed in runs/ (their networks,
    the temperature recorded for each, their probabilities averaged): each member's `best.keras` (or averaged
    weights) converted as `export` converts them gives the shipped model's answers.

    Compared by what they say, not byte for byte: the converter's int8 scales round differently on different
    CPUs (answers by < 0.012 on PublicTest). A model re-trained but not re-exported disagrees on a fifth or more.
    """
    from emodetect.classifier import keras_to_lite
    from emodetect.litert import LiteModel
    from emodetect.training.train import load_state, shipped_weights

    faces = to_input(fer["PublicTest"].images[::4])
    members = json.loads(lite_model(labels).with_name("training.json").read_text())["members"]
    logits = []
    for member in members:
        run = Path(member["config"]["command"][member["config"]["command"].index("--run-dir") + 1])
        weights = PROJECT_DIR / run / shipped_weights(load_state(PROJECT_DIR / run))
        (probs,) = LiteModel(keras_to_lite(weights), EVALUATION_THREADS)(faces)
        logits.append(np.log(np.clip(probs, 1e-12, 1)) / member["temperature"])
    expected = np.mean([np.exp(x) / np.exp(x).sum(axis=1, keepdims=True) for x in logits], axis=0)
    shipped = EmotionClassifier.load(labels=labels, tta="plain", threads=EVALUATION_THREADS).predict_inputs(faces)
    assert np.abs(expected - shipped).max() < 0.05
    assert (expected.argmax(axis=1) == shipped.argmax(axis=1)).mean() >= 0.995


# Scores re-measured on another CPU may differ by a face or two: the zoomed view is resized in floating
# point, which OpenCV rounds differently with AVX2 and with AVX-512 (CI saw PrivateTest flip_zoom move by
# one face: accuracy by 0.0003, macro-F1 by 0.002, since one disgust face of 55 weighs 1/7 of the mean).
# A model re-trained but not re-exported moves them by whole points.
ACCURACY_TOLERANCE = 0.001  # 3.6 faces of 3,589
MACRO_F1_TOLERANCE = 0.005  # two faces of the smallest class


def test_private_test_accuracy_reproduces_the_card(card, fresh, labels):
    reading = card["readings"][labels]
    assert list(fresh["metrics"]) == ["PrivateTest"]
    for split in fresh["metrics"]:
        for way in TTA_VIEWS:
            for metric, tolerance in (("accuracy", ACCURACY_TOLERANCE), ("macro_f1", MACRO_F1_TOLERANCE)):
                assert fresh["metrics"][split][way][metric] == pytest.approx(
                    reading["metrics"][split][way][metric], abs=tolerance), (labels, split, way, metric)


def test_card_details_reproduce(card, fresh, labels):
    """The headline configuration reproduces exactly; each door's scores within a face or two."""
    reading = card["readings"][labels]
    assert fresh["private_test"]["confusion_matrix"] == reading["private_test"]["confusion_matrix"]
    assert fresh["private_test"]["valence_confusion_matrix"] == reading["private_test"]["valence_confusion_matrix"]
    assert fresh["calibration"]["ece"] == pytest.approx(reading["calibration"]["ece"], abs=1e-3)
    for key in ("labels", "architecture", "parameters", "runtime", "training", "own_truth"):
        assert fresh[key] == reading[key], key
    assert set(fresh["doors"]) == set(reading["doors"])
    for door, config in reading["doors"].items():
        again = fresh["doors"][door]
        assert again["views"] == config["views"], door
        for scores in ("accuracy", "ferplus_accuracy"):
            assert again[scores]["PrivateTest"] == pytest.approx(config[scores]["PrivateTest"],
                                                                 abs=ACCURACY_TOLERANCE), (door, scores)


def test_the_fer_plus_scores_reproduce(card, fresh, labels):
    """The second benchmark, against the annotators' plurality: the same faces, the same matrix, the same
    scores when the shipped model is evaluated again."""
    ferplus, again = card["readings"][labels]["ferplus"], fresh["ferplus"]
    assert again["faces"]["PrivateTest"] == ferplus["faces"]["PrivateTest"] == 3245
    assert again["private_test"]["confusion_matrix"] == ferplus["private_test"]["confusion_matrix"]
    for split in again["metrics"]:
        for views, scores in ferplus["metrics"][split].items():
            assert again["metrics"][split][views]["accuracy"] == pytest.approx(scores["accuracy"], abs=0.001)
    # The annotators overrule about a third of FER-2013's labels (see ../shared/data/ferplus/README.md).
    assert 0.6 < ferplus["agreement_with_fer2013"]["PrivateTest"] < 0.7


def test_each_door_runs_the_views_the_card_scores_it_with(card, labels):
    reading = card["readings"][labels]
    for door, config in reading["doors"].items():
        assert EmotionDetector.load(preset=door, labels=labels).classifier.tta == config["views"]
        assert config["accuracy"]["PrivateTest"] == reading["metrics"]["PrivateTest"][config["views"]]["accuracy"]
    assert set(reading["doors"]) == set(DOOR_VIEWS)
    assert reading["doors"]["photo"]["views"] == "flip_zoom"  # no frame budget: every view (benchmarks/doors.py)


WILD_SAMPLE = 25  # every 25th wild photo is re-run through every door: 55 photos, seconds


def test_the_wild_scores_reproduce_and_follow_from_the_answers_kept(card, wild_dir):
    """The card keeps every door's answer for every real photo in each reading; those answers are what the
    doors give now (every 25th photo run again, end to end), and the card's figures are computed from them."""
    photos = wild_photos(wild_dir)
    assert len(photos) == card["wild_photos"]["photos"]
    truth = [label for _, label in photos]
    sample = photos[::WILD_SAMPLE]
    again = wild_predictions(sample, {labels: EmotionClassifier.load(labels=labels) for labels in READINGS})
    for labels, reading in card["readings"].items():
        for door in DOOR_VIEWS:
            kept = reading["wild"][door]
            assert again[labels][door] == kept["predictions"][::WILD_SAMPLE], (labels, door)
            scores = wild_scores(kept["predictions"], truth)
            for key in ("faces_found", "accuracy", "macro_recall"):
                assert kept[key] == pytest.approx(scores[key], abs=1e-6), (labels, door, key)
            assert set(kept["predictions"]) <= {NO_FACE, *map(str, range(len(EMOTIONS)))}


def distinct_run_hours(members: list[dict]) -> dict[str, float]:
    """Each run's CPU hours by its command, teachers' runs and fine-tunes' starting runs included: a run
    that is both a member and part of a teacher was trained once."""
    hours = {}
    for member in members:
        hours[member["command"]] = member["cpu_hours"]
        for behind in ("teacher", "init"):
            hours.update(distinct_run_hours(member.get(behind, {}).get("members", [])))
    return hours


def test_card_is_internally_consistent(card, labels):
    reading = card["readings"][labels]
    matrix = np.array(reading["private_test"]["confusion_matrix"])
    counts = card["class_counts"]["PrivateTest"]
    assert matrix.sum(axis=1).tolist() == list(counts.values())
    accuracy = np.trace(matrix) / matrix.sum()
    assert accuracy == pytest.approx(reading["metrics"]["PrivateTest"][reading["app_tta"]]["accuracy"], abs=1e-6)
    annotators = np.array(reading["ferplus"]["private_test"]["confusion_matrix"])
    assert annotators.sum() == reading["ferplus"]["faces"]["PrivateTest"]
    assert np.trace(annotators) / annotators.sum() == pytest.approx(
        reading["ferplus"]["metrics"]["PrivateTest"][reading["app_tta"]]["accuracy"], abs=1e-6)
    members = reading["training"]["members"]
    assert members and reading["training"]["cpu_hours"] == pytest.approx(sum(distinct_run_hours(members).values()),
                                                                       abs=1e-5)
    for member in members:
        assert member["command"].startswith("python -m emodetect train")
        assert member["cpu_hours"] > 0 and len(member["history"]) == member["epochs"]
        assert 1 <= member["chosen_epoch"] <= member["epochs"]
        averaged = member.get("averaged_epochs")  # absent unless the member shipped averaged weights
        assert averaged is None or 1 <= averaged[0] < averaged[1] == member["epochs"]


def test_public_only_scores_a_candidate_as_the_card_does_and_writes_nothing(fer, fer_dir, tmp_path):
    """`evaluate --public-only` is how a candidate is chosen: PublicTest scored by the card's own code with
    every set of views, against FER-2013's labels and the FER+ plurality (on 300 of its faces here, linked into
    a folder of their own: the whole split takes minutes on two cores), no PrivateTest score printed, and no
    card written."""
    public = fer["PublicTest"]
    some = tmp_path / "fer2013"
    for source in public.sources[::12]:
        link = some / Path(source).relative_to(fer_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source)
    result = subprocess.run([sys.executable, "-m", "emodetect", "evaluate", "--public-only", "--model", str(LITE_MODEL),
                             "--data", str(some), "--card", str(tmp_path / "card.json")],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    fer2013_line, ferplus_line = result.stdout.strip().splitlines()
    printed = dict(item.rsplit(" ", 1) for item in fer2013_line.split(": ", 1)[1].split(", "))
    assert set(printed) == set(TTA_VIEWS)
    expected = accuracy_by_views(EmotionClassifier.load(LITE_MODEL, threads=EVALUATION_THREADS),
                                 load_fer2013(some)["PublicTest"])
    for tta, accuracy in printed.items():
        assert float(accuracy) == pytest.approx(expected[tta], abs=1e-4)
    faces = int(ferplus_line.split("(")[1].split(" faces")[0])
    assert ferplus_line.startswith("PublicTest accuracy against the FER+ plurality") and 250 < faces < 300
    assert "PrivateTest" not in result.stdout and not (tmp_path / "card.json").exists()
