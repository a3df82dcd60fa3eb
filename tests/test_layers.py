"""The layout shows the architecture, and the imports keep to it: the library (every module directly in
emodetect/: what `import emodetect`, the CLI's image/video/batch commands and a Ray worker run) loads neither the
web app's side (emodetect.app, Streamlit, plotly) nor training (emodetect.training, TensorFlow, scikit-learn), nor
Ray; training never loads the web app; the web app's side never loads TensorFlow or Ray."""

from __future__ import annotations

import json
import subprocess
import sys

from emodetect.paths import PROJECT_DIR

# The one door to TensorFlow (loading a .keras file, training) and the `python -m emodetect` entry point.
NOT_LIBRARY = {"_tensorflow", "__main__"}
LIBRARY = ["emodetect"] + sorted(f"emodetect.{p.stem}" for p in (PROJECT_DIR / "emodetect").glob("*.py")
                                 if p.stem not in NOT_LIBRARY | {"__init__"})
TRAINING = sorted(f"emodetect.training.{p.stem}" for p in (PROJECT_DIR / "emodetect" / "training").glob("*.py"))
APP = sorted(f"emodetect.app.{p.stem}" for p in (PROJECT_DIR / "emodetect" / "app").glob("*.py"))
WEB = ["streamlit", "streamlit_webrtc", "plotly", "emodetect.app"]
ML = ["tensorflow", "keras", "sklearn", "emodetect.training", "emodetect._tensorflow"]


def loaded_by(*checks: tuple[list[str], list[str]]) -> dict[str, list[str]]:
    """In one fresh interpreter, each check's modules imported in order: for each, the forbidden modules (of its
    check) its import loaded. A later check sees what the earlier ones loaded, so the library goes first."""
    script = f"""
import importlib, json, sys
loaded = {{}}
for modules, forbidden in {list(checks)!r}:
    for name in modules:
        before = set(sys.modules)
        importlib.import_module(name)
        loaded[name] = sorted(m for m in set(sys.modules) - before
                              if any(m == f or m.startswith(f + ".") for f in forbidden))
print(json.dumps({{k: v for k, v in loaded.items() if v}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_library_imports_neither_the_web_app_nor_training_nor_ray_and_the_app_no_tensorflow():
    """The web app's side runs the LiteRT models; only the explorer's metrics come from training (scikit-learn).
    One interpreter: the library first (nothing loaded yet), then the app (the library loads no TensorFlow)."""
    assert len(LIBRARY) > 15 and "emodetect.cli" in LIBRARY and "emodetect.batch" in LIBRARY
    assert "emodetect.app.model" in APP
    assert loaded_by((LIBRARY, WEB + ML + ["ray"]),
                     (APP, ["tensorflow", "keras", "ray", "emodetect._tensorflow", "emodetect.training.train",
                            "emodetect.training.models"])) == {}


def test_training_never_imports_the_web_app():
    assert "emodetect.training.train" in TRAINING
    assert loaded_by((TRAINING, WEB + ["ray"])) == {}
