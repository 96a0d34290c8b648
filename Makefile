# cpss-sim: the two set-up commands are `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench bandits docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (set PY=/path/to/python3.11)"; exit 2; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# A local CPU wheel of torch 2.13.0 exists on these machines; install it first so that
	@# pip never pulls the multi-GB CUDA build to satisfy `torch>=2.6`.
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet torch==2.13.0
	@$(BIN)/python -m pip install --quiet -e '.[dev,distributed]'
	@touch $(STAMP)

demo: setup
	$(BIN)/cpss demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: setup
	$(BIN)/python bench/run.py

# Every bandit policy on ads-small over 20 seeds: regret curves with 95% bands (runs/bandits-ads-*).
bandits: setup
	$(BIN)/cpss bandits --config ads-small --seeds 20

# Regenerate docs/scenarios/*.md from the scenario modules' docstrings.
docs: setup
	$(BIN)/python docs/make_scenario_pages.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache build *.egg-info
