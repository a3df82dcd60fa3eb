"""Training smoke runs on a few hundred real FER-2013 images: checkpoint, kill, resume, finish.

Commands run in this process through the CLI's `main` (`_cli`), as `python -m emodetect` runs them, except
the run that is killed, which needs a process of its own: each command in a new process would import
TensorFlow again (~9 s)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from emodetect.paths import PROJECT_DIR

SMOKE = ["--arch", "resnet_narrow", "--limit", "256", "--epochs", "3", "--batch-size", "32", "--seed", "7"]


def _train_process(run_dir, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.Popen([sys.executable, "-m", "emodetect", "train", "--run-dir", str(run_dir), *extra],
                            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _cli(capsys, *args) -> tuple[int, str]:
    """`python -m emodetect ARGS` in this process: its exit status and everything it printed."""
    from emodetect.cli import main

    status = main([str(a) for a in args])
    printed = capsys.readouterr()
    return status, printed.out + printed.err


def _epochs_done(run_dir) -> int:
    try:
        return json.loads((run_dir / "state.json").read_text())["epochs_done"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.fixture(scope="module")
def small_fer(fer, tmp_path_factory):
    """A fer2013.csv of 256 real Training and 256 real PublicTest faces (seed 7): what the smoke runs train
    and calibrate on. Every command reads its data afresh, and the CSV reads in a blink where the image
    folder takes 7 s."""
    from emodetect.training.train import _subset

    rows = ["emotion,pixels,Usage"]
    for usage in ("Training", "PublicTest"):
        split = _subset(fer[usage], 256, 7)
        rows += [f"{label},{' '.join(map(str, image.ravel()))},{usage}" for image, label in zip(split.images,
                                                                                               split.labels)]
    csv = tmp_path_factory.mktemp("data") / "fer2013.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


@pytest.fixture(scope="module")
def smoke_run(small_fer, tmp_path_factory):
    """One uninterrupted smoke run, shared: the reference a killed run must match, and the run whose last
    epochs are averaged (tests that change it work on a copy)."""
    from emodetect.cli import main

    run = tmp_path_factory.mktemp("smoke") / "run"
    assert main(["train", "--run-dir", str(run), "--data", str(small_fer), *SMOKE]) == 0
    return run


@pytest.mark.slow
def test_killed_run_resumes_and_matches_an_uninterrupted_one(small_fer, smoke_run, tmp_path, capsys):
    killed = tmp_path / "killed"
    proc = _train_process(killed, "--data", str(small_fer), *SMOKE)
    deadline = time.time() + 240
    while _epochs_done(killed) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert _epochs_done(killed) >= 1, proc.communicate()[0][-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stopped_at = _epochs_done(killed)
    assert stopped_at < 3, "the run finished before it could be killed; make the smoke run longer"
    assert (killed / "checkpoint.keras").exists() and (killed / "best.keras").exists()

    status, out = _cli(capsys, "train", "--run-dir", killed, "--resume")
    assert status == 0, out[-2000:]
    assert f"epoch {stopped_at + 1}/3" in out and "epoch 1/3" not in out

    reference = tmp_path / "reference"
    shutil.copytree(smoke_run, reference)

    got = json.loads((killed / "state.json").read_text())
    want = json.loads((reference / "state.json").read_text())
    assert [h["epoch"] for h in got["history"]] == [1, 2, 3]
    for key in ("loss", "accuracy", "public_loss", "public_accuracy"):
        np.testing.assert_allclose([h[key] for h in got["history"]], [h[key] for h in want["history"]],
                                   rtol=1e-4, err_msg=key)
    assert got["cpu_seconds"] > 0

    # One run exported alone, then averaged with the other run: one .keras and one .tflite that average
    # the two, calibrated on the CSV's PublicTest faces as one model for the views asked for.
    from emodetect.classifier import EmotionClassifier
    from emodetect.training.evaluate import at_temperature
    from emodetect.training.train import load_state

    alone, shipped = tmp_path / "alone" / "model.keras", tmp_path / "shipped" / "model.keras"
    # A CSV has no FER+ votes to calibrate the FER+ reading against: one error line, nothing written.
    status, out = _cli(capsys, "export", "--run-dir", killed, "--model", alone, "--data", small_fer)
    assert status == 2 and out.strip().splitlines()[-1].startswith("error: the ferplus reading is calibrated against")
    assert not alone.with_suffix(".tflite").exists()
    status, out = _cli(capsys, "export", "--labels", "fer2013", "--run-dir", killed, "--model", alone,
                       "--data", small_fer)
    assert status == 0, out[-2000:]
    status, out = _cli(capsys, "export", "--labels", "fer2013", "--run-dir", reference, "--member", alone,
                       "--model", shipped, "--views", "flip", "--data", small_fer)
    assert status == 0, out[-2000:]
    record = json.loads(shipped.with_name("training.json").read_text())
    assert record["labels"] == "fer2013" and EmotionClassifier.load(shipped.with_suffix(".tflite")).labels == "fer2013"
    # Calibrated for the views it was exported for, and run with them unless told otherwise.
    assert record["views"] == "flip" and EmotionClassifier.load(shipped.with_suffix(".tflite")).tta == "flip"
    assert record["command"].endswith(f"--model {shipped} --views flip --data {small_fer}")
    temperature = record["members"][0]["temperature"]
    assert temperature != 1.0
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    members = [EmotionClassifier.load(model, tta="plain").predict(faces)
               for model in (reference / "best.keras", alone.with_suffix(".tflite"))]
    ensemble = EmotionClassifier.load(shipped.with_suffix(".tflite"), tta="plain").predict(faces)
    # int8 weights: close, not equal
    np.testing.assert_allclose(ensemble, at_temperature(np.array(members), temperature), atol=0.02)
    alone_record = json.loads(alone.with_name("training.json").read_text())
    assert alone_record["views"] == "flip_zoom"  # the default
    assert record["members"][0] == {**load_state(reference), "command": record["members"][0]["command"],
                                    "temperature": temperature}
    assert record["members"][1] == {**alone_record["members"][0],
                                    "temperature": alone_record["members"][0]["temperature"] * temperature}

    # An ensemble is not a member (its members would be weighted unequally): one clear error line.
    status, out = _cli(capsys, "export", "--member", shipped, "--model", tmp_path / "nested.keras")
    assert status == 2 and out.strip().splitlines() == [
        f"error: {shipped} is an ensemble of 2 networks; give its runs instead"]


@pytest.mark.slow
def test_distillation_learns_from_the_teachers_answers_kept_in_the_run(small_fer, tmp_path, capsys):
    """`--teacher` mixes a trained model's probabilities into the targets. They are computed once and
    kept in the run, with the teacher's training record, so the run resumes after the teacher file is
    gone, and the student's model card counts the CPU hours its teacher took."""
    from emodetect.classifier import EmotionClassifier
    from emodetect.data import load_fer2013
    from emodetect.labels import DEFAULT_READING
    from emodetect.paths import LITE_MODEL, MODEL_CARD
    from emodetect.training.evaluate import training_summary
    from emodetect.training.train import TEACHER_PROBS, epoch_dataset, load_state, prepare_batches

    teacher = tmp_path / "teacher.tflite"
    teacher.write_bytes(LITE_MODEL.read_bytes())
    teacher_record = json.loads(LITE_MODEL.with_name("training.json").read_text())
    teacher.with_name("training.json").write_text(json.dumps(teacher_record))
    run = tmp_path / "student"
    status, out = _cli(capsys, "train", "--run-dir", run, "--data", small_fer, *SMOKE[:4], "--epochs", "1",
                       "--batch-size", "32", "--seed", "7", "--teacher", teacher, "--distill-weight", "0.7")
    assert status == 0, out[-2000:]

    faces = load_fer2013(small_fer)["Training"]  # all 256
    kept = np.load(run / TEACHER_PROBS)
    np.testing.assert_allclose(kept, EmotionClassifier.load(teacher).predict(faces.images), atol=1e-5)
    cfg = load_state(run)["config"]
    assert cfg["teacher"] == str(teacher) and cfg["distill_weight"] == 0.7

    # What the loss sees: 30% the label, 70% the teacher, in the epoch's order.
    from emodetect.training.train import TrainConfig

    batches = prepare_batches(faces.images, faces.labels, kept, 0.7)
    (_, targets), = epoch_dataset(batches, 0, TrainConfig(**cfg)).take(1)
    order = np.random.default_rng([7, 0]).permutation(256)[:32]
    np.testing.assert_allclose(targets.numpy(), 0.3 * np.eye(7)[faces.labels[order]] + 0.7 * kept[order], atol=1e-6)

    teacher.unlink()
    teacher.with_name("training.json").unlink()
    status, out = _cli(capsys, "train", "--run-dir", run, "--resume", "--epochs", "2")
    assert status == 0 and "epoch 2/2" in out, out[-2000:]

    # The member record `export` writes for this run (test_killed_run_... exports through this same function).
    from emodetect.training.train import _run_member

    _, member = _run_member(run)
    assert member["teacher"] == {"model": str(teacher), "members": teacher_record["members"]}
    summary = training_summary([member])
    # The teacher is a shipped model: every run behind it, as its card counts them (test_model_card checks how).
    teacher_hours = json.loads(MODEL_CARD.read_text())["readings"][DEFAULT_READING]["training"]["cpu_hours"]
    assert summary["members"][0]["teacher"]["cpu_hours"] == pytest.approx(teacher_hours, abs=1e-5)
    assert summary["cpu_hours"] == pytest.approx(member["cpu_seconds"] / 3600 + teacher_hours)


