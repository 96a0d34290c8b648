"""``cpss demo``: crowd-blind vs crowd-aware guides over many paired days, with 95% CIs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_MUSEUM, set_args
from typer.testing import CliRunner

from cpss.kit.stats import mean_ci
from cpss.runs.cli import app
from cpss.runs.demo import paired

runner = CliRunner()


def test_paired_differences_skip_days_where_a_metric_is_undefined():
    nan = float("nan")
    days = pd.DataFrame(
        {
            "policy": ["interest"] * 4 + ["crowd_aware"] * 4,
            "seed": [0, 1, 2, 3] * 2,
            "congestion_minutes": [10.0, 20.0, 30.0, 40.0, 7.0, 21.0, 25.0, 30.0],
            "sat_guided": [1.0, nan, 3.0, nan, 2.0, 5.0, nan, nan],
        }
    )
    table = paired(days, "interest", "crowd_aware").set_index("metric")
    row = table.loc["congestion_minutes"]
    assert (row["interest"], row["crowd_aware"], row["days"]) == (25.0, 20.75, 4)
    assert (row["difference"], row["ci95"]) == pytest.approx(mean_ci([-3.0, 1.0, -5.0, -10.0]))
    row = table.loc["sat_guided"]  # only day 0 is defined under both policies
    assert (row["interest"], row["crowd_aware"], row["difference"], row["days"]) == (1.0, 2.0, 1.0, 1)
    assert math.isnan(row["ci95"])


def test_paired_pairs_days_by_seed_not_by_row_order():
    days = pd.DataFrame({"policy": ["a", "a", "b", "b"], "seed": [0, 1, 1, 0], "x": [1.0, 10.0, 12.0, 4.0]})
    row = paired(days, "a", "b").set_index("metric").loc["x"]
    assert row["difference"] == pytest.approx(2.5)  # (4 - 1 + 12 - 10) / 2


def test_demo_prints_paired_differences_for_both_configs(tmp_path):
    out = tmp_path / "demo"
    res = runner.invoke(app, ["demo", "--days", "4", "--seed", "3", "--out", str(out), *set_args(TINY_MUSEUM)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    for name in ("museum-small", "museum-busy"):
        assert f"{name}: interest vs crowd_aware guides on 4 paired days (seeds 3..6)" in text
        folder = out / name
        days = pd.read_csv(folder / "days.csv")
        assert sorted(set(days["seed"])) == [3, 4, 5, 6] and set(days["policy"]) == {"interest", "crowd_aware"}
        table = pd.read_csv(folder / "paired.csv").set_index("metric")
        a = days[days["policy"] == "interest"].set_index("seed")["congestion_minutes"]
        b = days[days["policy"] == "crowd_aware"].set_index("seed")["congestion_minutes"]
        assert table.loc["congestion_minutes", "difference"] == pytest.approx(float(np.mean(b - a)))
        assert {"sat_guided", "wait_unguided", "gini_views", "welfare_total"} <= set(table.index)
        assert (folder / "paired_differences.png").is_file() and (folder / "config.json").is_file()
    assert "(95% CI)" in res.output and "One day is one draw" in text
    assert "sat_unguided" in res.output and "congestion_minutes" in res.output


def test_demo_with_one_config(tmp_path):
    out = tmp_path / "demo"
    res = runner.invoke(
        app, ["demo", "--config", "museum-small", "--days", "2", "--out", str(out), *set_args(TINY_MUSEUM)]
    )
    assert res.exit_code == 0, res.output
    assert [p.name for p in out.iterdir()] == ["museum-small"]


def test_demo_compares_another_heuristic_and_refuses_a_bad_one(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--config", "museum-busy", "--days", "2", *set_args(TINY_MUSEUM)]
    res = runner.invoke(app, [*args, "--compare", "crowd_coordinated", "--out", str(out)])
    assert res.exit_code == 0, res.output
    days = pd.read_csv(out / "museum-busy" / "days.csv")
    assert set(days["policy"]) == {"interest", "crowd_coordinated"}
    assert "interest vs crowd_coordinated guides on 2 paired days" in " ".join(res.output.split())
    for bad in ("interest", "teleport"):
        res = runner.invoke(app, [*args, "--compare", bad, "--out", str(tmp_path / bad)])
        assert res.exit_code == 2 and res.stderr.startswith("error: --compare:"), res.output
        assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / bad).exists()
