# Two commands on a fresh machine: `make run` and `make test`. Both install
# only what is missing, so a second run starts at once.
PYTHON ?= python3
PORT ?= 8501
PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore

.PHONY: run test deps test-deps chromium lint

run: deps
	$(PYTHON) -m streamlit run app.py --server.port $(PORT) --server.headless true

test: test-deps chromium
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

# pip skips satisfied requirements in a few seconds; the check below skips even that.
deps:
	@$(PYTHON) tools/requirements_met.py requirements.txt || $(PIP) -r requirements.txt

test-deps:
	@$(PYTHON) tools/requirements_met.py requirements-dev.txt || $(PIP) -r requirements-dev.txt

# Debian's Chromium for the browser tests (never `playwright install`: no downloads here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lint:
	$(PYTHON) -m ruff check .
