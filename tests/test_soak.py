"""The invariant soak (issue 16): random masked steps in every scenario, the world's invariants checked at each.

Every registered env takes ``STEPS`` random steps (masked uniform actions for discrete spaces,
uniform samples for boxes), resetting at the end of each day. After every step the test checks
what holds in any state: observations and the global state inside their spaces and finite,
rewards finite, masked actions never flagged invalid, and each world's own bookkeeping (below).
Over the resets, resident memory stays flat. ``test_soak_fast`` runs the same checks for
``FAST_STEPS`` steps in ``make test-fast``.

The invariants, read off the models:

* museum (:mod:`cpss.venue.model`): every visitor is outside, present or gone, and only moves
  forward through those; ``arrived = present + left`` in the metrics, present = the users in
  the rooms' occupancy = the live ``User`` entities; no room holds more than its hard capacity
  and no exhibit more viewers than its capacity; guide slots and their visitors point at each
  other; finished views = exhibit popularity; started views = finished + ongoing (until closing).
* workshop (:mod:`scenarios.workshop.world`): each cell's jobs are conserved (initial WIP +
  released - done = the jobs in its buffers, in process and blocked; orders = backlog +
  released); buffers within capacity; a station is never busy and blocked at once; every
  repair crew member and broken machine point at each other; fatigue, trust and the cobot
  settings stay in [0, 1].
* ads (:mod:`scenarios.ads.world`): one user per tick, one impression per tick in which a
  server proposes, exposures = impressions, clicks <= impressions, each server's revenue = its
  summed rewards, regret never falls.
* routes (:mod:`scenarios.routes.world`): after ``t`` ticks exactly ``t·K`` users are routed, each
  on route A or B (the routes' counts are the bincount of the users' routes), a user who complies
  with advice takes the advised route, the total cost is the routed users times their mean cost,
  and route B's share stays in [0, 1].
* lizard: the reward is the tile's (or the wall's), the episode ends exactly at a terminal
  tile or after ``max_steps`` moves, and each move reaches a neighbouring tile or stays put.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import scenarios
from cpss.venue import metrics as venue_metrics
from cpss.venue.users import Activity
from scenarios.lizard import TERMINAL_TILES, TILE_REWARDS, WALL_REWARD, LizardEnv

STEPS = 10_000
FAST_STEPS = 500
WARM_UP_DAYS = 3
"""Resets before the memory baseline (numba, caches and allocator pools fill up first)."""
RSS_SLACK_MB = 4.0
OVERRIDES: dict[str, dict[str, Any]] = {"ads": {"world": {"pulls": 500}}}
"""Shipped small configs; the ads day is cut to 500 pulls so that the soak crosses resets."""


def _rss_mb() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _actions(env: Any, infos: dict, rng: np.random.Generator) -> dict[str, Any]:
    acts = {}
    for a in env.agents:
        space = env.action_space(a)
        if isinstance(space, gym.spaces.Discrete):
            mask = infos[a]["action_mask"]
            assert mask.dtype == np.int8 and mask.shape == (space.n,) and mask.any(), a
            acts[a] = int(space.start + rng.choice(np.flatnonzero(mask)))
        else:
            acts[a] = rng.uniform(space.low, space.high).astype(space.dtype)
    return acts


# ---- each world's bookkeeping -------------------------------------------------------------
def _museum(model: Any, memo: dict) -> None:
    p, fl, g = model.pop, model.floor, model.guides
    state = p.state
    assert ((state >= Activity.OUTSIDE) & (state <= Activity.LEFT)).all()
    arrived, present, left = state != Activity.OUTSIDE, p.present, state == Activity.LEFT
    reported = (venue_metrics.arrived(model), venue_metrics.present(model), venue_metrics.left(model))
    assert reported == (arrived.sum(), present.sum(), left.sum()) and reported[0] == reported[1] + reported[2]
    assert (np.isnan(p.entered) == ~arrived).all()  # entered is stamped once, on entry
    if "arrived" in memo:  # nobody goes back outside; leaving is for good
        assert (arrived >= memo["arrived"]).all() and (left >= memo["left"]).all()
    memo.update(arrived=arrived, left=left)
    assert set(model.handles) == set(np.flatnonzero(present).tolist())  # one live User entity per visitor inside
    assert (p.zone[present] >= 0).all() and (p.zone[present] < fl.n_zones).all()
    occupancy = np.bincount(p.zone[present], minlength=fl.n_zones)
    assert (model.occupancy == occupancy).all() and (occupancy <= model.capacity).all()
    viewing, queuing = state == Activity.VIEWING, state == Activity.QUEUING
    viewers = np.bincount(p.target_item[viewing], minlength=fl.n_items)
    assert (model.viewers == viewers).all() and (viewers <= fl.item_capacity).all()
    assert (p.target_item[viewing | queuing] >= 0).all()
    served = np.flatnonzero(g.visitor >= 0)
    assert (p.slot[g.visitor[served]] == served).all() and present[g.visitor[served]].all()
    assert ((p.slot < 0) | (g.visitor[np.maximum(p.slot, 0)] == np.arange(p.size))).all()
    assert venue_metrics.served(model) == served.size
    assert p.n_viewed.sum() == model.popularity.sum() and 0 <= model.accepts <= model.offers
    if model.running:  # closing sends the viewers home mid-view
        assert model.views == model.popularity.sum() + viewing.sum()
    for name in ("satisfaction", "gain", "walked", "wait_total", "trust", "budget"):
        assert np.isfinite(getattr(p, name)).all(), name


def _workshop(model: Any, memo: dict) -> None:
    lay, cap = model.layout, model.config.floor.buffer_capacity
    cells = model.n_cells
    assert not (model.busy & model.blocked).any()
    held = np.where(model.first, 0, model.buffer) + model.busy + model.blocked
    in_line = np.bincount(lay.cell, weights=held, minlength=cells)
    assert (model.initial_wip + model.released - model.done == in_line).all()
    assert (model.n_jobs - model.initial_wip == model.backlog + model.released).all() and (model.backlog >= 0).all()
    assert (model.buffer[model.first] == 0).all() and (0 <= model.buffer).all() and (model.buffer <= cap).all()
    fixing = np.flatnonzero(model.crew_station >= 0)
    assert (model.repairer[model.crew_station[fixing]] == fixing).all() and not model.up[
        model.crew_station[fixing]
    ].any()
    mended = np.flatnonzero(model.repairer >= 0)
    assert (model.crew_station[model.repairer[mended]] == mended).all()
    for name in ("phys", "mental", "trust", "speed", "assist", "progress"):
        values = getattr(model, name)
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1.0 + 1e-12).all(), name
    assert np.isfinite(model.satisfaction).all() and np.isfinite(model.utility).all()
    assert model.violations >= memo.get("violations", 0)
    memo["violations"] = model.violations


def _ads(model: Any, memo: dict) -> None:
    memo["t"] = memo.get("t", 0) + 1
    assert model.t == memo["t"] and (model.pulls_made == model.t).all()  # every server proposes: masks are all ones
    assert model.impressions == model.t == model.exposures.sum() and 0 <= model.clicks <= model.impressions
    assert (model.best_pulls <= model.pulls_made).all() and (model.popularity >= 0).all()
    assert model.popularity.sum() <= model.clicks + 1e-9
    assert np.allclose(model.revenue, memo["rewards"]) and (model.regret >= memo.get("regret", 0.0) - 1e-12).all()
    memo["regret"] = model.regret.copy()


def _routes(model: Any, memo: dict) -> None:
    n = model.t * model.n_guides
    routed, route, advised = model.route[:n], model.route, model.advised
    assert model.n_routed == n and (route[n:] == -1).all() and np.isin(routed, (0, 1)).all()
    assert (np.bincount(routed, minlength=2) == model.n_route).all()
    follows = (advised[:n] >= 0) & model.complies[:n]
    assert (routed[follows] == advised[:n][follows]).all()
    assert np.isclose(model.total_cost, n * model.mean_cost) and 0.0 <= model.share_b <= 1.0


WORLDS: dict[str, Callable[[Any, dict], None]] = {
    "museum": _museum,
    "workshop": _workshop,
    "ads": _ads,
    "routes": _routes,
}


# ---- the soak -----------------------------------------------------------------------------
def soak(name: str, steps: int, seed: int = 0) -> list[float]:
    """``steps`` random masked steps of a PettingZoo scenario; returns RSS (MB) at each reset."""
    env = scenarios.make(name, **OVERRIDES.get(name, {}))
    rng = np.random.default_rng(seed)
    check = WORLDS[name]
    rss: list[float] = []
    obs, infos, memo = *env.reset(seed=seed), {}
    for step in range(steps):
        if env.day_over:
            assert env.t == env.model.horizon, (name, step)  # the day ends exactly at closing
            rss.append(_rss_mb())
            obs, infos = env.reset()
            memo = {}
        acts = _actions(env, infos, rng)
        obs, rewards, terms, truncs, infos = env.step(acts)
        assert set(rewards) == set(acts) == set(terms) == set(truncs), step
        assert not any(terms.values()) and len(set(truncs.values())) == 1
        memo["rewards"] = memo.get("rewards", 0.0) + np.array([rewards[a] for a in env.possible_agents])
        assert np.isfinite(memo["rewards"]).all(), (name, step, rewards)
        for a, o in obs.items():
            assert env.observation_space(a).contains(o) and np.isfinite(o).all(), (name, step, a)
            assert infos[a]["invalid_action"] == 0, (name, step, a)  # a masked action is never invalid
        assert env.state_space.contains(env.state()), (name, step)
        try:
            check(env.model, memo)
        except AssertionError as err:
            raise AssertionError(f"{name}: invariant broken at step {step} (day {len(rss)}, tick {env.t})") from err
    env.close()
    return rss


def soak_lizard(steps: int, seed: int = 0) -> int:
    """``steps`` random moves of the lizard; returns the number of episodes."""
    env, rng = LizardEnv(), np.random.default_rng(seed)
    tile, _ = env.reset(seed=seed)
    episodes, moves = 0, 0
    for _ in range(steps):
        action = int(rng.integers(env.action_space.n))
        before = divmod(tile, 3)
        tile, reward, terminated, truncated, _ = env.step(action)
        moves += 1
        after = divmod(tile, 3)
        assert env.observation_space.contains(tile) and abs(before[0] - after[0]) + abs(before[1] - after[1]) <= 1
        assert reward == (TILE_REWARDS[tile] if after != before else WALL_REWARD)
        assert terminated == (tile in TERMINAL_TILES) and truncated == (not terminated and moves == env.max_steps)
        if terminated or truncated:
            tile, _ = env.reset()
            episodes, moves = episodes + 1, 0
    return episodes


@pytest.mark.parametrize("name", scenarios.parallel_names())
def test_soak_fast(name: str) -> None:
    soak(name, FAST_STEPS)


@pytest.mark.slow  # about 30 s together
@pytest.mark.parametrize("name", scenarios.parallel_names())
def test_soak(name: str) -> None:
    rss = soak(name, STEPS, seed=1)
    assert len(rss) > WARM_UP_DAYS + 10, f"{name}: only {len(rss)} days in {STEPS} steps"
    grown = rss[-1] - rss[WARM_UP_DAYS]
    assert grown < RSS_SLACK_MB, f"{name}: RSS grew {grown:.1f} MB over {len(rss) - WARM_UP_DAYS} days: {rss}"


def test_soak_lizard() -> None:
    assert soak_lizard(STEPS) > 100


def test_every_registered_env_is_soaked() -> None:
    assert set(scenarios.names()) == {*WORLDS, "lizard"}
