# The verbs a newcomer types; each one is `python tasks.py VERB` (tasks.py holds the recipes, and
# runs them without make too, e.g. on Windows). Everything runs inside .venv, made from
# requirements.txt on first use and remade when requirements or pyproject.toml change.
# PYTHON       the interpreter the venv is made from (3.10-3.13): make setup PYTHON=python3.12
# REQUIREMENTS requirements-learner.txt is the same lock without the test and lint tools
# UV           uv installs the lock several times faster; empty (UV=) means pip. Default: uv on PATH
# WHEELHOUSE   an offline room: with wheels there (make wheelhouse), setup installs with no network
# PEER, SB3_PYTHON  make bench PEER=sb3 SB3_PYTHON=...: Stable-Baselines3 beside keras-rl2
# BENCH_ARGS   make bench-variants BENCH_ARGS="--seeds 3"
# COLAB_PYTHON make colab-profile COLAB_PYTHON=python3.13
PYTHON       ?= python3
REQUIREMENTS ?= requirements.txt
WHEELHOUSE   ?= wheelhouse
TASKS = $(PYTHON) tasks.py --requirements $(REQUIREMENTS) --wheelhouse $(WHEELHOUSE) $(if $(filter-out undefined,$(origin UV)),--uv "$(UV)")

VERBS = help setup run test unit notebooks lab lint format bench bench-variants pretrained doctor wheelhouse colab-profile canary clean
.PHONY: $(VERBS)

help setup run unit notebooks lab lint format pretrained doctor wheelhouse canary clean:
	@$(TASKS) $@

test: unit notebooks  # not canary: it builds a venv of the newest releases (make canary)

bench:
	@$(TASKS) bench $(if $(PEER),--peer $(PEER))

bench-variants:
	@$(TASKS) bench-variants $(BENCH_ARGS)

colab-profile:
	@$(TASKS) colab-profile $(if $(COLAB_PYTHON),--python $(COLAB_PYTHON))
