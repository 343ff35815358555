# `make run` and `make test` each set everything up on a fresh machine: .venv, install, migrate.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLIENTS := .venv-clients
CLIENTS_STAMP := $(CLIENTS)/.installed
PYTEST_WORKERS ?= 2
ORCHJOBS_BOOTSTRAP_ADMIN ?= admin:orchjobs-admin

.PHONY: install clients run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The published Keyfactor clients pin an old httpx, so they get an environment of their own.
$(CLIENTS_STAMP):
	$(PYTHON) -m venv $(CLIENTS)
	$(CLIENTS)/bin/pip install -q --upgrade pip
	$(CLIENTS)/bin/pip install -q keyfactor-v-1-client==1.0.3 keyfactor-command-sdk==11.0.0a1
	touch $@

install: $(STAMP)

clients: $(CLIENTS_STAMP)

# Serves on ORCHJOBS_HOST:ORCHJOBS_PORT (127.0.0.1:8080); unless ORCHJOBS_DEMO=0, a reference orchestrator runs
# beside it (stores in ORCHJOBS_DEMO_DIR, ./demo-stores) so jobs flow at once. Ctrl-C stops both: see scripts/run.sh.
run: install
	@exec env BIN='$(BIN)' ORCHJOBS_BOOTSTRAP_ADMIN='$(ORCHJOBS_BOOTSTRAP_ADMIN)' scripts/run.sh

test: install clients
	ORCHJOBS_CLIENTS_PYTHON=$(abspath $(CLIENTS))/bin/python $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# ruff for style and mistakes, the formatter's verdict, and mypy --strict over src/ (configured in pyproject.toml).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(CLIENTS) orchjobs.db orchjobs.db-wal orchjobs.db-shm demo-stores