@pytest.mark.slow
def test_checkpoint_averaging_ships_the_mean_of_the_last_epochs_only_if_it_scores_higher(smoke_run, tmp_path,
                                                                                         capsys):
    """The trainer keeps each late epoch's weights; `average` scores the mean of the last k on PublicTest
    for every k and keeps the best, which `export` ships only where it beats the best single epoch."""
    from emodetect._tensorflow import keras
    from emodetect.training.train import AVERAGED, load_state, shipped_weights

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run)
    snapshots = sorted(p.name for p in (run / "epochs").iterdir())
    assert snapshots == ["001.npz", "002.npz", "003.npz"]  # all three: within the last 10 epochs
    final = keras.models.load_model(run / "checkpoint.keras").get_weights()
    with np.load(run / "epochs" / "003.npz") as last:
        np.testing.assert_array_equal(last["arr_0"], final[0])

    status, out = _cli(capsys, "average", "--run-dir", run)
    assert status == 0, out[-2000:]
    assert "last 2 epochs averaged: PublicTest" in out and "last 3 epochs averaged" in out
    state = load_state(run)
    first, last = state["averaged"]["epochs"]
    assert last == 3 and first in (1, 2)
    assert state["averaged"]["public_accuracy"] == max(state["averaged"]["public_accuracy_by_epochs_averaged"].values())
    stacks = []
    for epoch in range(first, 4):
        with np.load(run / "epochs" / f"{epoch:03d}.npz") as arrays:
            stacks.append(arrays["arr_0"])
    averaged = keras.models.load_model(run / AVERAGED).get_weights()
    np.testing.assert_allclose(averaged[0], np.mean(stacks, axis=0), rtol=1e-5, atol=1e-7)
    beats = state["averaged"]["public_accuracy"] > state["best_public_accuracy"]
    assert shipped_weights(state) == (AVERAGED if beats else "best.keras")
    assert shipped_weights({**state, "best_public_accuracy": 1.0}) == "best.keras"
    assert shipped_weights({**state, "best_public_accuracy": 0.0}) == AVERAGED


