"""Project-level promises: the README tells the truth, limits agree, ruff is clean."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from emodetect.limits import MAX_UPLOAD_MB
from emodetect.paths import PROJECT_DIR


def test_readme_model_section_matches_the_model_card():
    result = subprocess.run([sys.executable, "tools/readme_card.py", "--check"], cwd=PROJECT_DIR,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_training_log_tells_what_each_committed_run_holds():
    """models/runs.md has every line that tools/run_log.py prints from each run committed in runs/ (the
    heading aside, which marks runs in progress): a run committed at a later epoch without its log
    regenerated fails here."""
    tracked = subprocess.run(["git", "ls-files", "runs/*/state.json"], cwd=PROJECT_DIR, capture_output=True,
                             text=True, check=True).stdout.split()
    runs = [PROJECT_DIR / Path(path).parent for path in tracked]
    assert runs, "no committed runs in runs/"
    logged = set((PROJECT_DIR / "models" / "runs.md").read_text().splitlines())
    for run in runs:
        entry = subprocess.run([sys.executable, "tools/run_log.py", str(run)], cwd=PROJECT_DIR,
                               capture_output=True, text=True, check=True).stdout.splitlines()
        missing = [line for line in entry[1:] if line and line not in logged]
        assert not missing, f"models/runs.md is stale for {run.name}: python tools/run_log.py {run} ({missing[:2]})"


def test_streamlit_upload_limit_is_the_one_in_limits():
    config = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=PROJECT_DIR,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_readme_has_exactly_the_two_setup_commands():
    readme = (PROJECT_DIR / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("##", 1)[0]
    commands = [line.split("#")[0].strip() for line in setup.splitlines() if line.startswith("    ")]
    assert commands == ["make run", "make test"]
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()
