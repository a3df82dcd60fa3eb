# Two commands on a fresh machine: `make run` and `make test`. Both install only what is missing into
# the project's own environment, .venv (so a system Python that refuses pip installs, PEP 668, is fine),
# and a second run starts at once.
PYTHON ?= python3
PORT ?= 8501
VENV := .venv
VPY := $(VENV)/bin/python
# --no-compile: no bytecode for every file of the wheels up front (a fresh .venv here: 189 s compiling,
# 89 s not; tests/test_setup.py prints it). Python compiles a module when it is first imported, and the
# app never imports most of them.
PIP := $(VPY) -m pip install --quiet --disable-pip-version-check --no-compile

.PHONY: run test deps test-deps chromium lint screenshots

run: deps
	$(VPY) -m streamlit run app.py --server.port $(PORT) --server.headless true

# Two pytest workers (pytest-xdist; a file's tests stay on one worker, which keeps its module fixtures): most
# slow tests wait on a browser, a Ray cluster or a child process, so the two share the cores. Tests marked
# `serial` measure rates and need the machine to themselves: they run afterwards, alone.
test: test-deps chromium
	$(VPY) -m ruff check .
	$(VPY) -m pytest -n 2 --dist loadfile -m "not serial"
	$(VPY) -m pytest -m serial

# --system-site-packages: what the interpreter already has at the pinned versions (a prepared image,
# a machine set up before) is used as it is; everything else goes into .venv.
$(VPY):
	@command -v $(PYTHON) >/dev/null || { echo "error: no $(PYTHON) on PATH: install Python 3.11 to 3.13" \
		"(on Debian or Ubuntu: apt-get install python3 python3-venv) or run make PYTHON=/path/to/python3"; exit 1; }
	@$(PYTHON) tools/check_python.py
	$(PYTHON) -m venv --system-site-packages $(VENV)

# pip skips satisfied requirements in a few seconds; the check below skips even that.
deps: $(VPY)
	@$(VPY) tools/requirements_met.py requirements.txt || $(PIP) -r requirements.txt

test-deps: $(VPY)
	@$(VPY) tools/requirements_met.py requirements-dev.txt || $(PIP) -r requirements-dev.txt

# Debian's Chromium for the browser tests (never `playwright install`: no downloads here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lint: $(VPY)
	$(VPY) -m ruff check .

# The README's pictures of each page, taken by the browser tests (docs/screenshots/).
screenshots: test-deps chromium
	$(VPY) tools/docs_screenshots.py
