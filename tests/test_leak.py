"""Resetting an env releases the old Mesa model: memory stays flat over many days (issue 16, item 4).

Mesa 3.3 keeps every model as a key of the class-level ``mesa.Agent._ids`` (mesa#3179), so
without :func:`cpss.kit.model.release` each reset leaked the whole previous day.
"""

from __future__ import annotations

import gc
from pathlib import Path

import mesa
import pytest
from conftest import TINY_MUSEUM

import scenarios
from cpss.kit.env import CPSSGymEnv
from cpss.kit.model import release

CASES = [("museum", TINY_MUSEUM), ("workshop", {}), ("ads", {})]


def _rss_mb() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no VmRSS in /proc/self/status")


def _ids_now() -> int:
    """Models Mesa holds, once the envs dropped by earlier tests are collected (and release theirs)."""
    gc.collect()
    return len(mesa.Agent._ids)


@pytest.mark.parametrize(("name", "overrides"), CASES)
def test_reset_and_close_release_the_models(name: str, overrides: dict) -> None:
    before = _ids_now()
    env = scenarios.make(name, **overrides)
    assert len(mesa.Agent._ids) == before  # the probe model of the constructor is released
    for seed in range(20):
        old = env.model
        env.reset(seed=seed)
        assert old not in mesa.Agent._ids
        assert len(mesa.Agent._ids) == before + 1  # only the live day
    model = env.model
    env.close()
    assert len(mesa.Agent._ids) == before
    assert env.episode_summary() and env.model is model  # still readable after close


def test_gym_view_close_releases_the_model() -> None:
    before = _ids_now()
    parallel = scenarios.make("ads")
    env = CPSSGymEnv(parallel, others=parallel.heuristic_policies[0])
    for seed in range(5):
        env.reset(seed=seed)
    assert len(mesa.Agent._ids) == before + 1
    env.close()
    assert len(mesa.Agent._ids) == before


def test_release_ignores_none_and_released_models() -> None:
    env = scenarios.make("ads")
    env.reset(seed=0)
    release(None)
    release(env.model)
    release(env.model)
    assert env.model not in mesa.Agent._ids


def test_same_seed_same_day_after_many_resets() -> None:
    env = scenarios.make("ads")
    env.reset(seed=3)
    first = env.scenario.observe(env.model).copy()
    for seed in range(10):
        env.reset(seed=seed)
    env.reset(seed=3)
    assert (env.scenario.observe(env.model) == first).all()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "overrides"), CASES)
def test_memory_flat_over_200_resets(name: str, overrides: dict) -> None:
    env = scenarios.make(name, **overrides)
    for seed in range(20):  # warm up: numba, caches, allocator pools
        env.reset(seed=seed)
    ids, rss = _ids_now(), _rss_mb()
    for seed in range(200):
        env.reset(seed=seed)
    grown = _rss_mb() - rss
    assert len(mesa.Agent._ids) == ids
    assert grown < 4.0, f"{name}: RSS grew {grown:.1f} MB over 200 resets"
    env.close()


def test_a_dropped_env_releases_its_last_day() -> None:
    before = _ids_now()
    env = scenarios.make("ads")
    env.reset(seed=0)
    del env
    gc.collect()
    assert len(mesa.Agent._ids) == before
