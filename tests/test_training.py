"""`cpss train` / `cpss eval`: run folders, checkpoints, resume equals an uninterrupted run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from conftest import TINY_MUSEUM_GUIDED, set_args
from typer.testing import CliRunner

from cpss.runs.cli import app

runner = CliRunner()
TINY = set_args(TINY_MUSEUM_GUIDED)


def _train(out, steps, *extra):
    res = runner.invoke(
        app,
        [
            "train",
            "museum",
            "--algo",
            "dqn",
            "--steps",
            str(steps),
            "--seed",
            "3",
            "--out",
            str(out),
            "--hp",
            "learning_starts=20",
            "--hp",
            "batch_size=16",
            *TINY,
            *extra,
        ],
    )
    assert res.exit_code == 0, res.output
    return out


def test_train_writes_run_folder_and_eval_compares_with_heuristics(tmp_path):
    out = _train(tmp_path / "run", 120, "--eval-every", "80", "--eval-episodes", "2")
    for name in ("config.json", "metrics.csv", "eval.csv", "baselines.json", "learning_curve.png", "summary.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "status.json").read_text())["state"] == "done"
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)  # no numpy inside
    assert ckpt["algo"] == "dqn" and ckpt["state"]["env_steps"] >= 120
    res = runner.invoke(app, ["eval", str(out), "--episodes", "2"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "evaluation.csv")
    assert {"dqn", "heuristic:crowd_aware", "heuristic:interest"} <= set(table["policy"])
    assert {"return", "mean_satisfaction", "peak_occupancy_ratio"} <= set(table["metric"])


def test_resume_equals_an_uninterrupted_run(tmp_path):
    whole = _train(tmp_path / "whole", 160)
    part = _train(tmp_path / "part", 80)
    res = runner.invoke(app, ["train", "museum", "--algo", "dqn", "--resume", str(part), "--steps", "160"])
    assert res.exit_code == 0, res.output
    a = pd.read_csv(whole / "metrics.csv")
    b = pd.read_csv(part / "metrics.csv")
    pd.testing.assert_frame_equal(a, b)
    sa = torch.load(whole / "checkpoints" / "last.pt", weights_only=True)["state"]
    sb = torch.load(part / "checkpoints" / "last.pt", weights_only=True)["state"]
    assert sa["env_steps"] == sb["env_steps"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "alphago"], "unknown learner 'alphago'"),
        (["--algo", "dqn", "--hp", "learning_rat=0.1"], "unknown hyperparameter(s) learning_rat"),
        (["--algo", "dqn", "--device", "tpu"], "--device: must be cpu or cuda"),
        (["--algo", "dqn", "--resume", "/no/such/run"], "not a training run folder"),
    ],
)
def test_train_bad_input(tmp_path, args, message):
    res = runner.invoke(app, ["train", "museum", "--out", str(tmp_path / "r"), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_eval_bad_target(tmp_path):
    res = runner.invoke(app, ["eval", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "no such run folder or checkpoint" in res.output
