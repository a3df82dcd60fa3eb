"""`python -m emodetect batch` on real clips and photos: the same bytes on every engine, bad files reported one by
one, a killed driver resumed, settings never mixed. (Ray on a multi-node cluster: tests/test_batch_ray.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from emodetect import batch
from emodetect.cli import main
from emodetect.paths import PROJECT_DIR
from tests import corpus
from tests.batch_support import EVERY, cli, media_folder, temporaries, tree


@pytest.fixture(scope="module")
def folder(media_dir, tmp_path_factory) -> Path:
    return media_folder(media_dir, tmp_path_factory.mktemp("batch") / "in")


@pytest.fixture(scope="module")
def reference(folder) -> Path:
    """The folder through the default engine (in-process), the output every other run must equal."""
    out = folder.parent / "reference"
    assert main(["batch", str(folder), "--out", str(out), "--every", str(EVERY), "--quiet"]) == 0
    return out


def test_output_layout_and_the_same_tables_as_the_video_and_image_commands(folder, reference, tmp_path):
    files = set(tree(reference))
    assert files == {"batch.json", "summary.csv", "photos.csv", "errors.csv",
                     "timelines/phone_at_night.mp4.csv", "timelines/sub/talking_woman.mp4.csv",
                     *(f"units/{s}.json" for s in ["phone_at_night.mp4", "sub/talking_woman.mp4", "group_selfie.jpg",
                                                   "sub/cartoon.jpg", "smiling_man.mp4"])}
    # a clip's timeline is what `video --csv` writes for it
    alone = tmp_path / "alone.csv"
    cli("video", folder / "sub" / "talking_woman.mp4", "--every", EVERY, "--csv", alone)
    assert (reference / "timelines/sub/talking_woman.mp4.csv").read_bytes() == alone.read_bytes()
    # a photo's faces are what `image --json` prints for it (the smiling man's JPEG named .mp4 is read as a photo)
    photos = pd.read_csv(reference / "photos.csv")
    for name in ["group_selfie.jpg", "smiling_man.mp4"]:
        document = json.loads(cli("image", folder / name, "--json").stdout)
        faces = photos[photos["file"] == name]
        assert len(faces) == len(document["faces"]) and len(faces) in (1, 6)
        assert faces[["x", "y", "w", "h"]].values.tolist() == [f["box"] for f in document["faces"]]
        assert faces["label"].tolist() == [f["label"] for f in document["faces"]]
    summary = pd.read_csv(reference / "summary.csv")
    clip = summary[summary["file"] == "phone_at_night.mp4"].iloc[0]
    assert clip["kind"] == "clip" and 4 < clip["duration_s"] < 5 and clip["frames_seen"] <= clip["frames_analysed"]
    assert abs(sum(clip[e] for e in batch.EMOTIONS) - 1) < 1e-3
    assert summary[summary["file"] == "sub/cartoon.jpg"]["face_id"].isna().all()  # a photo with no face keeps a row
    assert pd.read_csv(reference / "errors.csv").empty
    document = json.loads((reference / "batch.json").read_text())
    assert document["counts"] == {"files": 5, "clips": 2, "photos": 3, "done": 5, "failed": 0, "ignored": 1}
    assert document["settings"]["every"] == EVERY and len(document["settings"]["model_sha256"]) == 64
    assert document["versions"]["ai-edge-litert"] and document["this_run"]["engine"] == "loop"


def test_pool_and_ray_write_the_same_bytes_as_in_process(folder, reference, tmp_path):
    pool, ray = tmp_path / "pool", tmp_path / "ray"
    assert main(["batch", str(folder), "--out", str(pool), "--every", str(EVERY), "--workers", "2", "--quiet"]) == 0
    cli("batch", folder, "--out", ray, "--every", EVERY, "--ray", "--workers", "2", "--quiet")
    assert tree(pool) == tree(reference)
    assert tree(ray) == tree(reference)
    assert json.loads((ray / "batch.json").read_text())["this_run"]["engine"] == "ray"


def test_bad_and_odd_files_each_reported_while_the_rest_complete(media_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    for case in corpus.CASES:
        (folder / case.kind).mkdir(parents=True, exist_ok=True)
        case.make(folder / case.kind)
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--every", "2", "--quiet"]) == 1
    assert "see " in capsys.readouterr().out
    errors = dict(pd.read_csv(out / "errors.csv").values.tolist())
    summary = pd.read_csv(out / "summary.csv")
    for case in corpus.CASES:
        source = f"{case.kind}/{case.name}"
        if case.error is not None:
            assert case.error in errors.get(source, ""), (source, errors.get(source))
            assert case.name in errors[source] and "\n" not in errors[source]
        else:
            assert source not in errors, errors[source]
            rows = summary[summary["file"] == source]
            assert rows["face_id"].nunique() == case.faces, source
    assert len(errors) == sum(case.error is not None for case in corpus.CASES)


def _killed_then_rerun(folder: Path, out: Path) -> tuple[dict[str, int], set[str]]:
    """Start the batch, SIGKILL it once a first clip is done; returns the finished units' mtimes and what the
    folder held at the kill."""
    args = [sys.executable, "-m", "emodetect", "batch", str(folder), "--out", str(out), "--every", str(EVERY),
            "--quiet"]
    proc = subprocess.Popen(args, cwd=PROJECT_DIR, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((out / "units").rglob("*.json")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns
                for p in [*(out / "units").rglob("*.json"), *(out / "timelines").rglob("*.csv")]}
    return finished, {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def test_a_killed_driver_resumes_leaving_finished_units_untouched(folder, reference, tmp_path):
    out = tmp_path / "out"
    finished, at_kill = _killed_then_rerun(folder, out)
    units_done = [name for name in finished if name.startswith("units/")]
    assert 1 <= len(units_done) < 5, "the batch finished before it could be killed"
    for name in units_done:  # nothing partial: every record there is whole
        assert json.loads((out / name).read_text())["status"] == "done"
    assert "summary.csv" not in at_kill  # the tables come at the end
    cli("batch", folder, "--out", out, "--every", EVERY, "--quiet")
    assert {name: (out / name).stat().st_mtime_ns for name in finished} == finished
    assert tree(out) == tree(reference) and not temporaries(out)
    assert json.loads((out / "batch.json").read_text())["this_run"]["resumed"] == len(units_done)


def test_resume_refuses_other_settings_unless_forced_and_retries_only_errors(media_dir, tmp_path, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "smiling_man.jpg").write_bytes((media_dir / "smiling_man.jpg").read_bytes())
    (folder / "half.jpg").write_bytes((media_dir / "smiling_man.jpg").read_bytes()[:16_000])
    (out / "units").mkdir(parents=True)
    (out / "units" / ".smiling_man.jpg.json.x1y2.tmp").write_text("{half a rec")  # left by a killed writer
    run = ["batch", str(folder), "--out", str(out), "--quiet"]
    assert main(run) == 1
    assert not temporaries(out)
    good, bad = out / "units" / "smiling_man.jpg.json", out / "units" / "half.jpg.json"
    stamps = good.stat().st_mtime_ns, bad.stat().st_mtime_ns
    assert main(run) == 1 and (good.stat().st_mtime_ns, bad.stat().st_mtime_ns) == stamps  # nothing redone
    assert main([*run, "--retry-errors"]) == 1
    assert good.stat().st_mtime_ns == stamps[0] and bad.stat().st_mtime_ns != stamps[1]

    capsys.readouterr()
    assert main([*run, "--smoothing", "0"]) == 2
    assert "other settings (smoothing_s 0.5 → 0.0); use --force" in capsys.readouterr().err
    assert main([*run, "--labels", "fer2013"]) == 2  # the other reading is another analysis, like another model
    assert "other settings (another reading, ferplus → fer2013); use --force" in capsys.readouterr().err
    assert main([*run, "--labels", "ferplus"]) == 1  # the default, named: the same analysis
    assert good.stat().st_mtime_ns == stamps[0]
    assert main([*run, "--smoothing", "0", "--force"]) == 1
    assert good.stat().st_mtime_ns != stamps[0]
    assert json.loads((out / "batch.json").read_text())["settings"]["smoothing_s"] == 0.0


def test_a_folder_that_is_not_there_cannot_run(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("error: ") and not (tmp_path / "out").exists()


def test_a_csv_manifest_lists_the_files(folder, reference, tmp_path):
    manifest = tmp_path / "list.csv"
    manifest.write_text("path\n" + "".join(f"{folder / s}\n" for s in ["phone_at_night.mp4", "group_selfie.jpg"]))
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--every", str(EVERY), "--quiet"]) == 0
    got = tree(out)
    assert set(got) == {"batch.json", "summary.csv", "photos.csv", "errors.csv", "timelines/phone_at_night.mp4.csv",
                        "units/phone_at_night.mp4.json", "units/group_selfie.jpg.json"}
    assert got["timelines/phone_at_night.mp4.csv"] == (reference / "timelines/phone_at_night.mp4.csv").read_bytes()


# --- the schedulers alone, with toy units (no model run) ----------------------------------------------------------

def dies_once(unit: batch.Unit, settings: batch.Settings, model: bytes) -> batch.UnitResult:
    """A toy unit whose worker process dies the first time it runs "b"."""
    marker = Path(settings.root) / f"{unit.source}.tried"
    if unit.source == "b" and not marker.exists():
        marker.touch()
        os._exit(1)
    return batch.UnitResult(unit.source, unit.kind, unit.key, "done", message=f"{len(model)} model bytes")


def test_the_pool_resubmits_units_whose_worker_died(tmp_path):
    settings = batch.Settings(str(tmp_path), "no model", "0" * 64, "plain", "ferplus")
    groups = [[batch.Unit(name, "clip", name)] for name in "abcd"]
    results = list(batch._pool(groups, settings, b"model", dies_once, workers=2))
    assert sorted(r.source for r in results) == list("abcd")
    assert all(r.status == "done" and r.message == "5 model bytes" for r in results)
    assert (tmp_path / "b.tried").exists()


def test_ray_is_imported_only_by_the_ray_engine():
    """The app, the CLI and the batch module start without Ray (ray.init replaces SIGTERM's handler: never in
    the Streamlit server)."""
    code = ("import sys, emodetect.app.model, emodetect.batch, emodetect.cli; "
            "assert 'ray' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, check=True)
