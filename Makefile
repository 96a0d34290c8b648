# cpss-sim: the two set-up commands are `make demo` and `make test`.
#
# Two installs into one .venv, each with its own stamp:
#   core (.venv/.installed-core): the package and its core dependencies: what `make demo` needs;
#   dev  (.venv/.installed-dev):  core + the dev extra (pytest, ruff, the dashboard, playwright,
#                                 SB3, mpe2) + the distributed extra (Ray): tests, lint, bench.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
DEV := $(VENV)/.installed-dev

.PHONY: setup setup-dev demo test test-fast lint bench results bandits docs clean

setup: $(CORE)

setup-dev: $(DEV)

$(CORE): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (set PY=/path/to/python3.11)"; exit 2; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# A local CPU wheel of torch 2.13.0 exists on these machines; install it first so that
	@# pip never pulls the multi-GB CUDA build to satisfy `torch>=2.6`.
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet torch==2.13.0
	@$(BIN)/python -m pip install --quiet -e .
	@touch $(CORE)

$(DEV): $(CORE)
	@$(BIN)/python -m pip install --quiet -e '.[dev,distributed]'
	@touch $(DEV)

# interest vs crowd_aware guides on 100 paired days of museum-small and museum-busy (paired 95% CIs).
demo: $(CORE)
	$(BIN)/cpss demo

# The whole suite (what CI runs).
test: $(DEV)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The suite without the tests marked slow (learning to a threshold, tutorials, Ray, the browser,
# long batched days): under a minute.
test-fast: $(DEV)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: $(DEV)
	$(BIN)/python bench/run.py

# Learned museum guides (item_mappo on the batched engine, 3 seeds x 15 min, 2 configs) and learned
# workshop cobots (MAPPO, 3 seeds x 15 min) against the heuristics on 1 000 paired days / shifts:
# docs/results/learned.md and learned-workshop.md (about 1 h 40 min + 1 h 10 min on 2 cores).
results: $(DEV)
	$(BIN)/python bench/learned.py --minutes 15 --seeds 0 1 2 --eval-days 1000 --out runs/learned
	$(BIN)/python bench/learned_workshop.py --minutes 15 --seeds 0 1 2 --eval-shifts 1000 --out runs/learned-workshop

# Every bandit policy on ads-small over 20 seeds: regret curves with 95% bands (runs/bandits-ads-*).
bandits: $(CORE)
	$(BIN)/cpss bandits --config ads-small --seeds 20

# Regenerate docs/scenarios/*.md from the scenario modules' docstrings.
docs: $(CORE)
	$(BIN)/python docs/make_scenario_pages.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache build *.egg-info
