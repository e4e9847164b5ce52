# cxc-analysis: `make report` sets up and runs the main job; `make test` sets up, lints (ruff), checks the
# layers (lint-imports) and runs the tests and the docstring examples (doctests) of src/; `make lab` opens copies of the notebooks (lab/) in JupyterLab.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: setup report test mutants bench lab clean-outputs

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
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q $(ARGS)  # testpaths src and tests, with --doctest-modules (pyproject.toml)

# Mutation testing of kpis.py, progress.py and costs.py ([tool.mutmut] in pyproject.toml; docs/mutation.md).
mutants: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 1 $(ARGS)
	$(BIN)/mutmut results

bench: setup
	$(BIN)/python benchmarks/run.py $(ARGS)

# The .venv's jupyter and python3 kernel (JUPYTER_PREFER_ENV_PATH: before any user-level kernelspec), on
# copies of the notebooks in lab/ (git-ignored: autosaved outputs never reach the committed notebooks).
lab: setup
	$(BIN)/python tools/lab_copies.py lab
	JUPYTER_PREFER_ENV_PATH=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=lab \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

clean-outputs:
	rm -rf data/processed/* reports/*/ && touch data/processed/.gitkeep
