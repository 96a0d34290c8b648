"""One seed, one day, whichever command plays it (docs/cli.md, "Seeds").

* a sweep's seed ``s`` is the day of ``cpss simulate --seed s``: same summary, metric by metric;
* day ``i`` of ``cpss batch --seed 0`` has the visitors of ``cpss simulate --seed i`` (the batched
  engine then draws its dynamics from its own generator, so the days agree in distribution, as
  tests/test_batched.py checks, not draw by draw).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_MUSEUM, set_args
from typer.testing import CliRunner

import scenarios
from cpss.kit.env import CPSSParallelEnv
from cpss.runs.cli import app
from scenarios.museum.batched import BatchedMuseumEnv

runner = CliRunner()
TINY = set_args(TINY_MUSEUM)


def test_sweep_seed_is_the_day_of_simulate_seed(tmp_path):
    sweep = tmp_path / "sweep"
    res = runner.invoke(
        app,
        ["sweep", "museum", "--policy", "crowd_aware", "--seeds", "3", "--workers", "1", "--out", str(sweep), *TINY],
    )
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(sweep / "results.csv").set_index("seed")
    days = []
    for seed in (0, 2):
        out = tmp_path / f"simulate-{seed}"
        res = runner.invoke(
            app, ["simulate", "museum", "--policy", "crowd_aware", "--seed", str(seed), "--out", str(out), *TINY]
        )
        assert res.exit_code == 0, res.output
        summary = json.loads((out / "summary.json").read_text())
        for key, value in summary.items():
            got = float(rows.loc[seed, key])
            assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), (seed, key)
        days.append(summary)
    assert days[0]["mean_satisfaction"] != days[1]["mean_satisfaction"]  # different seeds, different days


@pytest.mark.parametrize(("first", "days"), [(0, 3), (2, 1)], ids=["one-chunk", "later-chunk"])
def test_batch_day_i_has_the_visitors_of_simulate_seed_i(first, days):
    """``cpss batch --seed 0`` runs chunks of days with seeds ``seed + start``: day ``i`` = seed ``i``."""
    cfg = scenarios.load_config("museum", "museum-small", TINY_MUSEUM)
    batch = BatchedMuseumEnv(cfg, num_days=days, seed=first)
    batch.reset()
    w = batch.world
    for b in range(days):
        env = CPSSParallelEnv(scenarios.scenario_class("museum")(cfg))
        env.reset(seed=first + b)  # what `cpss simulate --seed first+b` plays
        pop, rows = env.model.pop, slice(b * w.V, (b + 1) * w.V)
        for name in ("style", "has_device"):
            np.testing.assert_array_equal(getattr(w.pop, name)[rows].cpu().numpy(), getattr(pop, name), err_msg=name)
        for name in ("arrival", "budget", "interest", "trust"):  # `cpss batch` keeps floats in float32
            np.testing.assert_allclose(getattr(w.pop, name)[rows].cpu().numpy(), getattr(pop, name), rtol=1e-6)
        np.testing.assert_array_equal(w.pop.leader[rows].cpu().numpy() - b * w.V, pop.leader)
