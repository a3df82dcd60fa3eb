"""What tests/test_batch.py and tests/test_batch_ray.py share: a small real folder, a CLI runner, an output
tree to compare, and a unit that says where and when it ran (for the fault tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emodetect.batch import Settings, Unit, UnitResult, analyse_folder, analyse_one
from emodetect.paths import PROJECT_DIR

# Short real clips, sampled: the whole folder takes a few seconds per engine.
EVERY = 6
ODD_NAME = "**not bold** <b>x.jpg"  # a photo's name the Batch results page must show as written


def media_folder(media_dir: Path, folder: Path) -> Path:
    """Two clips and three photos from the shared media, one clip and one photo in a subfolder; the photo of the
    smiling man also saved under a video's name (the content decides, not the extension)."""
    (folder / "sub").mkdir(parents=True)
    shutil.copy(media_dir / "phone_at_night.mp4", folder / "phone_at_night.mp4")
    shutil.copy(media_dir / "talking_woman.mp4", folder / "sub" / "talking_woman.mp4")
    shutil.copy(media_dir / "group_selfie.jpg", folder / "group_selfie.jpg")
    shutil.copy(media_dir / "cartoon_no_people.jpg", folder / "sub" / "cartoon.jpg")
    shutil.copy(media_dir / "smiling_man.jpg", folder / "smiling_man.mp4")
    (folder / "notes.txt").write_text("not media: ignored\n")
    return folder


def cli(*args: object, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    """`python -m emodetect ...` in a fresh process, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    done = subprocess.run([sys.executable, "-m", "emodetect", *map(str, args)], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=600)
    if check_rc is not None:
        assert done.returncode == check_rc, done.stdout + done.stderr[-3000:]
    return done


def tree(out: Path) -> dict[str, bytes]:
    """Every file under `out` by relative path; batch.json without its `this_run` part (engine, wall time)."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    document = json.loads(files["batch.json"])
    document.pop("this_run")
    files["batch.json"] = json.dumps(document, sort_keys=True).encode()
    return files


def temporaries(out: Path) -> list[str]:
    return [p.name for p in out.rglob("*.tmp")]


def signalled(unit: Unit, settings: Settings, model: bytes) -> UnitResult:
    """`analyse_one`, after appending "node-id pid" to signals/<file>.log beside the input folder (a test sees
    each attempt start, where it runs, and which process to kill), and "tensorflow" to it after the analysis if
    the worker imported TensorFlow (it must not)."""
    import ray

    log = Path(settings.root).parent / "signals" / (unit.source.replace("/", "__") + ".log")
    log.parent.mkdir(exist_ok=True)
    with log.open("a") as f:
        f.write(f"{ray.get_runtime_context().get_node_id()} {os.getpid()}\n")
    result = analyse_one(unit, settings, model)
    if "tensorflow" in sys.modules:
        with log.open("a") as f:
            f.write("tensorflow\n")
    return result


def attempts(signals: Path, source: str) -> list[tuple[str, int]]:
    """(node id, pid) of each attempt at `source` so far."""
    try:
        lines = (signals / (source.replace("/", "__") + ".log")).read_text().splitlines()
    except FileNotFoundError:
        return []
    return [(node, int(pid)) for node, pid in (line.split() for line in lines)]


def write_results_root(media_dir: Path, base: Path) -> Path:
    """A results root for the Batch results page: "march" (two done units, one failed, a stray temporary file,
    written by the in-process engine), "running" (not finished), a link out of the root, a folder that is not a
    batch."""
    inputs, root = base / "in", base / "root"
    inputs.mkdir()
    shutil.copy(media_dir / "phone_at_night.mp4", inputs / "phone_at_night.mp4")
    shutil.copy(media_dir / "smiling_man.jpg", inputs / ODD_NAME)
    (inputs / "half.jpg").write_bytes((media_dir / "smiling_man.jpg").read_bytes()[:16_000])
    report = analyse_folder(inputs, root / "march", Settings.make(inputs, every=10))
    assert report.counts["done"] == 2 and report.counts["failed"] == 1
    (root / "march" / "units" / ".phone_at_night.mp4.json.abc.tmp").write_text("{half")
    (root / "running").mkdir()
    (root / "running" / "batch.json").write_text(json.dumps({"settings": {}, "counts": None}))
    (root / "not_a_batch").mkdir()
    shutil.copytree(root / "march", base / "outside")
    (root / "escape").symlink_to(base / "outside")
    return root
