# The verbs a newcomer types. Everything runs inside a local virtual environment, .venv,
# created from requirements.txt on first use. PYTHON picks the interpreter for it (3.10-3.13).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# requirements-learner.txt: the same lock without the test and lint tools (make setup REQUIREMENTS=...)
REQUIREMENTS ?= requirements.txt
# uv installs the same lock several times faster; pip is used when uv is not on PATH (or UV= is given)
UV ?= $(shell command -v uv 2>/dev/null)
# an offline room: with wheels in wheelhouse/ (make wheelhouse), setup installs from there, no network
WHEELHOUSE ?= wheelhouse
OFFLINE = $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE))
# Jupyter finds the kernel of this venv before any "python3" kernel installed elsewhere
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))

.PHONY: help setup run test unit notebooks lab lint format bench pretrained doctor clean wheelhouse colab-profile

help:
	@echo "make setup      - create .venv and install the tested stack (uv if on PATH, wheelhouse/ if present)"
	@echo "make run        - set up if needed, run every notebook with full budgets, print each result"
	@echo "make test       - set up if needed, run the unit tests and the notebooks (smoke budgets)"
	@echo "make unit       - the unit tests only"
	@echo "make notebooks  - the notebooks only, smoke budgets (nbval)"
	@echo "make lab        - set up if needed, open JupyterLab on notebooks/"
	@echo "make doctor     - check this machine's setup"
	@echo "make lint       - ruff check and format check (.py and .ipynb)"
	@echo "make format     - ruff fix and format"
	@echo "make bench      - train from 10 seeds, time to solve vs the tutorial's fixed recipe"
	@echo "              (make bench PEER=sb3 SB3_PYTHON=...: Stable-Baselines3 beside it, seed by seed)"
	@echo "make bench-variants - every keras-rl2 agent/option, 10 seeds (BENCH_ARGS=\"--seeds 3\" for fewer)"
	@echo "make pretrained - re-train the shipped agent in weights/ (replaced only if it scores >= 195)"
	@echo "make wheelhouse - download every wheel for Windows/macOS arm64/Linux, Python 3.11-3.13, into wheelhouse/"
	@echo "make colab-profile - run the Colab setup cell, the notebooks and the doctor on Colab's versions"
	@echo "make clean      - delete .venv and caches"

setup: $(STAMP)

$(STAMP): $(REQUIREMENTS) pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 13) else "Python %d.%d found; this series needs Python 3.10 to 3.13 (TensorFlow 2.21 has no wheels for others). Run: make PYTHON=python3.12 ..." % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
ifneq ($(UV),)
	$(UV) pip install --quiet --python $(BIN)/python $(OFFLINE) -r $(REQUIREMENTS)
else
	$(BIN)/python -m pip install --quiet $(OFFLINE) --upgrade pip
	$(BIN)/python -m pip install --quiet $(OFFLINE) -r $(REQUIREMENTS)
endif
	touch $(STAMP)

run: setup
	$(BIN)/python scripts/run_notebooks.py

test: unit notebooks

# the unit tests run on two cores (pytest-xdist); worksteal keeps both busy to the end;
# nbval is off for them (its import costs seconds per process and they need no notebook collector)
unit: setup
	$(BIN)/python -m pytest -p no:nbval -n 2 --dist worksteal tests

notebooks: setup
	CARTPOLE_DQN_SMOKE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks

lab: setup
	$(BIN)/python -m jupyter lab notebooks/

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python scripts/bench_solve.py $(if $(PEER),--peer $(PEER))

# every keras-rl2 discrete agent/option, steps and seconds to solve, 10 seeds (long: an hour or more)
.PHONY: bench-variants
bench-variants: setup
	$(BIN)/python scripts/bench_variants.py $(BENCH_ARGS)

pretrained: setup
	$(BIN)/python scripts/make_pretrained.py

doctor: setup
	$(BIN)/python -m cartpole_dqn doctor

# uv resolves each platform's extra packages (pywinpty, colorama, appnope); it is installed into .venv if missing
wheelhouse: setup
	$(BIN)/python -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null || $(BIN)/python -m pip install --quiet uv
	$(BIN)/python scripts/wheelhouse.py --dest $(WHEELHOUSE)

# needs a Python 3.13 (python3.13 on PATH or pyenv's; COLAB_PYTHON=... to choose); makes .venv-colab once
COLAB_PYTHON ?=
colab-profile: setup
	$(BIN)/python scripts/colab_profile.py $(if $(COLAB_PYTHON),--python $(COLAB_PYTHON))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
