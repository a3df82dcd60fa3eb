"""Run the `fer` package's pipeline (benchmarks/fer_peer.py) from the system python.

fer needs opencv-contrib's CascadeClassifier, which must not share a
site-packages with our opencv-python-headless, so it runs in its own venv
(benchmarks/.peer-venv, made on first use by peer_env.sh) in a subprocess.
Our benchmark scripts call `run_peer` and print fer's numbers beside ours:

    from benchmarks.peer import run_peer
    fer = run_peer(["frames", "--video", video, "--size", "640x480", "--n", "200"])
    fer = run_peer(["fer2013", "--data", "../shared/data/fer2013"])
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".peer-venv" / "bin" / "python"


class PeerError(RuntimeError):
    """The peer venv could not be built, or fer_peer.py failed; the message carries its stderr."""


def ensure_env() -> Path:
    """Build the peer venv if it is missing (a no-op in milliseconds once built); returns its python."""
    # built on this interpreter (the project's .venv when run from it), which holds TensorFlow
    env = {**os.environ, "PEER_BASE_PYTHON": os.environ.get("PEER_BASE_PYTHON", sys.executable)}
    done = subprocess.run(["bash", str(HERE / "peer_env.sh")], capture_output=True, text=True, env=env)
    if done.returncode:
        raise PeerError(f"peer_env.sh failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return VENV_PYTHON


def run_peer(args: list[str], timeout: float | None = None) -> dict:
    """Run `fer_peer.py ARGS` in the peer venv and return the JSON it prints.

    Relative paths in ARGS resolve against the caller's working directory.
    TensorFlow's start-up noise on stderr is kept out of sight unless it fails."""
    python = ensure_env()
    done = subprocess.run([str(python), str(HERE / "fer_peer.py"), *args], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode:
        raise PeerError(f"fer_peer.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise PeerError(f"fer_peer.py {' '.join(args)} printed nothing:\n{done.stderr[-4000:]}")
    return json.loads(lines[-1])
