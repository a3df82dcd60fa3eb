"""Metrics on FER-2013 splits and real photos, and the model card (`models/model_card.json`).

Every number the app or the README shows about the models comes from the card,
and the card comes from this module run on the shipped models (one per reading,
`labels.READINGS`) and the data. Running it twice on the same models and data
writes the same file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from emodetect.classifier import EVALUATION_THREADS, QUANTIZATION, TTA_DESCRIPTIONS, EmotionClassifier
from emodetect.data import SPLITS, FerPlus, Split, ferplus_for, load_fer2013, load_ferplus_votes, reading_truth
from emodetect.imageio import read_image
from emodetect.labels import EMOTIONS, READINGS, VALENCES, to_valence, valence_labels
from emodetect.paths import FERPLUS_VOTES, MODEL_CARD, WILD_PHOTOS, default_data_dir, lite_model
from emodetect.preprocess import INPUT_SIZE, to_input

ECE_BINS = 15
# Classes with fewer wild photos (fear: 16) are left out of the wild set's macro recall: one photo would
# move it by 1/6 of 6%.
MIN_CLASS_PHOTOS = 20


def _round(value, digits: int = 6):
    """Round floats (recursively) so the card is stable text."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v, digits) for v in value]
    return value


def calibration(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict:
    """Expected calibration error of the top-1 confidence, and the reliability-diagram bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        if count:
            acc, conf = float(correct[members].mean()), float(confidence[members].mean())
            ece += count / len(labels) * abs(acc - conf)
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
                         "accuracy": acc, "confidence": conf})
    return {"ece": float(ece), "bins": rows}


def at_temperature(view_probs: np.ndarray, temperature: float) -> np.ndarray:
    """N×7: the average over views of V×N×7 probabilities, each view's logits divided by `temperature`
    first (a softmax's log-probabilities are its logits up to a constant)."""
    logits = np.log(np.clip(view_probs.astype(np.float64), 1e-12, 1.0)) / temperature
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (probs / probs.sum(axis=-1, keepdims=True)).mean(axis=0)


def fit_temperature(view_probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that gives the views' averaged probabilities the least log loss on `labels`.

    Training's label smoothing and the averaging of views both leave our models underconfident (their
    top probability below their accuracy); one number fitted on PublicTest undoes that without changing
    which emotion wins in a single view."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(labels))
    result = minimize_scalar(lambda t: -np.log(at_temperature(view_probs, t)[rows, labels]).mean(),
                             bounds=(0.2, 5.0), method="bounded", options={"xatol": 1e-4})
    return float(result.x)


def split_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy and macro-F1 of 7-class probabilities against integer labels."""
    predicted = probs.argmax(axis=1)
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro", labels=range(len(EMOTIONS)),
                                       zero_division=0))}


def class_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """The 7-class confusion matrix (rows: truth) and each emotion's precision, recall, F1 and support."""
    predicted = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=range(len(EMOTIONS)), zero_division=0)
    return {
        "confusion_matrix": confusion_matrix(labels, predicted, labels=range(len(EMOTIONS))).tolist(),
        "per_class": {e: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for e, p, r, f, s in zip(EMOTIONS, precision, recall, f1, support)},
    }


def detailed_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Confusion matrices (7- and 3-class), per-class scores and calibration for one split."""
    true_valence = valence_labels(labels)
    predicted_valence = to_valence(probs).argmax(axis=1)
    return {
        **class_metrics(probs, labels),
        "valence_accuracy": float(accuracy_score(true_valence, predicted_valence)),
        "valence_confusion_matrix": confusion_matrix(true_valence, predicted_valence,
                                                     labels=range(len(VALENCES))).tolist(),
        "calibration": calibration(probs, labels),
    }


def ferplus_metrics(probs: dict[str, dict[str, np.ndarray]], splits: dict[str, Split], ferplus: dict[str, FerPlus],
                    views: str) -> dict:
    """The card's second benchmark: the same probabilities scored against the FER+ annotators' plurality,
    on the faces that have one (`FerPlus.scored`), with every set of views per split and in detail on
    PrivateTest with `views`; and how often the annotators' plurality is the FER-2013 label."""
    scored = {name: f.scored for name, f in ferplus.items()}
    truth = {name: f.plurality[scored[name]] for name, f in ferplus.items()}
    return {
        "faces": {name: int(s.sum()) for name, s in scored.items()},
        "agreement_with_fer2013": {name: float((truth[name] == splits[name].labels[s]).mean())
                                   for name, s in scored.items()},
        "metrics": {name: {tta: split_metrics(p[scored[name]], truth[name]) for tta, p in by_views.items()}
                    for name, by_views in probs.items()},
        "private_test": class_metrics(probs["PrivateTest"][views][scored["PrivateTest"]], truth["PrivateTest"]),
    }


def door_accuracies(metrics: dict, ferplus: dict | None, recorded: str) -> dict:
    """Each door's views (`detector.DOOR_VIEWS`; `recorded`: the model's own) and its accuracy per split,
    against FER-2013's labels and, where the card has them, against the FER+ plurality."""
    from emodetect.detector import DOOR_VIEWS, door_views

    doors = {}
    for door in DOOR_VIEWS:
        views = door_views(door, recorded)
        doors[door] = {"views": views, "accuracy": {split: m[views]["accuracy"] for split, m in metrics.items()}}
        if ferplus:
            doors[door]["ferplus_accuracy"] = {split: m[views]["accuracy"] for split, m in ferplus["metrics"].items()}
    return doors


def split_probabilities(clf: EmotionClassifier, splits: dict[str, Split]) -> dict[str, dict[str, np.ndarray]]:
    """N×7 probabilities per split for each set of test-time views (`TTA_VIEWS`), computed once for
    both the scores of every set and the app's detailed PrivateTest metrics."""
    return {name: clf.predict_every_views(to_input(split.images)) for name, split in splits.items()}


def public_test_by_views(model_path: str | os.PathLike, data: str | os.PathLike | None = None,
                         votes: str | os.PathLike = FERPLUS_VOTES) -> dict[str, dict[str, float]]:
    """PublicTest accuracy of the model at `model_path` (`.keras`, converted as `export` does, or `.tflite`)
    with each set of test-time views: what chooses between candidates without scoring PrivateTest.
    Against FER-2013's labels ("FER-2013") and, with the FER+ `votes` for a FER-2013 folder, against the
    annotators' plurality on the faces that have one ("FER+", with "faces": how many)."""
    data = Path(data or default_data_dir())
    public = load_fer2013(data)["PublicTest"]
    by_views = split_probabilities(EmotionClassifier.load(model_path, threads=EVALUATION_THREADS),
                                   {"PublicTest": public})["PublicTest"]
    scores = {"FER-2013": {tta: split_metrics(p, public.labels)["accuracy"] for tta, p in by_views.items()}}
    if data.is_dir() and Path(votes).is_file():
        ferplus = ferplus_for(public, data, load_ferplus_votes(votes))
        if ferplus.scored.any():
            truth = ferplus.plurality[ferplus.scored]
            scores["FER+"] = {tta: split_metrics(p[ferplus.scored], truth)["accuracy"] for tta, p in by_views.items()}
            scores["FER+ faces"] = int(ferplus.scored.sum())
    return scores


def public_test_lines(scores: dict) -> list[str]:
    """`public_test_by_views`' scores as the CLI and models/runs.md show them: one line per benchmark."""
    lines = [f"PublicTest accuracy: {views_line(scores['FER-2013'])}"]
    if "FER+" in scores:
        lines.append(f"PublicTest accuracy against the FER+ plurality ({scores['FER+ faces']} faces): "
                     f"{views_line(scores['FER+'])}")
    return lines


def accuracy_by_views(clf: EmotionClassifier, split: Split) -> dict[str, float]:
    """`clf`'s model's accuracy on `split` with each set of test-time views."""
    by_views = split_probabilities(clf, {"split": split})["split"]
    return {tta: split_metrics(probs, split.labels)["accuracy"] for tta, probs in by_views.items()}


def views_line(scores: dict[str, float]) -> str:
    """Accuracy per set of views as one line: "plain 0.6913, flip 0.6882, flip_zoom 0.6916"."""
    return ", ".join(f"{tta} {accuracy:.4f}" for tta, accuracy in scores.items())


def reading_card(labels: str, data: str | os.PathLike | None = None, votes: str | os.PathLike = FERPLUS_VOTES,
                 model_path: str | os.PathLike | None = None, scored: tuple[str, ...] = SPLITS[1:],
                 splits: dict[str, Split] | None = None) -> dict:
    """One reading's part of the card: its model (`paths.lite_model(labels)`, or `model_path`) scored on the
    FER-2013 test splits against FER-2013's labels ("metrics", "private_test") and, with the FER+ `votes` for a
    FER-2013 folder `data`, against the annotators' plurality ("ferplus"); each door's views and scores; and how
    it was trained. Every score is measured on the `.tflite` the app and the CLI run. "own_truth" names the
    truth the reading is trained and calibrated for, and "calibration" its expected calibration error there.
    `scored`: the splits scored (the card: PublicTest and PrivateTest; PrivateTest must be one); `splits`: `data`
    already read (`load_fer2013`)."""
    lite_path = Path(model_path or lite_model(labels))
    record = json.loads(lite_path.with_name("training.json").read_text())  # written by `export`
    clf = EmotionClassifier.load(lite_path, threads=EVALUATION_THREADS)
    data = Path(data or default_data_dir())
    splits = splits or load_fer2013(data)
    test_splits = {s: splits[s] for s in scored if s in splits}
    probs = split_probabilities(clf, test_splits)
    metrics = {name: {tta: split_metrics(p, test_splits[name].labels) for tta, p in by_views.items()}
               for name, by_views in probs.items()}
    ferplus = None
    if data.is_dir() and Path(votes).is_file():
        all_votes = load_ferplus_votes(votes)
        matched = {name: ferplus_for(split, data, all_votes) for name, split in test_splits.items()}
        if all(m.scored.any() for m in matched.values()):
            ferplus = ferplus_metrics(probs, test_splits, matched, clf.tta)
    card = {
        "labels": clf.labels,
        "meaning": READINGS[clf.labels],
        "architecture": record["architecture"],
        "parameters": record["parameters"],
        "runtime": {"file": f"{lite_path.parent.name}/{lite_path.name}", "bytes": lite_path.stat().st_size,
                    "engine": "LiteRT", "quantization": QUANTIZATION},
        "metrics": metrics,
        "app_tta": clf.tta,
        "doors": door_accuracies(metrics, ferplus, clf.tta),
        "private_test": detailed_metrics(probs["PrivateTest"][clf.tta], splits["PrivateTest"].labels),
        "training": {**training_summary(record.get("members", [])), "export_command": record.get("command")},
    }
    if ferplus:
        card["ferplus"] = {"votes": "FER+ (Barsoum et al. 2016): 10 annotators per face; scored on the faces "
                                    "whose most-voted emotion is a single one of our seven", **ferplus}
    rows, truth = reading_truth(test_splits["PrivateTest"], clf.labels, data, votes)
    card["own_truth"] = "FER+ plurality" if clf.labels == "ferplus" else "FER-2013 labels"
    card["calibration"] = calibration(probs["PrivateTest"][clf.tta][rows], truth)
    return _round(card)


def wild_photos(folder: str | os.PathLike = WILD_PHOTOS) -> list[tuple[Path, str]]:
    """The labelled real photos of `folder` (../shared/data/wild/<emotion>/<file>), in a fixed order."""
    return [(path, path.parent.name) for path in sorted(Path(folder).glob("*/*")) if path.is_file()]


def accuracy_and_macro_recall(predicted: list[str | None], truth: list[str]) -> tuple[float, float]:
    """Accuracy, and recall averaged over the classes with at least `MIN_CLASS_PHOTOS` photos; a photo
    with no face found (`None`) counts as wrong."""
    predicted, truth = np.array(predicted, dtype=object), np.array(truth, dtype=object)
    recalls = [np.mean(predicted[truth == c] == c) for c in EMOTIONS if (truth == c).sum() >= MIN_CLASS_PHOTOS]
    return float(np.mean(predicted == truth)), float(np.mean(recalls))


NO_FACE = "-"  # in a door's `predictions`: no face found in that photo


def wild_predictions(photos: list[tuple[Path, str]], classifiers: dict[str, EmotionClassifier]) -> dict:
    """Each door's answer for each photo in each reading, end to end as the door runs a picture: its faces
    found, the largest one classified with the door's views. One string per reading and door, a character per
    photo: the `EMOTIONS` index of the answer, or `NO_FACE`."""
    from emodetect.detector import DOOR_VIEWS, EmotionDetector, door_views
    from emodetect.faces import FaceDetector

    finders = {door: EmotionDetector(next(iter(classifiers.values())), FaceDetector(door)) for door in DOOR_VIEWS}
    by_door = {door: {labels: clf.with_views(door_views(door, clf.tta)) for labels, clf in classifiers.items()}
               for door in DOOR_VIEWS}
    answers = {labels: {door: [] for door in DOOR_VIEWS} for labels in classifiers}
    for path, _ in photos:
        image = read_image(path)  # once for every door and reading
        for door, finder in finders.items():
            found = finder.find_faces(image)[:1]
            for labels, clf in by_door[door].items():
                results = EmotionDetector(clf, finder.face_detector).classify(image, found)
                answers[labels][door].append(str(int(results[0].probs.argmax())) if results else NO_FACE)
    return {labels: {door: "".join(a) for door, a in doors.items()} for labels, doors in answers.items()}


def wild_scores(predictions: str, truth: list[str]) -> dict:
    """A door's `wild_predictions` string scored against the photos' labels."""
    predicted = [None if p == NO_FACE else EMOTIONS[int(p)] for p in predictions]
    accuracy, macro_recall = accuracy_and_macro_recall(predicted, truth)
    return {"photos": len(truth), "faces_found": sum(p != NO_FACE for p in predictions) / len(truth),
            "accuracy": accuracy, "macro_recall": macro_recall, "predictions": predictions}


def build_model_card(data: str | os.PathLike | None = None, votes: str | os.PathLike = FERPLUS_VOTES,
                     wild: str | os.PathLike = WILD_PHOTOS) -> dict:
    """The model card as a dict: for each reading (`labels.READINGS`), what its model is, how it was trained
    and how well it does against both truths (`reading_card`), and end to end on the real photos of `wild`
    through every door (`wild_scores`); the reading the app shows first (the one with the higher macro recall
    on those photos through the photo door); and what the two readings share."""
    data = Path(data or default_data_dir())
    splits = load_fer2013(data)
    readings = {labels: reading_card(labels, data, votes, splits=splits) for labels in READINGS}
    photos = wild_photos(wild)
    truth = [label for _, label in photos]
    predictions = wild_predictions(photos, {labels: EmotionClassifier.load(lite_model(labels)) for labels in READINGS})
    for labels, by_door in predictions.items():
        readings[labels]["wild"] = {door: _round(wild_scores(p, truth)) for door, p in by_door.items()}
    return {
        "default_reading": max(READINGS, key=lambda r: readings[r]["wild"]["photo"]["macro_recall"]),
        "wild_photos": {"photos": len(photos), "source": "../shared/data/wild (evaluation only, never trained on)",
                        "macro_recall_over": [e for e in EMOTIONS if truth.count(e) >= MIN_CLASS_PHOTOS]},
        "input": {"size": [INPUT_SIZE, INPUT_SIZE, 1], "color": "gray", "range": [0.0, 1.0]},
        "emotions": list(EMOTIONS),
        "valences": list(VALENCES),
        "class_counts": {name: split.class_counts() for name, split in splits.items()},
        "tta_views": TTA_DESCRIPTIONS,
        "readings": readings,
    }


def training_summary(members: list[dict]) -> dict:
    """The card's account of training from `export`'s records: every member's command and curve, and
    the hours in all, a distilled member's teacher and a fine-tuned member's starting network included
    (neither could exist without them)."""
    runs = _distinct_runs(members)
    return {
        "cpu_hours": sum(r["cpu_seconds"] for r in runs) / 3600,
        "wall_hours": sum(r["wall_seconds"] for r in runs) / 3600,
        "members": [_member_card(m) for m in members],
    }


def _distinct_runs(records: list[dict]) -> list[dict]:
    """The runs behind these records, teachers and starting networks (and theirs) included, each once: a
    run that is both a member and part of another member's teacher was trained once, so it is counted once."""
    runs = {}
    for record in records:
        made_from = [run for key in ("teacher", "init") for run in record.get(key, {}).get("members", [])]
        for run in [record, *_distinct_runs(made_from)]:
            runs.setdefault(tuple(run["command"]), run)
    return list(runs.values())


def _member_card(record: dict) -> dict:
    """How one trained network was made, from its training record (`export`'s training.json)."""
    card = {
        "command": record["command"],
        "config": record["config"],
        "epochs": record["epochs_done"],
        "chosen_epoch": record["best_epoch"],
        "cpu_hours": record["cpu_seconds"] / 3600,
        "wall_hours": record["wall_seconds"] / 3600,
        "schedule_changes": record.get("schedule_changes", []),
        "temperature": record.get("temperature", 1.0),  # `export` divides its logits by it (1: not calibrated)
        "history": record["history"],
    }
    if record.get("averaged_epochs"):  # [first, last]: it shipped their mean, not its best epoch (`average`)
        card["averaged_epochs"] = record["averaged_epochs"]
    for made_from in ("teacher", "init"):  # distilled or fine-tuned: what it was made from, and what that cost
        if made_from in record:
            runs = record[made_from]["members"]
            card[made_from] = {"model": record[made_from]["model"], **training_summary(runs)}
            if not runs:  # it left no training record: its hours are unknown, not zero
                card[made_from]["cpu_hours"] = card[made_from]["wall_hours"] = None
    return card


def write_model_card(card: dict, path: str | os.PathLike = MODEL_CARD) -> None:
    Path(path).write_text(json.dumps(card, indent=1) + "\n")


def load_model_card(path: str | os.PathLike = MODEL_CARD) -> dict:
    return json.loads(Path(path).read_text())
