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


def render(card: dict) -> str:
    m = card["metrics"]
    t = card["training"]
    p = card["private_test"]
    runtime = card["runtime"]
    lines = [
        f"Shipped model: `{card['model_file']}`, architecture `{card['architecture']}`, "
        f"{card['parameters']:,} parameters, {card['model_bytes'] / 1e6:.1f} MB, input "
        f"{card['input']['size'][0]}×{card['input']['size'][1]} {card['input']['color']}. The app and the CLI run "
        f"it as `{runtime['file']}` ({runtime['engine']}, {runtime['bytes'] / 1e6:.1f} MB; quantization: "
        f"{runtime['quantization']}); every score below is measured on that file.",
        "",
        "Accuracy / macro-F1 by the views each face is classified in (test-time augmentation): "
        + "; ".join(f"**{tta}**{doors_of(card, tta)}, {description}" for tta, description in card["tta_views"].items())
        + ". Each door of the app runs the most accurate views on PublicTest within its budget (photos 100 ms "
        "per face; the webcam 3 ms per frame; `python -m benchmarks.doors`).",
        "",
        "| split | " + " | ".join(f"{tta}{doors_of(card, tta)}" for tta in card["tta_views"]) + " |",
        "|---|" + "---|" * len(card["tta_views"]),
    ]
    ferplus = card.get("ferplus")
    scored = [(split, f"FER-2013 {split}", r) for split, r in m.items()]
    if ferplus:
        scored += [(split, f"{split} against FER+ ({ferplus['faces'][split]:,} faces)", r)
                   for split, r in ferplus["metrics"].items()]
    for _, name, r in scored:
        lines.append(f"| {name} | " + " | ".join(f"{r[tta]['accuracy']:.2%} / {r[tta]['macro_f1']:.3f}"
                                                for tta in card["tta_views"]) + " |")
    if ferplus:
        lines += ["", "FER+: the plurality of 10 annotators' votes per face (Barsoum et al. 2016), on the faces "
                  "whose most-voted emotion is a single one of these seven; it is FER-2013's own label on "
                  f"{ferplus['agreement_with_fer2013']['PrivateTest']:.0%} of those PrivateTest faces. PrivateTest "
                  "recall against it: " + ", ".join(f"{e} {s['recall']:.2f}"
                                                    for e, s in ferplus["private_test"]["per_class"].items())
                  + f" ({card['app_tta']})."]
    members = t["members"]
    ensemble = f"{len(members)} networks, their probabilities averaged; each with " if len(members) > 1 else ""
    weights = ("the weights that did best on PublicTest: one epoch's, or the mean of its last epochs'"
               if any(m.get("averaged_epochs") for m in members) else "the weights of its best epoch on PublicTest")
    behind = [words for key, words in (("teacher", "the teachers'"), ("init", "the starting networks'"))
              if any(key in m for m in members)]
    teachers = f" ({' and '.join(behind)} included)" if behind else ""
    lines += [
        "",
        f"PrivateTest 3-class valence accuracy {p['valence_accuracy']:.2%}; expected calibration error "
        f"{p['calibration']['ece']:.3f}. Trained ({ensemble}{weights}) in "
        f"{t['cpu_hours']:.2f} CPU hours{teachers} ({t['wall_hours']:.2f} h wall) on 2 CPU cores:",
        "",
    ]
    for m in members:
        lines += commands(m, "    ")
    if t.get("export_command"):
        lines += ["    # then shipped (averaged if several, calibrated for the views the app runs it with):",
                  f"    {t['export_command']}"]
    return "\n".join(lines)


def doors_of(card: dict, views: str) -> str:
    """ " (photos)" after the views a door runs, for the table's header."""
    doors = [door for door, config in card["doors"].items() if config["views"] == views]
    return f" ({', '.join(doors)})" if doors else ""


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
