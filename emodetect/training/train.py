"""Training: augmentation, the epoch loop, checkpoints every epoch, and exact resume.

A run lives in one folder:
    checkpoint.keras   model + optimizer after the last finished epoch
    best.keras         the model with the best PublicTest accuracy so far
    state.json         config, epochs done, per-epoch history, CPU seconds
    teacher.npy        (distillation only) the teacher's probabilities for each training face
    teacher_training.json  (distillation only) the teacher's own training record, for its CPU hours
    epochs/NNN.npz     the weights after each of the last `average_last` epochs
    averaged.keras     (after `average`) their mean, shipped instead of best.keras if it beats it on PublicTest
Killing the process at any moment loses at most the epoch in progress;
`--resume` continues from the last checkpoint with the same data order and the
same augmentation draws as an uninterrupted run (both are keyed on seed and
epoch, not on process state).
"""

from __future__ import annotations

import io
import json
import math
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emodetect._tensorflow import keras, tf
from emodetect.atomic import atomic_write
from emodetect.classifier import DEFAULT_VIEWS, EVALUATION_THREADS
from emodetect.data import Split, ferplus_for, load_fer2013, load_ferplus_votes, reading_truth
from emodetect.errors import InputError
from emodetect.labels import DEFAULT_READING, EMOTIONS, check_reading
from emodetect.paths import FERPLUS_VOTES, default_data_dir
from emodetect.preprocess import to_input
from emodetect.training import models

NUM_CLASSES = len(EMOTIONS)
# A distilled run's copies of what its teacher gave it (see the module docstring).
TEACHER_PROBS = "teacher.npy"
TEACHER_RECORD = "teacher_training.json"
# A fine-tune's copy of the training record of the network it started from (`--init`).
INIT_RECORD = "init_training.json"
# Checkpoint averaging (`average_epochs`): the weights each late epoch ended with, and their best mean.
SNAPSHOTS = "epochs"
AVERAGED = "averaged.keras"


@dataclass
class TrainConfig:
    """Everything that determines a run; stored in state.json so a resume needs only the folder."""

    data: str
    arch: str = models.DEFAULT_ARCH
    epochs: int = models.DEFAULT_EPOCHS
    batch_size: int = 64
    optimizer: str = "adamw"
    learning_rate: float = 2e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    class_weights: bool = False
    # augmentation
    flip: bool = True
    shift: float = 0.1
    rotation_deg: float = 10.0
    zoom: float = 0.1
    erase_prob: float = 0.5
    # distillation: targets mix the labels with a trained model's probabilities (its test-time views)
    teacher: str | None = None
    distill_weight: float = 0.5
    # soft labels: the FER+ annotators' vote distribution's share of each face's label (faces without votes
    # keep their FER-2013 label), before any teacher's share is mixed in
    soft_labels: float = 0.0
    votes: str | None = None
    # fine-tuning: start from the weights of the network of this architecture in this model file
    init: str | None = None
    seed: int = 0
    limit: int | None = None
    # keep the weights of this many final epochs, for checkpoint averaging (`average_epochs`)
    average_last: int = 10
    command: list[str] = field(default_factory=list)


@dataclass
class Batches:
    """Training inputs ready for the epoch loop: float model inputs, int labels, and the N×7 targets
    the loss compares with (the one-hot labels, or mixed with a teacher's probabilities)."""

    x: np.ndarray
    y: np.ndarray
    targets: np.ndarray


def prepare_batches(images: np.ndarray, labels: np.ndarray, teacher_probs: np.ndarray | None = None,
                    distill_weight: float = 0.0, votes: np.ndarray | None = None,
                    soft_labels: float = 0.0) -> Batches:
    """Raw uint8 faces and labels → training inputs, through the same `to_input` inference uses.

    The targets: each label, mixed with the face's FER+ vote distribution (`votes`, N×7, `FerPlus.distribution`;
    a row of zeros keeps the label) by `soft_labels`, then with a teacher's probabilities by `distill_weight`."""
    labels = np.asarray(labels)
    targets = keras.utils.to_categorical(labels, NUM_CLASSES).astype(np.float32)
    if votes is not None:
        voted = votes.sum(axis=1) > 0
        targets[voted] = (1.0 - soft_labels) * targets[voted] + soft_labels * votes[voted]
    if teacher_probs is not None:
        targets = ((1.0 - distill_weight) * targets + distill_weight * teacher_probs).astype(np.float32)
    return Batches(to_input(images), labels, targets)


