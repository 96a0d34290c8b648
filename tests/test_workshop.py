"""The smart-workshop scenario: spaces, heuristics, invariants, pure rules, bad input, CLI.

The PettingZoo/Gymnasium API checks, observations in their spaces and multi-step determinism
run for every scenario in tests/test_env_api.py; this file holds what is particular to the
workshop.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import scenarios
import scenarios.workshop as ws
from cpss.kit.config import ConfigError
from cpss.runs.cli import app
from scenarios.workshop import dynamics as dyn

FIELD = {name: i for i, (name, _) in enumerate(ws.OBS_FIELDS)}

# ---------------------------------------------------------------- spaces and observations


def test_one_cobot_per_station_with_speed_and_assistance_actions():
    env = scenarios.make("workshop")
    assert env.possible_agents == [f"cobot_{k}" for k in range(6)]
    act = env.action_space("cobot_0")
    assert act.shape == (3,) and act.dtype == np.float32
    assert float(act.low.min()) == 0.0 and float(act.high.max()) == 1.0
    assert env.observation_space("cobot_0").shape == (len(ws.OBS_FIELDS),)
    assert env.scenario.action_masks(env.scenario.build_world(0)) is None


def test_docstring_layout_matches_obs_fields():
    for i, (name, _) in enumerate(ws.OBS_FIELDS):
        assert f"| {i} | `{name}` |" in ws.__doc__


def test_observation_fields_follow_the_shift():
    """The documented fields read what they say: the clock runs, the breaks show, no masks."""
    env = scenarios.make("workshop")
    obs, infos = env.reset(seed=2)
    assert all("action_mask" not in info for info in infos.values())
    assert all(o[FIELD["clock"]] == 0.0 for o in obs.values())
    horizon, break_minutes = env.model.horizon, 0
    while env.agents:
        obs, _, _, _, infos = env.step(env.heuristic_actions("fixed"))
        clock = [o[FIELD["clock"]] for o in obs.values()]
        np.testing.assert_allclose(clock, env.t / horizon, rtol=1e-6)
        on_break = {float(o[FIELD["on_break"]]) for o in obs.values()}
        assert len(on_break) == 1  # the whole shop breaks together
        break_minutes += on_break.pop()
        assert all("action_mask" not in info for info in infos.values())
    assert env.t == horizon and break_minutes == 50  # the three breaks of the default shift


@pytest.mark.slow  # five whole shifts
def test_heuristics_are_deterministic_and_fixed_is_safe():
    def day(policy: str) -> dict[str, float]:
        env = scenarios.make("workshop")
        env.reset(seed=5)
        while env.agents:
            env.step(env.heuristic_actions(policy))
        return env.episode_summary()

    runs = {p: day(p) for p in ws.WorkshopScenario.heuristic_policies}
    assert day("fatigue_adaptive") == runs["fatigue_adaptive"]
    assert runs["fixed"]["safety_violations"] == 0 and runs["fixed"]["protective_stops"] == 0
    assert all(r["throughput"] > 50 for r in runs.values())
    assert runs["preference"]["comfort_mismatch"] < runs["fixed"]["comfort_mismatch"]


# ---------------------------------------------------------------- invariants over a shift


@pytest.mark.parametrize("policy", [None, "fatigue_adaptive"])
def test_shift_invariants(policy):
    env = scenarios.make("workshop", config="workshop-large")
    env.reset(seed=11)
    rng = np.random.default_rng(0)
    m = env.model
    breaks = 0
    while env.agents:
        if policy is None:
            acts = {a: rng.random(3).astype(np.float32) for a in env.agents}
        else:
            acts = env.heuristic_actions(policy)
        _, rew, term, _, infos = env.step(acts)
        assert all(np.isfinite(r) and abs(r) < 20 for r in rew.values())
        assert not any(term.values())  # a shift only ends by truncation
        jobs_in = m.initial_wip + m.released
        in_line = np.bincount(m.layout.cell, weights=m.buffer + m.busy + m.blocked, minlength=m.n_cells)
        assert np.array_equal(jobs_in, m.done + in_line)
        assert m.n_jobs.sum() == jobs_in.sum() + m.backlog.sum()
        assert (m.buffer >= 0).all() and (m.backlog >= 0).all()
        assert (m.buffer <= m.config.floor.buffer_capacity).all()
        for arr in (m.phys, m.mental, m.trust, m.progress, m.mf):
            assert ((arr >= 0) & (arr <= 1)).all()
        assert not (m.busy & m.blocked).any()
        assert (m.crew_station >= 0).sum() == (m.repairer >= 0).sum()
        breaks += m.on_break
        if m.on_break:
            assert all(info["idle"] for info in infos.values())
    assert env.t == m.horizon and not m.running
    assert breaks == 50
    summary = env.episode_summary()
    assert summary["throughput"] == m.done.sum() > 0
    assert 0 <= summary["workload_gini"] < 1 and summary["lead_time"] > 0
    assert 0 <= summary["mean_fatigue"] <= summary["peak_fatigue"] <= 1


# ---------------------------------------------------------------- pure rules (table tests)
# (fatigue per body region, separation and force limits: tests/test_workshop_physics.py)


def test_default_action_is_the_reduced_speed():
    scen = scenarios.make_scenario("workshop")
    c = scen.config.cobots
    act = scen.default_action()
    assert act.shape == (3,) and float(act[0]) * c.v_max <= c.v_reduced
    assert act[1] == pytest.approx(c.fixed_assistance) and act[2] == pytest.approx(c.fixed_focus)


RATES = {"rate": 0.01, "recovery": 0.008, "rest_mult": 5.0}


@pytest.mark.parametrize(
    "f0, load, rest, dt, expected",
    [
        (0.0, 0.0, 1.0, 10.0, 0.0),  # rested stays rested
        (0.5, 0.0, 1.0, 10.0, 0.5 * np.exp(-0.04 * 10)),  # rest: decay at r·R
        (0.5, 0.0, 0.0, 10.0, 0.5 * np.exp(-0.008 * 10)),  # idle under load: R only
        (0.0, 1.0, 0.0, 60.0, 1.25 * (1 - np.exp(-0.48))),  # work toward F·L/R = 1.25
        (0.3, 0.64, 0.0, 60.0, 0.8 + (0.3 - 0.8) * np.exp(-0.48)),  # target 0.8
        (0.8, 0.64, 0.0, 1e6, 0.8),  # at the target it stays
        (0.9, 1.5, 0.0, 1e6, 1.0),  # clipped at 1
    ],
)
def test_fatigue_step_table(f0, load, rest, dt, expected):
    out = dyn.fatigue_step(np.array([f0]), np.array([load]), np.array([rest]), dt, **RATES)
    assert out[0] == pytest.approx(expected)


def test_fatigue_step_is_exact_and_monotone():
    f = np.linspace(0, 1, 11)
    load, rest = np.full(11, 0.6), np.zeros(11)
    once = dyn.fatigue_step(f, load, rest, 2.0, **RATES)
    twice = dyn.fatigue_step(dyn.fatigue_step(f, load, rest, 1.0, **RATES), load, rest, 1.0, **RATES)
    assert np.allclose(once, twice)
    more = dyn.fatigue_step(f, load + 0.2, rest, 2.0, **RATES)
    assert (more >= once).all() and (np.diff(once) > 0).all()


def test_learning_and_tools():
    n = np.array([0.0, 1.0, 100.0, 1e9])
    mult = dyn.time_multiplier(n, progress_ratio=0.85, plateau=0.7)
    assert mult[0] == pytest.approx(1.0) and mult[1] == pytest.approx(0.7 + 0.3 * 0.85)
    assert (np.diff(mult) < 0).all() and mult[-1] == pytest.approx(0.7, abs=5e-3)
    need = np.array([True, True, True, False, True])
    cell = np.array([0, 0, 0, 0, 1])
    prio = np.array([0.3, 0.1, 0.2, 0.0, 0.9])
    assert dyn.tool_waits(need, cell, prio, 2).tolist() == [True, False, False, False, False]
    assert not dyn.tool_waits(need, cell, prio, 3).any()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"floor": {"stationz": 3}}, "stationz"),
        ({"cobots": {"count": 7}}, "7 cobots but only 6 stations"),
        ({"cobots": {"count": 2, "stations": [0, 9]}}, "cobots.stations"),
        ({"floor": {"stations": 7, "cells": 2}}, "multiple of cells"),
        ({"context": {"breaks": [{"start": 30, "end": 20}]}}, "end must be > start"),
        ({"world": {"minutes_per_step": 2.0}}, "minutes_per_step"),
        ({"rewards": {"cooperation": 1.5}}, "cooperation"),
    ],
)
def test_bad_config_is_a_one_line_error(overrides, field):
    with pytest.raises(ConfigError, match=field) as err:
        scenarios.make("workshop", **overrides)
    assert "\n" not in str(err.value)


def test_bad_actions_name_the_agent():
    env = scenarios.make("workshop")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"cobot_2.*NaN"):
        env.step({"cobot_2": np.array([np.nan, 0.5, 0.0], dtype=np.float32)})
    with pytest.raises(ValueError, match=r"cobot_1.*outside"):
        env.step({"cobot_1": np.array([1.5, 0.5, 0.0], dtype=np.float32)})
    with pytest.raises(ValueError, match="unknown heuristic"):
        env.heuristic_actions("fastest")


def test_fewer_cobots_than_stations():
    env = scenarios.make("workshop", cobots={"count": 2})
    obs, _ = env.reset(seed=1)
    assert env.model.cobot_station.tolist() == [0, 5]
    for _ in range(30):
        obs, *_ = env.step(env.heuristic_actions("preference"))
    assert set(obs) == {"cobot_0", "cobot_1"}


# ---------------------------------------------------------------- rendering and CLI


def test_render_modes():
    text = scenarios.make("workshop", render_mode="ansi")
    text.reset(seed=0)
    text.step({})
    assert "station  5" in text.render()
    rgb = scenarios.make("workshop", render_mode="rgb_array")
    rgb.reset(seed=0)
    img = rgb.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


def test_cli_simulate(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", "workshop", "--policy", "fatigue_adaptive", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["minute"] == 480 and summary["throughput"] > 0
    for name in ("metrics.csv", "config.json", "throughput.png", "occupancy_heatmap.png"):
        assert (out / name).is_file()
    bad = CliRunner().invoke(app, ["simulate", "workshop", "--set", "cobots.count=9", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "9 cobots" in bad.output