def test_averaging_a_run_without_its_last_epochs_is_one_error_line(tmp_path, capsys):
    (tmp_path / "state.json").write_text(json.dumps({"config": {"data": "x"}, "epochs_done": 5}))
    status, out = _cli(capsys, "average", "--run-dir", tmp_path)
    assert status == 2
    assert out.strip().splitlines() == [
        f"error: {tmp_path}: checkpoint averaging needs the weights of at least the last two epochs in "
        f"{tmp_path / 'epochs'}; found 0"]


def test_resuming_a_run_that_never_started_is_one_error_line(tmp_path, capsys):
    missing = tmp_path / "never-started"
    status, out = _cli(capsys, "train", "--run-dir", missing, "--resume")
    assert status == 2
    assert out.strip().splitlines() == [f"error: {missing / 'checkpoint.keras'}: nothing to resume "
                                        "(no checkpoint in this run folder)"]


def test_soft_labels_mix_each_faces_fer_plus_votes_into_its_label(fer_dir, fer):
    """`--soft-labels 0.6`: a face the annotators voted on learns 40% its FER-2013 label and 60% their vote
    shares (a sad face voted "neutral 6, sad 4" aims at neutral 0.36, sad 0.64); a face without votes keeps
    its label; and what training reads is the FER+ file's own rows for those faces."""
    from emodetect.data import load_ferplus_votes
    from emodetect.labels import EMOTIONS
    from emodetect.paths import FERPLUS_VOTES
    from emodetect.training.train import TrainConfig, _subset, _vote_distribution, prepare_batches

    faces = _subset(fer["Training"], 2000, 7)
    cfg = TrainConfig(data=str(fer_dir), soft_labels=0.6)
    votes = _vote_distribution(faces, cfg)
    targets = prepare_batches(faces.images, faces.labels, votes=votes, soft_labels=0.6).targets
    rows = load_ferplus_votes(FERPLUS_VOTES)
    voted = unvoted = 0
    for i, source in enumerate(faces.sources):
        counts = rows.get(os.path.relpath(source, fer_dir), {})
        ours = np.array([counts.get(e, 0) for e in EMOTIONS], float)
        expected = np.eye(7)[faces.labels[i]]
        if ours.sum():
            expected = 0.4 * expected + 0.6 * ours / ours.sum()
            voted += 1
        else:
            unvoted += 1
        np.testing.assert_allclose(targets[i], expected, atol=1e-6)
    assert voted > 1500 and unvoted > 50  # 88% of the training faces have votes


