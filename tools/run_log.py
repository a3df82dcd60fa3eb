"""Print a run's entry for models/runs.md from its state.json (numbers from the run, not typed in).

    python tools/run_log.py runs/NAME [--card models/model_card.json --labels READING] [--views]

With --card (the card `python -m emodetect evaluate` wrote) and --labels (the reading whose model
the run belongs to), the entry also gives that model's PrivateTest accuracy. With --views, it
gives the PublicTest accuracy of the run's best model (converted as `export` does)
with each set of test-time views, against FER-2013's labels and the FER+ plurality:
what decides whether a finished run ships, measured without touching PrivateTest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--card", type=Path, help="the model card holding this run's exported model")
    parser.add_argument("--labels", default="ferplus", help="the reading of that model in the card")
    parser.add_argument("--views", action="store_true", help="score the best model on PublicTest per set of views")
    args = parser.parse_args()
    state = json.loads((args.run_dir / "state.json").read_text())
    cfg = state["config"]
    history = state["history"]
    private = ""
    if args.card:
        metrics = json.loads(args.card.read_text())["readings"][args.labels]["metrics"]["PrivateTest"]
        private = "; PrivateTest of that model " + ", ".join(
            f"{metrics[tta]['accuracy']:.4f} ({tta})" for tta in metrics)
    per_epoch_h = state["cpu_seconds"] / 3600 / max(1, len(history))
    print(f"### {args.run_dir.name}\n")
    print(f"- arch `{cfg['arch']}`, {cfg['epochs']} epochs, batch {cfg['batch_size']}, {cfg['optimizer']} "
          f"lr {cfg['learning_rate']}, wd {cfg['weight_decay']}, label smoothing {cfg['label_smoothing']}, "
          f"seed {cfg['seed']}, class weights {cfg['class_weights']}")
    print(f"- augmentation: flip {cfg['flip']}, shift {cfg['shift']}, rotation {cfg['rotation_deg']}°, "
          f"zoom {cfg['zoom']}, erasing p {cfg['erase_prob']}")
    if command := cfg.get("command"):
        print(f"- command: `python -m emodetect {' '.join(command)}`")
    if cfg.get("init"):
        print(f"- fine-tuned from the `{cfg['arch']}` network of `{cfg['init']}` (`--init`), warm-up "
              f"{cfg.get('warmup_epochs', 2)} epochs")
    if cfg.get("soft_labels"):
        print(f"- targets: {cfg['soft_labels']} of each voted face's label replaced by its FER+ vote distribution "
              f"(`--soft-labels {cfg['soft_labels']}`)")
    if cfg.get("teacher"):
        print(f"- distilled from `{cfg['teacher']}` (its share of the targets {cfg['distill_weight']})")
    for change in state.get("schedule_changes", []):
        print(f"- after epoch {change['at_epoch']}: length changed from {change['epochs_before']} to "
              f"{change['epochs_after']} epochs (`--resume --epochs {change['epochs_after']}`)")
    print(f"- {state['cpu_seconds'] / 3600:.2f} CPU hours, {state['wall_seconds'] / 3600:.2f} h wall; best PublicTest "
          f"{state['best_public_accuracy']:.4f} at epoch {state['best_epoch']}"
          + private)
    if averaged := state.get("averaged"):
        by_k = ", ".join(f"last {k} {acc:.4f}" for k, acc in averaged["public_accuracy_by_epochs_averaged"].items())
        print(f"- checkpoint averaging (`average`): PublicTest {by_k}; best the mean of epochs "
              f"{averaged['epochs'][0]}-{averaged['epochs'][1]}, {averaged['public_accuracy']:.4f}")
    if args.views:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python tools/run_log.py` from anywhere
        from emodetect.training.evaluate import public_test_by_views, public_test_lines

        for line in public_test_lines(public_test_by_views(args.run_dir / "best.keras")):
            print(f"- its best model (LiteRT), by test-time views: {line}")
    print("\n| epoch | CPU hours (approx.) | train acc | PublicTest acc | PublicTest loss |")
    print("|---|---|---|---|---|")
    for h in history:
        print(f"| {h['epoch']} | {h['epoch'] * per_epoch_h:.2f} | {h['accuracy']:.4f} | {h['public_accuracy']:.4f} | "
              f"{h['public_loss']:.4f} |")


if __name__ == "__main__":
    main()
