"""The command line end to end, and every class of bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pandas as pd
import pytest
from conftest import TINY_MUSEUM
from typer.testing import CliRunner

from cpss.runs.cli import app

runner = CliRunner()


def test_scenarios_lists_museum():
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0
    assert "museum" in res.output and "museum-small" in res.output and "museum-large" in res.output


def test_simulate_writes_a_complete_run_folder(tmp_path, tiny_museum_args):
    out = tmp_path / "run"
    args = ["simulate", "museum", "--policy", "interest", "--seed", "3", "--out", str(out), *tiny_museum_args]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "mean_satisfaction" in res.output
    for name in ("config.json", "metrics.csv", "summary.json", "mean_satisfaction.png", "occupancy_heatmap.png"):
        assert (out / name).is_file(), name
    cfg = json.loads((out / "config.json").read_text())
    visitors, minutes = TINY_MUSEUM["visitors"]["count"], TINY_MUSEUM["world"]["day_minutes"]
    assert cfg["seed"] == 3 and cfg["policy"] == "interest" and cfg["config"]["visitors"]["count"] == visitors
    assert "mesa" in cfg["versions"]
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == minutes + 1 and metrics["minute"].iloc[-1] == minutes
    summary = json.loads((out / "summary.json").read_text())
    assert summary["arrived"] == visitors
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_simulate_steps_caps_the_day(tmp_path, tiny_museum_args):
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "museum", "--steps", "15", "--out", str(out), *tiny_museum_args])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "metrics.csv")) == 16


def _disconnected_plan(tmp_path):
    g = nx.Graph()
    g.add_node("Hall", area=50.0, capacity=30, entrance="true")
    g.add_node("Island", area=40.0, capacity=20)
    g.add_node("Vase", kind="item", zone="Island", topics="1.0")
    path = tmp_path / "island.graphml"
    nx.write_graphml(g, path)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "visitors.cuont=3"], "visitors.cuont: Extra inputs are not permitted"),
        (["--set", "visitors.count=many"], "visitors.count: Input should be a valid integer"),
        (["--set", "visitors.count=-5"], "visitors.count: Input should be greater than or equal to 0"),
        (["--set", "guides.device_share=1.5"], "guides.device_share: Input should be less than or equal to 1"),
        (["--seed", "-1"], "--seed: must be >= 0"),
        (["--set", "world.seed=-3"], "world.seed: Input should be greater than or equal to 0"),
        (["--config", "nowhere.toml"], "nowhere.toml: config file not found"),
        (["--config", "museum-huge"], "unknown config 'museum-huge'"),
        (["--policy", "psychic"], "--policy: unknown policy 'psychic'"),
        (["--set", "novalue"], "expected KEY=VALUE"),
        (["--set", "floor.file=/no/such/plan.json"], "floor plan file not found"),
        ("DISCONNECTED", "disconnected"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    if args == "DISCONNECTED":
        args = ["--set", f"floor.file={json.dumps(str(_disconnected_plan(tmp_path)))}"]
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "museum", "--out", str(out), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_unknown_scenario_and_existing_out(tmp_path, tiny_museum_args):
    res = runner.invoke(app, ["simulate", "aquarium"])
    assert res.exit_code == 2 and "unknown scenario 'aquarium'" in res.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    res = runner.invoke(app, ["simulate", "museum", "--out", str(busy), *tiny_museum_args])
    assert res.exit_code == 2 and "already exists" in res.output
    assert (busy / "keep.txt").read_text() == "x"


def test_bad_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[visitors]\ncount = [\n")
    res = runner.invoke(app, ["simulate", "museum", "--config", str(path)])
    assert res.exit_code == 2 and "invalid TOML" in res.output


@pytest.mark.slow  # a fresh interpreter imports the whole package: about 3 s
def test_console_script_exit_code_and_stderr(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cpss", "simulate", "museum", "--set", "visitors.count=-1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "visitors.count" in proc.stderr
    assert "Traceback" not in proc.stderr
