# Two commands matter: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint bench clean help

help:
	@echo "make run    - install, start the embedded PostgreSQL and the Dagster UI (http://127.0.0.1:3000)"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, the architecture check and mypy"
	@echo "make bench  - run the benchmarks in bench/"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 (or run make PYTHON=python3.12)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/cognos dev

test: install
	$(BIN)/ruff check cognitionos_dagster tests bench
	$(BIN)/cognos arch
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check cognitionos_dagster tests bench
	$(BIN)/cognos arch
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
