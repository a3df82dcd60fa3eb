"""The library (what `import emodetect`, the CLI's image/video/batch commands and a Ray worker run) stands
apart from the web app and from training: importing it loads neither Streamlit nor TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

from emodetect.paths import PROJECT_DIR

LIBRARY = ["emodetect", "emodetect.labels", "emodetect.limits", "emodetect.errors", "emodetect.paths",
           "emodetect.atomic", "emodetect.preprocess", "emodetect.litert", "emodetect.faces", "emodetect.imageio",
           "emodetect.classifier", "emodetect.detector", "emodetect.draw", "emodetect.video", "emodetect.explain",
           "emodetect.batch", "emodetect.data", "emodetect.cli"]
# the web server's packages and modules, and training's
OUTSIDE = ["streamlit", "streamlit_webrtc", "plotly", "tensorflow", "keras", "ray", "sklearn",
           "emodetect.app_support", "emodetect.live", "emodetect.charts", "emodetect.train", "emodetect.models",
           "emodetect.evaluate", "emodetect._tensorflow"]


def test_the_library_imports_neither_the_web_app_nor_training():
    script = f"""
import importlib, json, sys
loaded = {{}}
for name in {LIBRARY!r}:
    before = set(sys.modules)
    importlib.import_module(name)
    loaded[name] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {OUTSIDE!r} or m in {OUTSIDE!r})
print(json.dumps({{k: v for k, v in loaded.items() if v}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {}
