# Luoshi — all set-up goes through these targets; a fresh machine needs only python3 (with venv) and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml
PORT ?= 8080

.PHONY: run test lint typecheck check bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# With a token: the bot on Telegram. Without one: the local sandbox on http://127.0.0.1:$(PORT).
run: $(VENV)/.installed
	$(BIN)/python -m bot --config $(CONFIG) run --or-sandbox --port $(PORT)

check: $(VENV)/.installed
	$(BIN)/python -m bot --config $(CONFIG) check

test: $(VENV)/.installed-test
	$(BIN)/ruff check bot jobs tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Static types alone (settings in pyproject.toml: strict for bot/domain).
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Benchmarks (not part of `make test`): prints a table and writes bench/RESULTS.md.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check bot jobs tests

clean:
	rm -rf $(VENV) build *.egg-info
