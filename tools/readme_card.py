"""Render the README's model section from models/model_card.json, so the README never drifts.

    python tools/readme_card.py          # rewrite the block in README.md
    python tools/readme_card.py --check  # exit 1 if README.md is out of date (a test runs this)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- model-card:start -->", "<!-- model-card:end -->"


NAMES = {"ferplus": "FER+ reading", "fer2013": "FER-2013 reading"}


def render(card: dict) -> str:
    default = card["default_reading"]
    other = next(r for r in card["readings"] if r != default)
    wild = card["wild_photos"]
    lines = ["Two readings of every face, each a model trained for its own truth: "
             + "; ".join(f"the **{NAMES[labels]}** (`--labels {labels}`), {reading['meaning']}"
                         for labels, reading in card["readings"].items())
             + f". The default is the {NAMES[default]}: its macro recall on real photos through the photo door is "
             f"{card['readings'][default]['wild']['photo']['macro_recall']:.3f}, against "
             f"{card['readings'][other]['wild']['photo']['macro_recall']:.3f} for the {NAMES[other]}.", ""]
    for labels, reading in card["readings"].items():
        runtime = reading["runtime"]
        lines.append(f"- {NAMES[labels]}: `models/{runtime['file']}` ({runtime['engine']}, "
                     f"{runtime['bytes'] / 1e6:.1f} MB; quantization: {runtime['quantization']}), "
                     f"`{reading['architecture']}`, "
                     f"{reading['parameters']:,} parameters, input {card['input']['size'][0]}×"
                     f"{card['input']['size'][1]} {card['input']['color']}; expected calibration error "
                     f"{reading['calibration']['ece']:.3f} on PrivateTest against the {reading['own_truth']}.")
    lines += [
        "",
        "Every door in both readings, on PrivateTest against both truths and end to end on "
        f"{wild['photos']:,} labelled real photos (`../shared/data/wild`, never trained on; the largest face's "
        "answer, a photo with no face found counted wrong; macro recall over "
        f"{', '.join(wild['macro_recall_over'])}). Every score is measured on the `.tflite` file the app and "
        "the CLI run:",
        "",
        "| reading | door | views | FER+ PrivateTest | FER-2013 PrivateTest | photos with a face found | photos right "
        "| macro recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for labels, reading in card["readings"].items():
        for door, config in reading["doors"].items():
            w = reading["wild"][door]
            lines.append(f"| {NAMES[labels]} | {door} | {config['views']} | "
                         f"{config['ferplus_accuracy']['PrivateTest']:.2%} | {config['accuracy']['PrivateTest']:.2%} | "
                         f"{w['faces_found']:.1%} | {w['accuracy']:.1%} | {w['macro_recall']:.3f} |")
    lines += [
        "",
        "Accuracy / macro-F1 by the views each face is classified in (test-time augmentation): "
        + "; ".join(f"**{tta}**, {description}" for tta, description in card["tta_views"].items())
        + ". Each door runs the most accurate views on PublicTest within its budget (photos 100 ms per face; "
        "the webcam 3 ms per frame; `python -m benchmarks.doors`).",
        "",
        "| reading | split | " + " | ".join(card["tta_views"]) + " |",
        "|---|---|" + "---|" * len(card["tta_views"]),
    ]
    for labels, reading in card["readings"].items():
        ferplus = reading["ferplus"]
        scored = [(f"FER-2013 {split}", r) for split, r in reading["metrics"].items()]
        scored += [(f"{split} against FER+ ({ferplus['faces'][split]:,} faces)", r)
                   for split, r in ferplus["metrics"].items()]
        for name, r in scored:
            lines.append(f"| {NAMES[labels]} | {name} | " + " | ".join(
                f"{r[tta]['accuracy']:.2%} / {r[tta]['macro_f1']:.3f}" for tta in card["tta_views"]) + " |")
    ferplus = card["readings"][default]["ferplus"]
    lines += ["", "FER+: the plurality of 10 annotators' votes per face (Barsoum et al. 2016), on the faces "
              "whose most-voted emotion is a single one of these seven; it is FER-2013's own label on "
              f"{ferplus['agreement_with_fer2013']['PrivateTest']:.0%} of those PrivateTest faces."]
    for labels, reading in card["readings"].items():
        t = reading["training"]
        members = t["members"]
        ensemble = f"{len(members)} networks, their probabilities averaged; each with " if len(members) > 1 else ""
        weights = ("the weights that did best on PublicTest: one epoch's, or the mean of its last epochs'"
                   if any(m.get("averaged_epochs") for m in members) else "the weights of its best epoch on PublicTest")
        behind = [words for key, words in (("teacher", "the teachers'"), ("init", "the starting networks'"))
                  if any(key in m for m in members)]
        teachers = f" ({' and '.join(behind)} included)" if behind else ""
        lines += ["", f"The {NAMES[labels]} was trained ({ensemble}{weights}) in {t['cpu_hours']:.2f} CPU hours"
                  f"{teachers} ({t['wall_hours']:.2f} h wall) on 2 CPU cores:", ""]
        for m in members:
            lines += commands(m, "    ")
        if t.get("export_command"):
            lines += ["    # then shipped (averaged if several, calibrated for the views the app runs it with):",
                      f"    {t['export_command']}"]
    return "\n".join(lines)


def commands(member: dict, indent: str) -> list[str]:
    """The command that trained a network, what it cost, and, if it was distilled or fine-tuned, the commands
    of its teacher or of the network it started from."""
    averaged = member.get("averaged_epochs")
    chosen = (f"weights averaged over epochs {averaged[0]}-{averaged[1]}" if averaged
              else f"chosen epoch {member['chosen_epoch']}")
    lines = [f"{indent}{member['command']}", f"{indent}# {member['epochs']} epochs, {chosen}, "
             f"{member['cpu_hours']:.2f} CPU hours"]
    if averaged:
        train_args = member["config"]["command"]
        lines.append(f"{indent}python -m emodetect average --run-dir {train_args[train_args.index('--run-dir') + 1]}")
    for change in member["schedule_changes"]:
        lines.append(f"{indent}# resumed after epoch {change['at_epoch']} with: --resume --epochs "
                     f"{change['epochs_after']}")
    if member["temperature"] != 1.0:
        lines.append(f"{indent}# calibrated by `export`: its logits divided by {member['temperature']:.3f}, "
                     "the temperature fitted on PublicTest")
    teacher = member.get("teacher")
    if teacher and teacher["cpu_hours"] is None:
        lines.append(f"{indent}# its teacher, {teacher['model']}, left no training record: its hours are not counted")
    elif teacher:
        lines.append(f"{indent}# its teacher, {teacher['model']} at the time, took {teacher['cpu_hours']:.2f} "
                     "CPU hours:")
        for t in teacher["members"]:
            lines += commands(t, indent + "    ")
    init = member.get("init")
    if init and init["cpu_hours"] is None:
        lines.append(f"{indent}# fine-tuned from {init['model']}, which left no training record: its hours are "
                     "not counted")
    elif init:
        lines.append(f"{indent}# fine-tuned from the {member['config']['arch']} network of {init['model']} at the "
                     f"time, trained in {init['cpu_hours']:.2f} CPU hours:")
        for t in init["members"]:
            lines += commands(t, indent + "    ")
    return lines


def updated(readme: str, card: dict) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render(card)}\n{END}{tail}"


def main() -> int:
    card = json.loads((ROOT / "models" / "model_card.json").read_text())
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    new = updated(readme, card)
    if "--check" in sys.argv:
        if new != readme:
            print("README.md's model section is out of date: run python tools/readme_card.py", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
