# The two commands a newcomer needs:  make run  and  make test.
# Each creates .venv on first use and installs what it needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench-search clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Open the desktop app on the demo database (made with demo data on first run).
run: $(STAMP)
	$(BIN)/showroom --demo

## Lint, then the whole test suite.
test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-search: $(STAMP)
	$(BIN)/python -m bench search --customers 100000

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
