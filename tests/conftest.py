"""Shared test configs: the tiny museum that CLI, sweep, training, RLlib and dashboard tests run.

Test modules import the constants (``from conftest import TINY_MUSEUM, set_args``; pytest puts
``tests/`` on ``sys.path``) or take the fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

TINY_MUSEUM: dict[str, dict[str, Any]] = {
    "visitors": {"count": 30},
    "world": {"day_minutes": 40, "last_entry_before_close": 10},
    "guides": {"count": 2},
}
"""museum-small cut down to 30 visitors, 2 guides and a 40-minute day."""

TINY_MUSEUM_GUIDED: dict[str, dict[str, Any]] = {
    **TINY_MUSEUM,
    "guides": {**TINY_MUSEUM["guides"], "device_share": 1.0},
}
"""The tiny museum with a guide for every group, so learners see decisions from the first minute."""


def set_args(overrides: dict[str, dict[str, Any]]) -> list[str]:
    """``{"visitors": {"count": 30}}`` as the command line's ``["--set", "visitors.count=30"]``."""
    args = []
    for section, values in overrides.items():
        for key, value in values.items():
            args += ["--set", f"{section}.{key}={value}"]
    return args


@pytest.fixture
def tiny_museum_args() -> list[str]:
    """The tiny museum as ``--set`` arguments."""
    return set_args(TINY_MUSEUM)


def untrained_run_folder(path: Path, scenario: str, algo: str, **overrides) -> Path:
    """A training run folder with an untrained learner (what `cpss train` writes, minus training)."""
    import agents
    import scenarios
    from cpss.runs.training import make_env

    scen = scenarios.make_scenario(scenario, None, **overrides)
    multi = agents.get(algo).capabilities.multi_agent
    others = None if multi else scen.heuristic_policies[0]
    learner = agents.make(algo, make_env(scen, multi, others), seed=0)
    learner.save(path / "checkpoints" / "last.pt")
    (path / "config.json").write_text(
        json.dumps(
            {
                "scenario": scenario,
                "algo": algo,
                "seed": 0,
                "multi_agent": multi,
                "others": others,
                "config": scen.config.model_dump(mode="json"),
            }
        )
    )
    return path


def venue_days(cfg: Any, ticks: int, seeds: tuple[int, ...] = (0, 1, 2)) -> list[Any]:
    """Numpy venue days (one per seed) stepped ``ticks`` times: the states the engine-equivalence tests import."""
    from cpss.venue.model import VenueModel

    models = []
    for seed in seeds:
        m = VenueModel(cfg, seed=seed)
        for _ in range(ticks):
            m.step()
        models.append(m)
    return models
