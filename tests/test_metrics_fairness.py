"""Externality and fairness metrics (docs/metrics.md): each definition on a hand-built day, and
the numpy reference (cpss.venue.metrics) against the batched torch engine (cpss.batched.io)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import venue_days

import scenarios
from cpss.batched.io import from_models
from cpss.batched.io import summary as batched_summary
from cpss.batched.venue import BatchedVenue
from cpss.venue.metrics import fairness, fairness_names, style_key, summary
from cpss.venue.users import Activity

A = Activity


def _day(has_device=(True, False, False, True, False, False), popularity=(0.0, 0.0, 4.0)) -> SimpleNamespace:
    """Six users: 0 alone (guided), 1-2 a pair (unguided), 3-5 a group of three (guided) of
    which 5 has not entered; styles ant, big fish, big fish, ant, ant, ant."""
    pop = SimpleNamespace(
        state=np.array([A.LEFT, A.VIEWING, A.DECIDING, A.LEFT, A.WALKING, A.OUTSIDE], dtype=np.int8),
        has_device=np.array(has_device),
        leader=np.array([0, 1, 1, 3, 3, 3]),
        style=np.array([0, 1, 1, 0, 0, 0]),
        satisfaction=np.array([1.0, 2.0, 6.0, 3.0, 5.0, 100.0]),
        wait_total=np.array([0.0, 1.0, 5.0, 2.0, 4.0, 50.0]),
    )
    return SimpleNamespace(pop=pop, style_names=["ant", "Big fish"], popularity=np.array(popularity))


def test_each_definition_on_a_hand_built_day():
    got = fairness(_day())
    expected = {
        "share_guided": 3 / 5,  # users 0, 3, 4 of the five who entered
        "sat_guided": (1 + 3 + 5) / 3,
        "sat_unguided": (2 + 6) / 2,
        "wait_guided": (0 + 2 + 4) / 3,
        "wait_unguided": (1 + 5) / 2,
        "wait_all": (0 + 1 + 5 + 2 + 4) / 5,
        "welfare_total": 1 + 2 + 6 + 3 + 5,  # user 5 has not entered: not counted
        "welfare_guided": 1 + 3 + 5,
        "welfare_unguided": 2 + 6,
        "gini_views": 2 / 3,  # all views on one of three exhibits: (n - 1) / n
        "sat_style_ant": (1 + 3 + 5) / 3,
        "sat_style_big_fish": (2 + 6) / 2,
        "sat_group_1": 1.0,
        "sat_group_2": (2 + 6) / 2,
        "sat_group_3plus": (3 + 5) / 2,  # the group has three members, two of whom entered
        "wait_style_ant": (0 + 2 + 4) / 3,
        "wait_style_big_fish": (1 + 5) / 2,
        "wait_group_1": 0.0,
        "wait_group_2": (1 + 5) / 2,
        "wait_group_3plus": (2 + 4) / 2,
    }
    assert list(got) == fairness_names(["ant", "Big fish"])
    assert got == pytest.approx(expected)


def test_empty_sets_are_nan_and_sums_zero():
    got = fairness(_day(has_device=(False,) * 6, popularity=(0.0, 0.0, 0.0)))
    assert math.isnan(got["sat_guided"]) and math.isnan(got["wait_guided"])
    assert got["share_guided"] == 0.0 and got["welfare_guided"] == 0.0
    assert got["welfare_unguided"] == got["welfare_total"] == 17.0
    assert got["gini_views"] == 0.0  # no views yet: no concentration
    even = fairness(_day(popularity=(3.0, 3.0, 3.0)))
    assert even["gini_views"] == 0.0


def test_style_keys_are_snake_case():
    assert style_key("Big  spender!") == "big_spender"
    assert style_key("ant") == "ant"


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)


@pytest.mark.parametrize(
    ("overrides", "ticks"),
    [({}, 90), ({"guides": {"device_share": 0.0}}, 30)],
    ids=["museum-small", "no-guides"],
)
def test_engines_agree_exactly_on_the_same_state(overrides, ticks):
    """The torch summary of imported numpy days equals the numpy summary, key by key (NaN = NaN)."""
    cfg = scenarios.load_config("museum", "museum-small", {"visitors": {"count": 80}, **overrides})
    models = venue_days(cfg, ticks)
    batched = batched_summary(from_models(models))
    for b, m in enumerate(models):
        expected = summary(m)
        assert list(batched) == list(expected)
        bad = [k for k, v in expected.items() if not _same(float(batched[k][b]), v)]
        assert not bad, bad
        assert math.isnan(expected["sat_guided"]) == (overrides != {})


def test_batched_days_report_nan_without_guides():
    cfg = scenarios.load_config("museum", "museum-small", {"visitors": {"count": 40}, "guides": {"device_share": 0.0}})
    w = BatchedVenue(cfg, 2, seed=0, dtype=torch.float64)
    for _ in range(40):
        w.step()
    got = batched_summary(w)
    assert torch.isnan(got["sat_guided"]).all() and (got["share_guided"] == 0).all()
    assert torch.isfinite(got["sat_unguided"]).all() and (got["welfare_guided"] == 0).all()
    assert torch.allclose(got["welfare_unguided"], got["welfare_total"])


def test_run_folders_sweeps_and_reports_carry_the_metrics(tmp_path):
    from conftest import TINY_MUSEUM, set_args
    from typer.testing import CliRunner

    from cpss.runs.cli import app
    from cpss.runs.report import fairness_blocks

    runner = CliRunner()
    sweep = tmp_path / "sweep"
    args = ["sweep", "museum", "--grid", "guides.device_share=0,1", "--seeds", "2", "--workers", "1"]
    res = runner.invoke(app, [*args, "--out", str(sweep), *set_args(TINY_MUSEUM)])
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(sweep / "results.csv")
    assert {"sat_guided", "wait_unguided", "gini_views", "sat_style_ant", "sat_group_3plus"} <= set(rows.columns)
    share = rows.set_index("guides.device_share")
    assert share.loc[0, "sat_guided"].isna().all() and share.loc[1, "sat_unguided"].isna().all()
    res = runner.invoke(app, ["report", str(sweep)])
    assert res.exit_code == 0, res.output
    text = (sweep / "report.md").read_text()
    section = text[text.index("## Externalities and fairness") :]
    assert "| sat_guided | sat_unguided |" in section and "n/a" in section and "sat_style_ant" in section
    no_fairness = rows[[c for c in rows if not c.startswith(("sat_", "wait_", "welfare_", "gini_", "share_"))]]
    assert fairness_blocks(no_fairness, ["guides.device_share"], {}) == []
    out = tmp_path / "day"
    res = runner.invoke(app, ["simulate", "museum", "--out", str(out), *set_args(TINY_MUSEUM)])
    assert res.exit_code == 0, res.output
    assert {"sat_guided", "welfare_total", "gini_views"} <= set(json.loads((out / "summary.json").read_text()))


def test_eval_table_leaves_out_episodes_where_a_metric_is_undefined():
    from cpss.runs.evaluation import ci_table

    nan = float("nan")
    table = ci_table({"p": [{"episode": 0, "sat_guided": 1.0}, {"episode": 1, "sat_guided": nan}, {"sat_guided": 3.0}]})
    row = table.set_index("metric").loc["sat_guided"]
    assert row["mean"] == 2.0 and row["episodes"] == 2 and np.isfinite(row["ci95"])
    empty = ci_table({"p": [{"sat_guided": nan}, {"sat_guided": nan}]}).set_index("metric").loc["sat_guided"]
    assert np.isnan(empty["mean"]) and empty["episodes"] == 0