def test_soft_labels_need_the_image_folder_the_votes_describe(tmp_path, capsys):
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n" + "".join(f"3,{' '.join(['9'] * 2304)},{u}\n" for u in
                                                       ["Training"] * 40 + ["PublicTest"] * 4))
    status, out = _cli(capsys, "train", "--run-dir", tmp_path / "run", "--data", csv, "--soft-labels", "0.5",
                       "--epochs", "1")
    assert status == 2
    assert out.strip().splitlines()[-1].startswith("error: --soft-labels needs the FER-2013 image folder")


def test_a_fine_tune_starts_from_a_trained_network(small_fer, tmp_path, capsys):
    """`--init runs/narrow-distill-e48/best.keras`: a committed run's network is where training starts, so
    one epoch at a tiny learning rate already scores like a trained model (a fresh network scores near chance),
    and its training record goes with the run; a model with no network of that architecture is one error line."""
    from emodetect.paths import PROJECT_DIR

    network = PROJECT_DIR / "runs" / "narrow-distill-e48" / "best.keras"

    status, out = _cli(capsys, "train", "--run-dir", tmp_path / "tuned", "--data", small_fer, "--arch", "resnet_narrow",
                       "--limit", "256", "--batch-size", "32", "--epochs", "1", "--lr", "1e-7", "--init", network)
    assert status == 0, out[-2000:]
    state = json.loads((tmp_path / "tuned" / "state.json").read_text())
    assert state["config"]["init"] == str(network)
    assert state["history"][0]["public_accuracy"] > 0.5  # 256 PublicTest faces; chance is 1/7

    # The run keeps the record of the network it started from, so the model card counts its hours too,
    # even after the model file it came from is replaced.
    from emodetect.training.evaluate import training_summary
    from emodetect.training.train import _run_member, _training_record

    started = _training_record(json.loads(network.with_name("state.json").read_text()))
    _, record = _run_member(tmp_path / "tuned")
    assert record["init"] == {"model": str(network), "members": [started]}
    summary = training_summary([record])
    started_hours = training_summary([started])["cpu_hours"]  # itself, and what it was made from in turn
    assert started_hours >= started["cpu_seconds"] / 3600 > 0
    assert summary["members"][0]["init"]["cpu_hours"] == pytest.approx(started_hours)
    assert summary["cpu_hours"] == pytest.approx(state["cpu_seconds"] / 3600 + started_hours)

    status, out = _cli(capsys, "train", "--run-dir", tmp_path / "wrong", "--data", small_fer, "--arch", "seed",
                       "--limit", "64", "--init", network)
    assert status == 2
    assert out.strip().splitlines()[-1] == f"error: {network}: holds no seed network to start from"