def teacher_probabilities(teacher: str | os.PathLike, images: np.ndarray) -> np.ndarray:
    """What a trained model (`.keras` or `.tflite`) says about each face, with the test-time views
    recorded for it (all but "plain" include the mirror image, so the targets agree with training's
    random flips)."""
    from emodetect.classifier import EmotionClassifier

    return EmotionClassifier.load(teacher, threads=EVALUATION_THREADS).predict(images)


def _keep_teacher_record(teacher: str | os.PathLike, run_dir: Path) -> None:
    """Copy the teacher's training record (`training.json` beside an exported model) into the run: a
    student's cost includes its teacher's, and the teacher file may be replaced before the student ships."""
    record = Path(teacher).with_name("training.json")
    if record.exists():
        atomic_write(run_dir / TEACHER_RECORD, record.read_bytes())


def augment(images: tf.Tensor, seed: tf.Tensor, cfg: TrainConfig) -> tf.Tensor:
    """Random flip, rotation, zoom, shift and erasing of a batch N×48×48×1 in [0, 1].

    Stateless: the same `seed` (shape [2]) gives the same batch, which is what
    makes a resumed run identical to an uninterrupted one.
    """
    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 8)

    def uniform(i, lo, hi):
        return tf.random.stateless_uniform([n], seeds[i], lo, hi)

    if cfg.flip:
        flip = uniform(0, 0.0, 1.0) < 0.5
        images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)

    theta = uniform(1, -1.0, 1.0) * (cfg.rotation_deg * math.pi / 180.0)
    scale = uniform(2, 1.0 - cfg.zoom, 1.0 + cfg.zoom)
    tx = uniform(3, -cfg.shift, cfg.shift) * size
    ty = uniform(4, -cfg.shift, cfg.shift) * size
    c = (size - 1.0) / 2.0
    a0, a1 = tf.cos(theta) / scale, -tf.sin(theta) / scale
    b0, b1 = tf.sin(theta) / scale, tf.cos(theta) / scale
    a2 = c - a0 * (c + tx) - a1 * (c + ty)
    b2 = c - b0 * (c + tx) - b1 * (c + ty)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")

    if cfg.erase_prob > 0:
        area = uniform(5, 0.02, 0.2) * size * size
        log_ratio = tf.random.stateless_uniform([n], seeds[6], math.log(0.3), math.log(3.3))
        h = tf.sqrt(area * tf.exp(log_ratio))
        w = tf.sqrt(area / tf.exp(log_ratio))
        centres = tf.random.stateless_uniform([n, 3], seeds[7], 0.0, 1.0)
        cy, cx = centres[:, 0] * size, centres[:, 1] * size
        apply = centres[:, 2] < cfg.erase_prob
        grid = tf.range(size)
        in_y = tf.abs(grid[None, :] - cy[:, None]) < h[:, None] / 2
        in_x = tf.abs(grid[None, :] - cx[:, None]) < w[:, None] / 2
        mask = in_y[:, :, None] & in_x[:, None, :] & apply[:, None, None]
        noise = tf.random.stateless_uniform(tf.shape(images), seeds[0] + 1, 0.0, 1.0)
        images = tf.where(mask[..., None], noise, images)
    return images


