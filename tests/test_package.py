"""The installable package: a wheel built from the checkout, installed into a fresh virtual environment
outside it, finds faces with the model it carries and reads nothing from the checkout.

The fresh environment reuses the packages already installed (a .pth names this interpreter's
site-packages, after its own), so the test takes seconds: the wheel itself is installed with --no-deps.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from emodetect import __version__
from emodetect.labels import READINGS
from emodetect.paths import PROJECT_DIR

SHIPPED = ("emodetect/shipped/model_card.json", *(f"emodetect/shipped/{labels}/{name}" for labels in READINGS
                                                   for name in ("emodetect.tflite", "training.json")))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the checkout's build/ and never removes what a later version dropped from it
    shutil.rmtree(PROJECT_DIR / "build", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(PROJECT_DIR), "--no-deps", "--no-build-isolation",
                    "--quiet", "--disable-pip-version-check", "-w", str(out)], check=True, capture_output=True)
    (built,) = out.glob("emodetect-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The python of a fresh venv with the wheel installed."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "reuse-installed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)
    return python


def _outside(tmp_path: Path) -> dict:
    """An environment with nothing pointing at the checkout."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HOME": str(tmp_path)}


def test_the_wheel_carries_the_model_and_its_version(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert set(SHIPPED) <= set(names)
    assert wheel.name.startswith(f"emodetect-{__version__}-")
    assert not [n for n in names if n.startswith(("tests/", "pages/", "benchmarks/", "runs/", "emodetect/app/"))]
    assert {"emodetect/cli.py", "emodetect/detector.py", "emodetect/training/train.py"} <= set(names)


def test_the_installed_command_finds_six_faces_from_another_folder(installed, media_dir, tmp_path):
    command = installed.parent / "emodetect"
    done = subprocess.run([str(command), "image", str(media_dir / "group_selfie.jpg"), "--json"], cwd=tmp_path,
                          env=_outside(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["faces"]) == 6


def test_the_readme_api_runs_on_the_installed_package_alone(installed, media_dir, tmp_path):
    script = f"""
import emodetect, emodetect.paths
from emodetect import EMOTIONS, EmotionClassifier, EmotionDetector
from emodetect.imageio import read_image
checkout = {str(PROJECT_DIR)!r}
assert not emodetect.__file__.startswith(checkout), emodetect.__file__
assert not str(emodetect.paths.LITE_MODEL).startswith(checkout), emodetect.paths.LITE_MODEL
faces = EmotionDetector.load().detect(read_image({str(media_dir / 'smiling_man.jpg')!r}))
probs = EmotionClassifier.load().predict([faces[0].crop])
print(len(faces), faces[0].label, probs.shape, emodetect.__version__)
"""
    done = subprocess.run([str(installed), "-c", script], cwd=tmp_path, env=_outside(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "happy", "(1,", "7)", __version__]


def test_ray_workers_run_the_installed_package(installed, media_dir, tmp_path):
    """A two-node Ray cluster whose nodes run the environment the wheel was installed into (what `ray start` is on
    machines set up by the README's cluster recipe): a task pinned to each node imports emodetect from the
    installed package, never the checkout, and `emodetect batch --ray ADDRESS`, run from another folder, analyses
    the photos there (6 faces in the group selfie)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(media_dir / "group_selfie.jpg", photos)
    script = f"""
import csv, json, subprocess, sys
import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 0, "include_dashboard": False}})
for _ in range(2):
    cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
try:
    ray.init(address=cluster.address, log_to_driver=False, logging_level="warning")

    @ray.remote(num_cpus=1)
    def where():
        import emodetect, emodetect.paths
        return [emodetect.__file__, str(emodetect.paths.LITE_MODEL)]

    workers = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU")]
    places = ray.get([where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
                      for node in workers])
    ray.shutdown()
    done = subprocess.run([{str(installed.parent / "emodetect")!r}, "batch", {str(photos)!r}, "--out", "out",
                           "--ray", cluster.address, "--quiet"], capture_output=True, text=True)
    faces = list(csv.DictReader(open("out/photos.csv"))) if done.returncode == 0 else []
    print(json.dumps({{"nodes": len(workers), "places": places, "rc": done.returncode, "err": done.stderr[-3000:],
                      "faces": len(faces)}}))
finally:
    cluster.shutdown()
"""
    done = subprocess.run([str(installed), "-c", script], cwd=tmp_path, env=_outside(tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0, report["err"]
    assert report["nodes"] == 2 and len(report["places"]) == 2
    for module, model in report["places"]:
        assert not module.startswith(str(PROJECT_DIR)) and "site-packages" in module, module
        assert not model.startswith(str(PROJECT_DIR)), model
    assert report["faces"] == 6
