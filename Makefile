# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# They create .venv with a Python >= 3.12 if needed and install the project into it.

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# First interpreter on the PATH that is Python >= 3.12 (a .python-version file selects one under pyenv).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)

.PHONY: demo dashboard test test-all lint bench clean help

help:
	@echo "make demo      set up, then run the demo batch and print the comparison"
	@echo "make test      set up, then lint, type-check and run the fast tests"
	@echo "make test-all  the same with the slow tests"
	@echo "make bench     run the benchmarks (Bordeaux-scale city)"
	@echo "make dashboard the workshop page on the demo batch (after make demo), 127.0.0.1:8765"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.12 is required and none was found on the PATH" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sim run scenarios/demo.toml
	$(BIN)/sim compare --db results/demo.db
	$(BIN)/sim report --db results/demo.db --lang en --out results/demo_report
	$(BIN)/sim report --db results/demo.db --lang fr --out results/demo_report
	@echo "sim is in .venv/bin: call .venv/bin/sim, or run 'source .venv/bin/activate' first"

lint: $(STAMP)
	$(BIN)/ruff format --check sim tests benchmarks notebooks
	$(BIN)/ruff check sim tests benchmarks notebooks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

test-all: lint
	$(BIN)/python -m pytest -q -m "slow or not slow"

dashboard: $(STAMP)
	@test -f results/demo.db || { echo "error: results/demo.db is missing: run make demo first" >&2; exit 2; }
	$(BIN)/sim dashboard results/demo.db

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_city.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
