"""`make` on a stock machine: a fresh clone, and a system Python that refuses pip installs (PEP 668).

Debian's and Ubuntu's own python3 carries the EXTERNALLY-MANAGED marker, so `pip install` into it
fails; `make` must build the project's .venv with it, install the pins there, start the app, and do
nothing the second time. Minutes the first time (pip installs ~2 GB from its cache or PyPI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from emodetect.paths import PROJECT_DIR
from tests.browser_support import LOAD_S, free_port

pytestmark = pytest.mark.slow

SYSTEM_PYTHON = Path("/usr/bin/python3")


def _managed(python: Path) -> bool:
    """Whether `python` refuses pip installs into itself (its stdlib folder holds EXTERNALLY-MANAGED)."""
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").is_file()


@pytest.fixture(scope="module")
def system_python() -> Path:
    if not SYSTEM_PYTHON.exists() or not _managed(SYSTEM_PYTHON):
        pytest.skip(f"{SYSTEM_PYTHON} is absent or accepts pip installs: no PEP 668 interpreter to test with")
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "six"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr, refused.stderr
    return SYSTEM_PYTHON


def _make(clone: Path, *targets: str, python: Path, **env: str) -> tuple[float, str]:
    """Run make in `clone` as a user would, outside any activated environment; (seconds, output)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    start = time.monotonic()
    done = subprocess.run(["make", *targets, f"PYTHON={python}"], cwd=clone, env={**clean, **env},
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.monotonic() - start, done.stdout + done.stderr


def build_fresh_clone(base: Path) -> tuple[Path, float]:
    """A shallow clone of the project under `base` and its first `make deps` with the system Python:
    (the clone, the seconds make took). tests/conftest.py starts it with the session, in the background."""
    clone = base / "emodetect"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{PROJECT_DIR}", str(clone)], check=True)
    first_s, _ = _make(clone, "deps", python=SYSTEM_PYTHON)
    return clone, first_s


def test_make_builds_its_own_environment_with_a_python_that_refuses_installs(system_python, fresh_clone_build):
    clone, first_s = fresh_clone_build.result()
    venv_python = clone / ".venv" / "bin" / "python"
    where = "import sys; print(sys.prefix); print(sys.base_prefix)"
    venv_prefix, venv_base = subprocess.run([str(venv_python), "-c", where], capture_output=True, text=True,
                                            check=True).stdout.split()
    system_prefix = subprocess.run([str(system_python), "-c", where], capture_output=True, text=True,
                                   check=True).stdout.split()[0]
    assert (venv_prefix, venv_base) == (str(clone / ".venv"), system_prefix)  # its own venv, on that Python
    imports = "import streamlit, streamlit_webrtc, ai_edge_litert, cv2, av, plotly, pandas, sklearn"
    subprocess.run([str(venv_python), "-c", imports], check=True)
    second_s, output = _make(clone, "deps", python=system_python)
    assert "pip" not in output and second_s < 30, (second_s, output)
    print(f"make deps with {system_python}: {first_s:.0f} s on a fresh clone, {second_s:.1f} s the second time")

    port = free_port()
    server = subprocess.Popen(["make", "run", f"PYTHON={system_python}", f"PORT={port}"], cwd=clone,
                              env={**os.environ, "STREAMLIT_SERVER_ADDRESS": "127.0.0.1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + LOAD_S
        while True:
            assert server.poll() is None, f"make run exited with {server.returncode}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, f"the app did not answer within {LOAD_S:.0f} s"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
