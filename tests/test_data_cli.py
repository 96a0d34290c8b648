"""Visitor logs on the command line (issue 17): simulate --trajectories, compare, calibrate, the round trip.

Bad logs follow test_fuzz_cli.py: exit 2, one line ``error: ...`` naming the culprit (file, row,
column), no traceback, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MUSEUM, set_args
from typer.testing import CliRunner

from cpss.data.readers import read_log
from cpss.kit.config import load_config
from cpss.runs.cli import app
from cpss.runs.fitting import fit
from cpss.runs.logs import simulate_log
from cpss.venue.config import VenueConfig
from scenarios.museum import MuseumConfig

runner = CliRunner()
TINY = set_args(TINY_MUSEUM)


@pytest.fixture(scope="module")
def sim_logs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("logs")
    out = {}
    for seed in (1, 2):
        folder = root / f"sim{seed}"
        res = runner.invoke(
            app, ["simulate", "museum", *TINY, "--seed", str(seed), "--trajectories", "--out", str(folder)]
        )
        assert res.exit_code == 0, res.output
        out[f"sim{seed}"] = folder / "trajectories.parquet"
    bad = root / "bad"
    bad.mkdir()
    (bad / "overlap.csv").write_text("visitor,room,enter,leave\n1,Room 1,0,5\n1,Room 2,3,6\n")
    (bad / "atlantis.csv").write_text("visitor,room,enter,leave\n1,Atlantis,0,5\n")
    (bad / "columns.csv").write_text("visitor,room,enter\n1,Room 1,0\n")
    (bad / "backwards.csv").write_text("visitor,time,event,room\n4,3,arrive,Room 1\n4,1,enter_room,Room 1\n")
    (bad / "nolayout.toml").write_text("[visitors]\ncount = 30\n")
    out["bad"] = bad
    return out


def test_simulate_trajectories_writes_the_event_log(sim_logs):
    log = read_log(sim_logs["sim1"])
    assert log.kind == "events" and len(log.visits) == TINY_MUSEUM["visitors"]["count"]


def test_compare_writes_table_json_and_figure(sim_logs, tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(app, ["compare", str(sim_logs["sim1"]), str(sim_logs["sim2"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads((out / "comparison.json").read_text())["rows"]
    names = {r["statistic"] for r in rows}
    assert {"visit duration (median min)", "room transitions (rows, mean TV)", "stops per exhibit (mean)"} <= names
    assert all(0.0 <= r["distance"] <= 1.0 for r in rows if r["measure"] in ("KS", "TV") and np.isfinite(r["distance"]))
    assert (out / "comparison.png").stat().st_size > 0 and "| statistic |" in (out / "comparison.md").read_text()


BAD = [
    # (id, command line, culprit)
    ("compare-overlap", "compare {bad}/overlap.csv {sim1} --out {out}", "row 2, column enter: overlapping stays"),
    ("compare-columns", "compare {bad}/columns.csv {sim1} --out {out}", "column leave: missing column"),
    ("compare-backwards", "compare {sim1} {bad}/backwards.csv --out {out}", "row 2, column time: time goes backwards"),
    ("compare-missing", "compare {bad}/nothere.csv {sim1} --out {out}", "nothere.csv: log file not found"),
    ("calibrate-unknown-room", "calibrate museum --log {bad}/atlantis.csv --out {out}", "row 1, column room: unknown"),
    ("calibrate-overlap", "calibrate museum --log {bad}/overlap.csv --out {out}", "overlapping stays"),
    ("calibrate-workshop", "calibrate workshop --log {sim1} --out {out}", "calibrate: scenario 'workshop'"),
    (
        "calibrate-no-layout",
        "calibrate museum --log {sim1} --config {bad}/nolayout.toml --out {out}",
        "floor.layout_seed",
    ),
    ("simulate-trajectories-ads", "simulate ads --trajectories --out {out}", "--trajectories"),
]


@pytest.mark.parametrize(("line", "culprit"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_logs_on_the_command_line(sim_logs, tmp_path, line: str, culprit: str):
    out = tmp_path / "out"
    fill = {"bad": str(sim_logs["bad"]), "sim1": str(sim_logs["sim1"]), "out": str(out)}
    args = [part.format(**fill) for part in line.split()]
    res = runner.invoke(app, args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2, f"exit {res.exit_code}: {res.output[-600:]}"
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert culprit.format(**fill) in lines[0], lines[0]
    assert "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_calibrate_writes_a_config_that_loads(sim_logs, tmp_path):
    out = tmp_path / "cal"
    args = ["calibrate", "museum", "--log", str(sim_logs["sim1"]), *TINY, "--days", "1", "--max-evals", "1"]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    config = load_config(MuseumConfig, out / "config.toml")
    assert config.visitors.count == TINY_MUSEUM["visitors"]["count"]
    fitted = {p["path"]: p for p in json.loads((out / "fit.json").read_text())["parameters"]}
    assert config.visitors.budget_median == pytest.approx(fitted["visitors.budget_median"]["value"])
    assert "## Not fitted" in (out / "report.md").read_text()


def test_calibrate_from_a_room_log_fits_the_dwell_scale_of_the_floor(sim_logs, tmp_path):
    rooms = tmp_path / "rooms.csv"
    read_log(sim_logs["sim1"]).stays.to_csv(rooms, index=False)
    out = tmp_path / "cal"
    args = ["calibrate", "museum", "--log", str(rooms), *TINY, "--days", "1", "--max-evals", "1", "--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    paths = {p["path"] for p in json.loads((out / "fit.json").read_text())["parameters"]}
    assert "floor.dwell_median" in paths and not any(".share" in p or "group_sizes" in p for p in paths)


ROUND_TRIP_BASE = {
    "world": {"day_minutes": 180, "last_entry_before_close": 60},
    "floor": {"layout_seed": 7, "rooms": 10, "exhibits": 30, "room_area": 30.0, "stars": 1},
    "visitors": {"count": 160, "budget_median": 60.0},
    "guides": {"count": 6, "device_share": 0.3},
}
TRUE_DWELL = {"ant": 1.8, "butterfly": 1.4, "fish": 0.7, "grasshopper": 2.8}
TRUE_SHARES = {"ant": 0.35, "butterfly": 0.2, "fish": 0.3, "grasshopper": 0.15}


@pytest.mark.slow
def test_round_trip_recovers_the_parameters_from_the_log_alone():
    """Simulate with known non-default parameters, export, fit from the log alone, recover them.

    Tolerances (one observed day of 160 visitors, a short fit of 2 days per trial and 4 trials):
    what is read off the log (arrival profile, style shares) within 3 standard errors of the truth,
    the dwell multipliers within 25%, the budget median within 35%. The sharpness factor is off
    (1.4 in the truth) and stays unchecked: so short a fit does not pin it (docs/data.md shows the
    longer museum-small fit that does).
    """
    base = VenueConfig.model_validate(ROUND_TRIP_BASE)
    data = base.model_dump()
    data["visitors"].update(budget_median=40.0, budget_sigma=0.45)
    data["context"]["arrival_profile"] = [0.5, 0.3, 0.2]  # arrivals end after 2 hours: 0.625 / 0.375
    for name, style in data["visitors"]["styles"].items():
        style.update(dwell_mult=TRUE_DWELL[name], share=TRUE_SHARES[name], selectivity=style["selectivity"] * 1.4)
    truth = VenueConfig.model_validate(data)
    observed = simulate_log(truth, seed=99, label="observed")
    result = fit(observed, base, days=2, max_evals=4, seed=0, error_days=6)
    got = {p.path: p for p in result.parameters}
    assert got["visitors.count"].value == 160
    for h, share in enumerate([0.625, 0.375]):
        p = got[f"context.arrival_profile[{h}]"]
        assert abs(p.value - share) <= 3 * p.se
    for name in TRUE_DWELL:
        p = got[f"visitors.styles.{name}.share"]
        assert abs(p.value - TRUE_SHARES[name]) <= 3 * p.se
        assert got[f"visitors.styles.{name}.dwell_mult"].value == pytest.approx(TRUE_DWELL[name], rel=0.25)
    assert got["visitors.budget_median"].value == pytest.approx(40.0, rel=0.35)
    fitted = [p for p in result.parameters if p.method == "simulated moments"]
    assert all(np.isfinite(p.se) and p.se > 0 for p in fitted)
    assert result.fitted.keys() == result.observed.keys()