def epoch_dataset(batches: Batches, epoch: int, cfg: TrainConfig) -> tf.data.Dataset:
    """The batches of one epoch: an order and augmentation fixed by (seed, epoch)."""
    order = np.random.default_rng([cfg.seed, epoch]).permutation(len(batches.y))
    ds = tf.data.Dataset.from_tensor_slices((batches.x[order], batches.targets[order]))
    ds = ds.batch(cfg.batch_size, drop_remainder=True).enumerate()

    def apply(index, batch):
        x, y = batch
        seed = tf.stack([tf.constant(cfg.seed, tf.int64), epoch * 100_000 + index])
        return augment(x, seed, cfg), y

    return ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _schedule(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up to the peak rate, then cosine decay to zero at the last epoch."""
    total = cfg.epochs * steps_per_epoch
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    if not warmup:  # a fine-tune starts at its peak rate
        return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=max(total, 1), alpha=0.0)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.learning_rate / 100, decay_steps=max(total - warmup, 1),
        warmup_target=cfg.learning_rate, warmup_steps=warmup, alpha=0.0)


def _compile(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> None:
    schedule = _schedule(cfg, steps_per_epoch)
    if cfg.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adam":  # the seed's recipe
        optimizer = keras.optimizers.Adam(cfg.learning_rate)
    elif cfg.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}")
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
                  metrics=["accuracy"])


def _vote_distribution(split: Split, cfg: TrainConfig) -> np.ndarray:
    """The FER+ votes of the training faces (`data.ferplus_for`), for `--soft-labels`."""
    if not 0.0 < cfg.soft_labels <= 1.0:
        raise InputError(f"--soft-labels is the votes' share of each target, between 0 and 1; got {cfg.soft_labels}")
    votes_file = Path(cfg.votes or FERPLUS_VOTES)
    if not Path(cfg.data).is_dir() or not votes_file.is_file():
        raise InputError(f"--soft-labels needs the FER-2013 image folder the FER+ votes describe and the votes "
                         f"file ({votes_file}); got {cfg.data}")
    distribution = ferplus_for(split, cfg.data, load_ferplus_votes(votes_file)).distribution
    if not distribution.any():
        raise InputError(f"{votes_file}: no FER+ votes for the training faces of {cfg.data}")
    return distribution


def initial_weights(model_path: str | os.PathLike, arch: str) -> list[np.ndarray]:
    """The weights of the `arch` network in a model file: a run's best.keras, or an exported ensemble
    (its member of that architecture), so a fine-tune can start from the shipped model itself."""
    shapes = [w.shape for w in models.build(arch).get_weights()]
    try:
        loaded = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except (OSError, ValueError) as e:
        raise InputError(f"{model_path}: not a Keras model ({e})") from None
    for network in [loaded, *[layer for layer in loaded.layers if isinstance(layer, keras.Model)]]:
        weights = network.get_weights()
        if [w.shape for w in weights] == shapes:
            return weights
    raise InputError(f"{model_path}: holds no {arch} network to start from")


def _keep_init_record(model_path: str | os.PathLike, arch: str, run_dir: Path) -> None:
    """Copy the training record of the `arch` network a fine-tune starts from into the run (the member of
    an exported model's `training.json`, or a run's `state.json`): the fine-tune's cost includes it, and
    the file it started from (the shipped model, say) may be replaced before the fine-tune ships."""
    beside = Path(model_path).with_name("training.json")
    state = Path(model_path).with_name("state.json")
    if beside.exists():
        members = [m for m in json.loads(beside.read_text())["members"] if m["config"]["arch"] == arch][:1]
    elif state.exists():
        members = [_training_record(json.loads(state.read_text()))]
    else:
        members = []
    _atomic_write_json({"members": members}, run_dir / INIT_RECORD)


def _subset(split: Split, limit: int | None, seed: int) -> Split:
    if limit is None or limit >= len(split):
        return split
    keep = np.sort(np.random.default_rng(seed).permutation(len(split))[:limit])
    return Split(split.images[keep], split.labels[keep], tuple(split.sources[i] for i in keep))


def _class_weights(labels: np.ndarray) -> dict[int, float]:
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    return {i: float(len(labels) / (NUM_CLASSES * c)) for i, c in enumerate(counts) if c}


def _reseed_layers(model: keras.Model, seed: int, epoch: int) -> None:
    """Key every layer's random state (dropout) on (seed, epoch), which a resume can rebuild."""
    for layer in model._flatten_layers():
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            generator.state.assign(np.array([seed * 1_000_003 + epoch, 0], dtype=generator.state.dtype))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _atomic_save(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def _without_optimizer(model: keras.Model, arch: str) -> keras.Model:
    """The weights alone, uncompiled: a third of a checkpoint's size (AdamW keeps two slots per
    weight), which matters because runs are committed to cross sessions (see models/runs.md)."""
    bare = models.build(arch)
    bare.set_weights(model.get_weights())
    return bare


def _snapshot_path(run_dir: Path, epoch: int) -> Path:
    return run_dir / SNAPSHOTS / f"{epoch:03d}.npz"


def _save_snapshot(model: keras.Model, run_dir: Path, epoch: int) -> None:
    """The model's weights in `get_weights` order (layer names differ between processes; the order does not)."""
    (run_dir / SNAPSHOTS).mkdir(exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, *model.get_weights())
    atomic_write(_snapshot_path(run_dir, epoch), buffer.getvalue())


def _load_snapshot(run_dir: Path, epoch: int) -> list[np.ndarray]:
    with np.load(_snapshot_path(run_dir, epoch)) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def average_epochs(run_dir: str | os.PathLike, data: str | os.PathLike | None = None) -> dict:
    """Checkpoint averaging: the mean of the weights the last k epochs ended with (batch-norm statistics
    included), for each k from 2 to the snapshots kept, scored on PublicTest as training scores each epoch.
    The best mean is kept as `averaged.keras` and recorded in state.json (`averaged`); `export` ships it
    instead of best.keras when it scores higher. Free at test time: still one network. Returns the new state."""
    run_dir = Path(run_dir)
    state = load_state(run_dir)
    cfg = TrainConfig(**state["config"])
    epochs = []
    for epoch in range(state["epochs_done"], 0, -1):  # the unbroken run of snapshots that ends at the last epoch
        if not _snapshot_path(run_dir, epoch).exists():
            break
        epochs.append(epoch)
    if len(epochs) < 2:
        raise InputError(f"{run_dir}: checkpoint averaging needs the weights of at least the last two epochs "
                         f"in {run_dir / SNAPSHOTS}; found {len(epochs)}")
    public = _subset(load_fer2013(data or cfg.data)["PublicTest"], cfg.limit, cfg.seed)
    x_public, y_public = to_input(public.images), keras.utils.to_categorical(public.labels, NUM_CLASSES)
    model = models.build(cfg.arch)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    total, scores, best = None, {}, None
    for k, epoch in enumerate(epochs, 1):
        weights = _load_snapshot(run_dir, epoch)
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
        if k < 2:
            continue
        model.set_weights([(t / k).astype(w.dtype) for t, w in zip(total, weights)])
        scores[k] = float(model.evaluate(x_public, y_public, batch_size=256, verbose=0)[1])
        if best is None or scores[k] > scores[best]:
            best = k
            _atomic_save(model, run_dir / AVERAGED)
    state["averaged"] = {"epochs": [epochs[best - 1], epochs[0]], "public_accuracy": scores[best],
                         "public_accuracy_by_epochs_averaged": {str(k): acc for k, acc in scores.items()}}
    _atomic_write_json(state, run_dir / "state.json")
    return state


def shipped_weights(state: dict) -> str:
    """Which of a run's models `export` ships: its best epoch, or the average of its last epochs if that
    scored higher on PublicTest."""
    averaged = state.get("averaged")
    return AVERAGED if averaged and averaged["public_accuracy"] > state["best_public_accuracy"] else "best.keras"


def _atomic_write_json(data: dict, path: Path) -> None:
    atomic_write(path, json.dumps(data, indent=2).encode())


def load_state(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "state.json").read_text())


def train(cfg: TrainConfig, run_dir: str | os.PathLike, resume: bool = False, verbose: int | None = None,
          new_epochs: int | None = None) -> dict:
    """Train (or resume) the run in `run_dir`; returns the final state.

    `new_epochs` (on resume) changes the run's length: the cosine schedule is
    stretched or shrunk to end at the new last epoch, continuing from the
    current step. The change is recorded in the state's `schedule_changes`.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = run_dir / "checkpoint.keras"
    if resume and checkpoint.exists():
        state = load_state(run_dir)
        cfg = TrainConfig(**state["config"])
    elif resume:
        raise InputError(f"{checkpoint}: nothing to resume (no checkpoint in this run folder)")
    else:
        state = {"config": asdict(cfg), "epochs_done": 0, "history": [], "cpu_seconds": 0.0,
                 "wall_seconds": 0.0, "best_epoch": None, "best_public_accuracy": -1.0}
    if verbose is None:
        verbose = 1 if sys.stderr.isatty() else 2

    data = load_fer2013(cfg.data)
    train_split = _subset(data["Training"], cfg.limit, cfg.seed)
    public = _subset(data["PublicTest"], cfg.limit, cfg.seed)
    teacher_probs = None
    if cfg.teacher:  # computed once per run and kept, so a resume never depends on the teacher file again
        teacher_file = run_dir / TEACHER_PROBS
        if not teacher_file.exists():
            _keep_teacher_record(cfg.teacher, run_dir)
            buffer = io.BytesIO()
            np.save(buffer, teacher_probabilities(cfg.teacher, train_split.images))
            atomic_write(teacher_file, buffer.getvalue())
        teacher_probs = np.load(teacher_file)
    votes = _vote_distribution(train_split, cfg) if cfg.soft_labels else None
    batches = prepare_batches(train_split.images, train_split.labels, teacher_probs, cfg.distill_weight,
                              votes, cfg.soft_labels)
    x_public = to_input(public.images)
    y_public = keras.utils.to_categorical(public.labels, NUM_CLASSES)
    steps_per_epoch = len(batches.y) // cfg.batch_size
    if steps_per_epoch == 0:
        raise InputError(f"{len(batches.y)} training images is fewer than one batch of {cfg.batch_size}")

    keras.utils.set_random_seed(cfg.seed)
    if resume:
        model = keras.models.load_model(checkpoint)
        if new_epochs is not None and new_epochs != cfg.epochs:
            state.setdefault("schedule_changes", []).append(
                {"at_epoch": state["epochs_done"], "epochs_before": cfg.epochs, "epochs_after": new_epochs})
            cfg.epochs = new_epochs
            state["config"]["epochs"] = new_epochs
            model.optimizer.learning_rate = _schedule(cfg, steps_per_epoch)
    else:
        model = models.build(cfg.arch)
        if cfg.init:
            model.set_weights(initial_weights(cfg.init, cfg.arch))
            _keep_init_record(cfg.init, cfg.arch, run_dir)
        _compile(model, cfg, steps_per_epoch)
    class_weight = _class_weights(batches.y) if cfg.class_weights else None

    cpu_start, wall_start = _cpu_seconds(), time.time()
    cpu_base, wall_base = state["cpu_seconds"], state["wall_seconds"]
    for epoch in range(state["epochs_done"], cfg.epochs):
        _reseed_layers(model, cfg.seed, epoch)
        fit = model.fit(epoch_dataset(batches, epoch, cfg), initial_epoch=epoch, epochs=epoch + 1,
                        steps_per_epoch=steps_per_epoch, class_weight=class_weight, verbose=verbose,
                        shuffle=False)  # epoch_dataset shuffled it (Keras's own shuffle ignores datasets, and warns)
        loss, accuracy = model.evaluate(x_public, y_public, batch_size=256, verbose=0)
        record = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]),
                  "accuracy": float(fit.history["accuracy"][-1]),
                  "public_loss": float(loss), "public_accuracy": float(accuracy),
                  "learning_rate": float(keras.ops.convert_to_numpy(
                      model.optimizer.learning_rate)) if hasattr(model.optimizer, "learning_rate") else None}
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        state["cpu_seconds"] = cpu_base + _cpu_seconds() - cpu_start
        state["wall_seconds"] = wall_base + time.time() - wall_start
        if accuracy > state["best_public_accuracy"]:
            state["best_public_accuracy"], state["best_epoch"] = float(accuracy), epoch + 1
            _atomic_save(_without_optimizer(model, cfg.arch), run_dir / "best.keras")
        _atomic_save(model, checkpoint)
        if epoch + 1 > cfg.epochs - cfg.average_last:
            _save_snapshot(model, run_dir, epoch + 1)
        _atomic_write_json(state, run_dir / "state.json")
        print(f"epoch {epoch + 1}/{cfg.epochs} loss {record['loss']:.4f} acc {record['accuracy']:.4f} "
              f"public_loss {loss:.4f} public_acc {accuracy:.4f} cpu_h {state['cpu_seconds'] / 3600:.2f}",
              flush=True)
    return state


def export_runs(run_dirs: Sequence[str | os.PathLike], model_path: str | os.PathLike,
                exported: Sequence[str | os.PathLike] = (), data: str | os.PathLike | None = None,
                views: str = DEFAULT_VIEWS, command: Sequence[str] = (), labels: str = DEFAULT_READING) -> Path:
    """Ship one run, or several networks as an ensemble, as the model of the reading `labels`
    (`labels.READINGS`): each run's best-on-PublicTest model without optimizer state, and any model exported
    before (`exported`), averaged into one model and calibrated on PublicTest, against the reading's own
    truth, for the test-time `views` it will be run with (`calibrate`); the `.tflite` that inference runs
    (beside it); and `training.json`: the reading, those views, the network's name and size, the export
    `command` (the CLI's arguments), and the training records (a list of members, a distilled one with its
    teacher's records, each with the temperature its logits are divided by) for the model card."""
    from emodetect.classifier import keras_to_lite

    check_reading(labels)
    members = [_run_member(Path(d)) for d in run_dirs] + [_exported_member(Path(m)) for m in exported]
    if not members:
        raise InputError("nothing to export: give --run-dir or --member")
    networks, records = [m for m, _ in members], [r for _, r in members]
    archs = sorted({record["config"]["arch"] for record in records})
    shipped = networks[0] if len(networks) == 1 else models.average(
        [keras.Model(n.input, n.output, name=f"{n.name}_{i}") for i, n in enumerate(networks, 1)],
        name=f"ensemble_of_{len(networks)}_{'_'.join(archs)}")
    model_path = Path(model_path)  # written only now: it may be one of `exported`
    model_path.parent.mkdir(parents=True, exist_ok=True)
    data = Path(data or default_data_dir())
    temperature = calibrate(shipped, model_path, load_fer2013(data)["PublicTest"], views, labels, data)
    records = [{**record, "temperature": record.get("temperature", 1.0) * temperature} for record in records]
    atomic_write(model_path.with_suffix(".tflite"), keras_to_lite(model_path))
    _atomic_write_json({"labels": labels, "views": views, "architecture": shipped.name,
                        "parameters": int(shipped.count_params()),
                        "command": "python -m emodetect " + " ".join(command), "members": records},
                       model_path.with_name("training.json"))
    return model_path


def calibrate(model: keras.Model, model_path: Path, split: Split, views: str, labels: str,
              data: str | os.PathLike) -> float:
    """Save `model` at `model_path` with its logits divided by the temperature that calibrates it on `split`
    against the reading `labels`' truth (`data.reading_truth`; `data`: the FER-2013 folder), fitted as the app
    will run it (converted, with the test-time `views`); return the temperature."""
    from emodetect.classifier import EmotionClassifier
    from emodetect.training.evaluate import fit_temperature

    rows, truth = reading_truth(split, labels, data, FERPLUS_VOTES)
    if not rows.any():
        raise InputError(f"the {labels} reading is calibrated against the FER+ votes of PublicTest's faces, and "
                         f"{data} has none: give the FER-2013 image folder the votes are for, or --labels fer2013")
    _atomic_save(model, model_path)
    probs = EmotionClassifier.load(model_path, views, EVALUATION_THREADS).view_probabilities(to_input(split.images))
    temperature = fit_temperature(probs[:, rows], truth)
    models.divide_logits(model, temperature)
    _atomic_save(model, model_path)
    return temperature


def _run_member(run_dir: Path) -> tuple[keras.Model, dict]:
    """A run's best model (best epoch, or average of its last epochs) without optimizer state, and its
    training record."""
    state = load_state(run_dir)
    network = models.build(state["config"]["arch"])
    weights = shipped_weights(state)
    network.set_weights(keras.models.load_model(run_dir / weights).get_weights())
    record = _training_record(state)
    if weights == AVERAGED:
        record["averaged_epochs"] = state["averaged"]["epochs"]
    # What it was made from: a distilled run's teacher, a fine-tune's starting network (`init`), with the
    # records the run kept of them ([] if they had none).
    for made_from, kept in (("teacher", run_dir / TEACHER_RECORD), ("init", run_dir / INIT_RECORD)):
        if state["config"].get(made_from):
            record[made_from] = {"model": state["config"][made_from],
                                 "members": json.loads(kept.read_text())["members"] if kept.exists() else []}
    return network, record


def _training_record(state: dict) -> dict:
    """A run's state as a member's training record: with the command that trained it."""
    return {**state, "command": "python -m emodetect train " + " ".join(state["config"]["command"][1:])}


def _exported_member(path: Path) -> tuple[keras.Model, dict]:
    """A single network that `export` wrote before, with the record in the training.json beside it."""
    record_file = path.with_name("training.json")
    if not path.is_file() or not record_file.is_file():
        raise InputError(f"{path}: not an exported model with its training.json beside it")
    records = json.loads(record_file.read_text())["members"]
    if len(records) != 1:
        raise InputError(f"{path} is an ensemble of {len(records)} networks; give its runs instead")
    return keras.models.load_model(path, compile=False, safe_mode=True), records[0]
