# cxc-analysis: `make report` sets up and runs the main job; `make test` sets up, lints (ruff) and runs the
# tests and the docstring examples (doctests) of src/.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: setup report test bench clean-outputs

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	bash tools/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

report: setup
	$(BIN)/cxc-analysis report $(ARGS)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --doctest-modules src tests $(ARGS)

bench: setup
	$(BIN)/python benchmarks/run.py $(ARGS)

clean-outputs:
	rm -rf data/processed/* reports/*/ && touch data/processed/.gitkeep
