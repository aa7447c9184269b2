# The two commands a newcomer needs: `make demo` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin

.PHONY: setup system-deps demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

system-deps:
	bash scripts/system-deps.sh

## Start a local estate (moto, snmpsim, SSH lab hosts), discover it for real, serve the API.
demo: setup system-deps
	$(BIN)/cmdb demo

## Lint and run the whole test suite.
test: setup system-deps lint
	$(BIN)/pytest -q $(COVERAGE)
	$(BIN)/python scripts/coverage_floor.py coverage.json

COVERAGE = --cov=schema --cov=cmdb --cov=discovery --cov=graph_api --cov=cmdb_cli --cov-report=json:coverage.json --cov-report=

lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache >/dev/null
	$(BIN)/mypy cmdb schema discovery graph_api cmdb_cli labs tests
	$(BIN)/mypy --strict bench/*.py
	$(BIN)/mypy --strict -p bench.fidelity

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
