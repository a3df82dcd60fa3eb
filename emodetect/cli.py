"""`python -m emodetect image|video|batch|train|average|export|evaluate ...`: the command line over the package."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emodetect.data import DatasetError
from emodetect.errors import InputError
from emodetect.labels import EMOTIONS

if TYPE_CHECKING:
    from emodetect.detector import EmotionDetector, FaceResult


def _image(args: argparse.Namespace) -> int:
    import json

    from emodetect.detector import EmotionDetector, face_limit_note, results_document
    from emodetect.draw import annotate
    from emodetect.imageio import read_image

    image = read_image(args.path)  # fails before the model loads
    detector = EmotionDetector.load(args.model, labels=args.labels)
    results = detector.detect(image)
    if args.json:
        print(json.dumps(results_document(str(args.path), image, results, detector.labels), indent=2))
    elif not results:
        print("no face found")
    for i, r in enumerate(results if not args.json else []):
        x, y, w, h = r.box
        print(f"face {i + 1}: {r.label} {r.confidence:.0%} at x={x} y={y} w={w} h={h} (detector {r.score:.2f})")
    if note := face_limit_note(len(results), detector.max_faces):
        print(f"note: {note}", file=sys.stderr if args.json else sys.stdout)  # the JSON on stdout stays valid
    if args.annotated:
        _write_png(annotate(image, results), args.annotated, "the annotated image")
    if args.explain and results:
        _write_png(_explanations(detector, results), args.explain, "the explanation sheet")
    elif args.explain:
        print("note: no face to explain; nothing written to --explain", file=sys.stderr)
    return 0


def _explanations(detector: EmotionDetector, results: list[FaceResult]) -> np.ndarray:
    """Every face's occlusion map for its emotion, one sheet (`draw.explanation_sheet`)."""
    from emodetect.draw import explanation_sheet
    from emodetect.explain import occlusion
    from emodetect.preprocess import to_input

    crops = np.stack([r.crop for r in results])
    one_view = detector.classifier.with_views("plain").predict_inputs  # the face as cropped: what occlusion covers
    maps = occlusion(to_input(crops), one_view, target=[r.probs.argmax() for r in results])
    return explanation_sheet(crops, maps, [f"face {i}: {r.label} {r.confidence:.0%}" for i, r in enumerate(results, 1)])


def _write_png(image: np.ndarray, path: str, what: str) -> None:
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise InputError(f"{what} cannot be written to {path}")


def _progress_bar(done: int, total: int, elapsed: float) -> None:
    """One self-overwriting line on stderr: frames done, percent, time left."""
    share = done / total if total else 0.0
    left = elapsed / done * (total - done) if done else 0.0
    bar = "#" * int(share * 30)
    print(f"\r[{bar:<30}] {done}/{total} frames {share:4.0%}  {elapsed:5.1f} s, {left:5.1f} s left",
          end="", file=sys.stderr, flush=True)


def _video(args: argparse.Namespace) -> int:
    from emodetect.detector import EmotionDetector, face_limit_note
    from emodetect.video import Tracker, analyze_video, probe

    if args.every is not None and args.fps is not None:
        raise InputError("use --every or --fps, not both")
    probe(args.path)  # a file that is not a video fails here, before the model loads
    detector = EmotionDetector.load(args.model, preset="video", labels=args.labels)
    analysis = analyze_video(args.path, detector, every=args.every or 1, fps=args.fps,
                             smoothing_s=Tracker.smoothing_s if args.smoothing is None else args.smoothing,
                             annotated_path=args.annotated, progress=_progress_bar)
    print(file=sys.stderr)
    if args.csv:
        analysis.to_csv(args.csv)
    if args.json:
        analysis.to_json(args.json)
    speed = analysis.info.duration_s / analysis.seconds if analysis.seconds else 0.0
    print(f"{analysis.frames_analyzed} frames analysed in {analysis.seconds:.1f} s ({speed:.1f}x real time)")
    if not analysis.face_ids:
        print("note: no face found in this clip; the timeline has one empty row per frame")
    if note := face_limit_note(analysis.most_faces_in_a_frame, detector.max_faces):
        print(f"note: {note}")
    for row in analysis.summary().itertuples():
        shares = ", ".join(f"{e} {getattr(row, e):.0%}" for e in EMOTIONS if getattr(row, e) >= 0.05)
        print(f"face {row.face_id}: {row.frames} frames, {row.first_s:.1f}-{row.last_s:.1f} s, "
              f"mostly {row.dominant} ({shares})")
    return 0


