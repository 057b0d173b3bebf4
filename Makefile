# Developer and CI entry points. `make test` works on a fresh clone: it builds .venv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install, so the venv is rebuilt only when pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: venv serve test lint sysdeps clean image base-image screenshot bench fuzz

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "need Python >= 3.11, but $(PYTHON) is $$($(PYTHON) --version 2>&1); set PYTHON=..." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

serve: venv
	$(BIN)/chat serve --config config/lan.yaml

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

test: sysdeps lint
	$(BIN)/pytest

sysdeps:
	bash deploy/sysdeps.sh

# Container image (Dockerfile): wheels are made here, nothing is downloaded during the build.
# Without a registry it is built on our Debian base (built first when missing, needs root and
# mmdebstrap); with one, e.g. `make image BASE_IMAGE=python:3.12-slim`.
IMAGE ?= chat:latest
image: venv
	PYTHON=$(BIN)/python bash deploy/build-image.sh $(IMAGE)

# Rebuild the Debian base image from this host's apt mirror (e.g. to pick up security updates).
base-image:
	bash deploy/build-base-image.sh

# Side-by-side benchmark against ngIRCd and miniircd (installs them when missing); prints JSON lines
# and a table, saves bench/results.json. BENCH_ARGS=--quick for a short run.
bench: venv
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Raw-bytes fuzz of a real server over loopback (bench/fuzz.py): garbage, mutated lines, floods and
# abrupt closes, while two clients keep talking; fails if the server dies, logs a traceback, or
# loses or reorders a message. FUZZ_ARGS="--seconds 600" for a long run, --seed N to repeat one.
FUZZ_ARGS ?= --seconds 60
fuzz: venv
	$(BIN)/python -m bench.fuzz $(FUZZ_ARGS)

# docs/gui.png, the desktop client mid-conversation, and docs/gui-rtl.png, Persian, formatting,
# a mention and a link (Xvfb + a real server), both shown in the README.
screenshot: venv sysdeps
	$(BIN)/python -m tests.gui.screenshot docs/gui.png
	CHAT_RTL_SCREENSHOT=docs/gui-rtl.png $(BIN)/pytest -q -p no:cacheprovider tests/gui/test_gui_richtext.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
