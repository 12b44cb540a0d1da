# Beatwatch: every target creates the virtualenv on first use, so a fresh clone needs only
#   make demo    # install, then run the nightly flow on seeded synthetic recordings
#   make test    # install, then run the default test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Prefect keeps its state per environment, and this machine has no internet: no telemetry.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test test-all chromium lint format bench bench-ingest bench-model bench-rpeaks clean

demo: $(STAMP)
	$(BIN)/beatwatch demo

test: $(STAMP) chromium
	$(BIN)/pytest

test-all: $(STAMP) chromium
	$(BIN)/pytest -m "slow or not slow"

# The browser test (tests/e2e) drives Debian's chromium; Playwright never downloads a browser.
# Installed with apt as root (or password-less sudo); otherwise that test skips, or fails
# under CI=true.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "chromium is missing and apt needs root: sudo apt-get install chromium" \
	    "chromium-driver (tests/e2e skips without it, fails under CI=true)" >&2; exit 0; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The night measured: stages vs the wfdb floor, 1-8x MIT-BIH, a 24-hour recording, training.
bench: $(STAMP)
	$(BIN)/python benchmarks/night.py

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

bench-model: $(STAMP)
	$(BIN)/python benchmarks/model.py

bench-rpeaks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/rpeaks.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .prefect data .pytest_cache