class _BatchBar:
    """The batch's progress on stderr (tqdm): files done/total, seconds of video done/total, video seconds per
    wall second and the time left, estimated from the video still to do when there is video."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None

    def start(self, todo, already_done: int) -> None:
        from tqdm import tqdm

        self.total_s = sum(u.media_s for u in todo)
        self.done_s = 0.0
        self.started = time.perf_counter()
        self.bar = tqdm(total=len(todo) + already_done, initial=already_done, unit="file", disable=self.quiet,
                        file=sys.stderr, dynamic_ncols=True,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} files{postfix}")
        self._postfix()

    def advance(self, result) -> None:
        self.done_s += result.media_s if result.kind == "clip" else 0.0
        self.bar.update(1)
        self._postfix()

    def _postfix(self) -> None:
        elapsed = time.perf_counter() - self.started
        speed = self.done_s / elapsed if elapsed else 0.0
        left = f"{(self.total_s - self.done_s) / speed:.0f} s left" if speed else "time left unknown yet"
        self.bar.set_postfix_str(f"{self.done_s:.0f}/{self.total_s:.0f} s of video, {speed:.1f}x real time, "
                                 f"{elapsed:.0f} s elapsed, {left}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _batch(args: argparse.Namespace) -> int:
    from emodetect.batch import Settings, analyse_folder, find_inputs

    if args.every is not None and args.fps is not None:
        raise InputError("use --every or --fps, not both")
    engine = "ray" if args.ray is not None else "pool" if args.workers is not None else "loop"
    root, _, _ = find_inputs(args.input, exclude=args.out)
    settings = Settings.make(root, args.model, every=args.every or 1, fps=args.fps, smoothing_s=args.smoothing,
                             labels=args.labels)
    bar = _BatchBar(args.quiet)
    try:
        report = analyse_folder(args.input, args.out, settings, engine=engine,
                                workers=args.workers or 2, ray_address=args.ray or None, force=args.force,
                                retry_errors=args.retry_errors, progress=bar)
    finally:
        bar.close()
    counts = report.counts
    speed = report.media_s / report.wall_s if report.wall_s else 0.0
    line = (f"{counts['files']} files ({counts['clips']} clips, {counts['photos']} photos): {counts['done']} done, "
            f"{counts['failed']} failed; {report.analysed} analysed now, {report.resumed} already done; "
            f"{report.media_s:.0f} s of video in {report.wall_s:.1f} s ({speed:.1f}x real time)")
    if report.ignored:
        line += f"; {report.ignored} files that are not pictures or videos ignored"
    print(line)
    if counts["failed"]:
        print(f"see {Path(args.out) / 'errors.csv'} for why each failed file could not be analysed")
    return report.exit_status


def _train(args: argparse.Namespace) -> int:
    from emodetect.training.models import DEFAULT_EPOCHS
    from emodetect.training.train import TrainConfig, train

    if args.resume:
        train(TrainConfig(data=args.data), args.run_dir, resume=True, new_epochs=args.epochs)
        return 0
    cfg = TrainConfig(data=str(args.data), arch=args.arch, epochs=args.epochs or DEFAULT_EPOCHS,
                      batch_size=args.batch_size, optimizer=args.optimizer, learning_rate=args.lr,
                      warmup_epochs=args.warmup_epochs, class_weights=args.class_weights, teacher=args.teacher,
                      distill_weight=args.distill_weight,
                      soft_labels=args.soft_labels, init=args.init, seed=args.seed, limit=args.limit,
                      command=args.argv)
    train(cfg, args.run_dir)
    return 0


def _average(args: argparse.Namespace) -> int:
    from emodetect.training.train import average_epochs, shipped_weights

    state = average_epochs(args.run_dir, args.data)
    averaged = state["averaged"]
    for k, accuracy in averaged["public_accuracy_by_epochs_averaged"].items():
        print(f"last {k} epochs averaged: PublicTest {accuracy:.4f}")
    first, last = averaged["epochs"]
    print(f"best mean: epochs {first}-{last}, PublicTest {averaged['public_accuracy']:.4f} against the best epoch's "
          f"{state['best_public_accuracy']:.4f} (epoch {state['best_epoch']}); export ships {shipped_weights(state)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from emodetect.paths import keras_model
    from emodetect.training.train import export_runs

    print(export_runs(args.run_dir, args.model or keras_model(args.labels), args.member, args.data, args.views,
                      args.argv, args.labels))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from emodetect.training.evaluate import build_model_card, public_test_by_views, public_test_lines, write_model_card

    if args.public_only:
        if not args.model:
            raise InputError("--public-only scores one model: give --model")
        print("\n".join(public_test_lines(public_test_by_views(args.model, args.data))))
        return 0
    card = build_model_card(args.data)
    write_model_card(card, args.card)
    for labels, reading in card["readings"].items():
        print(f"{labels} reading ({reading['meaning']}), {reading['runtime']['file']}:")
        for split, result in reading["metrics"].items():
            scores = ", ".join(f"{tta} {r['accuracy']:.4f} / {r['macro_f1']:.4f}" for tta, r in result.items())
            print(f"  {split} accuracy / macro-F1 against FER-2013's labels: {scores}")
        for split, result in reading["ferplus"]["metrics"].items():
            scores = ", ".join(f"{tta} {r['accuracy']:.4f}" for tta, r in result.items())
            print(f"  {split} accuracy against the FER+ plurality ({reading['ferplus']['faces'][split]} faces): "
                  f"{scores}")
        print(f"  PrivateTest expected calibration error against the {reading['own_truth']}: "
              f"{reading['calibration']['ece']:.4f}")
        for door, config in reading["doors"].items():
            wild = reading["wild"][door]
            print(f"  the {door} door uses {config['views']}: {card['tta_views'][config['views']]}; wild photos: "
                  f"faces found {wild['faces_found']:.3f}, accuracy {wild['accuracy']:.4f}, macro recall "
                  f"{wild['macro_recall']:.4f}")
    print(f"default reading (higher wild macro recall through the photo door): {card['default_reading']}")
    print(f"wrote {args.card}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from emodetect.classifier import DEFAULT_VIEWS, TTA_VIEWS
    from emodetect.labels import DEFAULT_READING, READINGS
    from emodetect.paths import MODEL_CARD, default_data_dir
    from emodetect.training.models import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_EPOCHS

    parser = argparse.ArgumentParser(prog="python -m emodetect", description=__doc__)
    readings_help = "; ".join(f"{labels}, {meaning}" for labels, meaning in READINGS.items())
    commands = parser.add_subparsers(dest="command", required=True)

    i = commands.add_parser("image", help="find faces in an image and print their emotions")
    i.add_argument("path", help="an image file (jpg, png, webp, bmp, ...)")
    i.add_argument("--json", action="store_true", help="print JSON (box, keypoints, score, label, probs)")
    i.add_argument("--annotated", metavar="OUT.png", help="save the image with boxes, labels and bars")
    i.add_argument("--explain", metavar="OUT.png",
                   help="save a sheet of every face: its crop and what the model looked at (occlusion map)")
    i.add_argument("--model", help="a .tflite or .keras model (default: the shipped one of --labels)")
    i.add_argument("--labels", choices=list(READINGS), help=f"the reading: {readings_help} (default {DEFAULT_READING})")
    i.set_defaults(run=_image)

    v = commands.add_parser("video", help="analyse a clip: tracked faces, emotion timeline, annotated MP4")
    v.add_argument("path", help="a video file (mp4, mov, avi, mkv, webm)")
    v.add_argument("--csv", metavar="OUT.csv", help="write the timeline as CSV")
    v.add_argument("--json", metavar="OUT.json", help="write the timeline as JSON records")
    v.add_argument("--annotated", metavar="OUT.mp4", help="write the annotated clip (H.264 MP4)")
    v.add_argument("--every", type=int, help="analyse every N-th frame")
    v.add_argument("--fps", type=float, help="analyse about F frames per second")
    v.add_argument("--smoothing", type=float, help="smoothing time constant in seconds (0: off; default: the app's)")
    v.add_argument("--model", help="a .tflite or .keras model (default: the shipped one of --labels)")
    v.add_argument("--labels", choices=list(READINGS), help=f"the reading: {readings_help} (default {DEFAULT_READING})")
    v.set_defaults(run=_video)

    b = commands.add_parser("batch", help="analyse a folder (or CSV list) of clips and photos, here or on Ray",
                            description="Exit status: 0 every file analysed, 1 some files failed (listed in "
                                        "OUT/errors.csv), 2 the batch could not run.")
    b.add_argument("input", help="a folder (searched recursively) or a CSV whose first or `path` column lists files")
    b.add_argument("--out", required=True, help="the results folder (rerun the same command to resume)")
    b.add_argument("--every", type=int, help="analyse every N-th frame of each clip")
    b.add_argument("--fps", type=float, help="analyse about F frames per second of each clip")
    b.add_argument("--smoothing", type=float, help="smoothing time constant in seconds (0: off; default: the app's)")
    b.add_argument("--model", help="a .tflite or .keras model (default: the shipped one of --labels)")
    b.add_argument("--labels", choices=list(READINGS), help=f"the reading: {readings_help} (default {DEFAULT_READING})")
    b.add_argument("--workers", type=int, help="analyse N files at a time in a local process pool (with --ray: the "
                                               "local Ray's CPUs)")
    b.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run on Ray: a local Ray, or the cluster at ADDRESS (or $RAY_ADDRESS); give INPUT before it, "
                        "or write --ray=ADDRESS")
    b.add_argument("--force", action="store_true", help="redo results made with other settings or another model")
    b.add_argument("--retry-errors", action="store_true", help="redo the files that failed before")
    b.add_argument("--quiet", action="store_true", help="no progress bar (the final line is still printed)")
    b.set_defaults(run=_batch)

    t = commands.add_parser("train", help="train a model on FER-2013 (resumable)")
    t.add_argument("--data", default=str(default_data_dir()), help="FER-2013 folder or fer2013.csv")
    t.add_argument("--run-dir", required=True, help="folder for checkpoints, history and state")
    t.add_argument("--arch", default=DEFAULT_ARCH, choices=sorted(ARCHITECTURES))
    t.add_argument("--epochs", type=int, help=f"epochs in all (default {DEFAULT_EPOCHS})")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", default="adamw", choices=["adamw", "adam", "sgd"])
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup-epochs", type=float, default=2.0,
                   help="epochs of linear warm-up to --lr before the cosine decay (0 suits a fine-tune)")
    t.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    t.add_argument("--teacher", metavar="MODEL",
                   help="distil: a .keras or .tflite model (an ensemble from `export --model`) whose probabilities "
                        "are mixed into the targets")
    t.add_argument("--distill-weight", type=float, default=0.5, help="the teacher's share of the targets")
    t.add_argument("--soft-labels", type=float, default=0.0, metavar="SHARE",
                   help="mix each face's FER+ vote distribution into its label with this share (0: the FER-2013 "
                        "label alone, 1: the votes alone); faces without votes keep their label")
    t.add_argument("--init", metavar="MODEL",
                   help="fine-tune: start from the weights of the --arch network in MODEL (a run's best.keras, "
                        "or an exported model holding one)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, help="use at most this many images per split (smoke runs)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --run-dir where it stopped (with --epochs: change its length)")
    t.set_defaults(run=_train)

    a = commands.add_parser("average", help="checkpoint averaging: average a finished run's last epochs' weights")
    a.add_argument("--run-dir", required=True, help="a run whose last epochs' weights were kept (runs/NAME/epochs/)")
    a.add_argument("--data", help="FER-2013 folder or fer2013.csv (default: the run's); its PublicTest scores "
                                  "the means")
    a.set_defaults(run=_average)

    x = commands.add_parser("export", help="ship a run's best model as a reading's model (with its training record)")
    x.add_argument("--labels", default=DEFAULT_READING, choices=list(READINGS),
                   help=f"the reading it ships: {readings_help}; it is calibrated against that truth (default "
                        f"{DEFAULT_READING})")
    x.add_argument("--run-dir", action="append", default=[],
                   help="a finished run; give it several times to ship the runs' ensemble (probabilities averaged)")
    x.add_argument("--member", action="append", default=[], metavar="MODEL.keras",
                   help="a single network exported before (its training.json beside it), to average with the runs")
    x.add_argument("--views", default=DEFAULT_VIEWS, choices=list(TTA_VIEWS),
                   help="the test-time views the app will classify each face in with this model; it is calibrated "
                        f"for them (default {DEFAULT_VIEWS}; fewer views leave a bigger network time for the webcam)")
    x.add_argument("--model", help="where to write the .keras (the .tflite goes beside it; default: the reading's "
                                   "models/<labels>/emodetect.keras)")
    x.add_argument("--data", default=str(default_data_dir()),
                   help="FER-2013 folder or fer2013.csv (its PublicTest calibrates the model's probabilities)")
    x.set_defaults(run=_export)

    e = commands.add_parser("evaluate", help="evaluate the shipped models on FER-2013 and the wild photos and write "
                                             "the model card")
    e.add_argument("--model", help="with --public-only: the .keras or .tflite model to score")
    e.add_argument("--data", default=str(default_data_dir()), help="FER-2013 folder or fer2013.csv")
    e.add_argument("--card", default=str(MODEL_CARD), help="where to write the model card JSON")
    e.add_argument("--public-only", action="store_true",
                   help="print the model's PublicTest accuracy with each set of test-time views and write nothing: "
                        "to choose between candidates (any .keras or .tflite) without scoring PrivateTest")
    e.set_defaults(run=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input exits with status 2 and one `error:` line, never a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what `train` and `export` record as the command that made a run or a model
    try:
        return args.run(args)
    except (InputError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
