"""`cpss train --backend rllib`: one PPO iteration on the museum, checkpoint restored, `cpss eval` on it."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_MUSEUM_GUIDED, set_args
from typer.testing import CliRunner

from cpss.runs.cli import app

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.filterwarnings("ignore:.*Overriding environment:UserWarning")

runner = CliRunner()
TINY = set_args(TINY_MUSEUM_GUIDED)
ONE_ITERATION = [
    "--steps",
    "80",
    "--hp",
    "train_batch_size_per_learner=80",
    "--hp",
    "minibatch_size=40",
    "--hp",
    "num_epochs=1",
    "--hp",
    "model.fcnet_hiddens=[32]",
]


@pytest.fixture(scope="module")
def ray_session():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def _train(out, *extra):
    res = runner.invoke(
        app,
        [
            "train",
            "museum",
            "--backend",
            "rllib",
            "--algo",
            "ppo",
            "--seed",
            "3",
            *TINY,
            *ONE_ITERATION,
            "--out",
            str(out),
            *extra,
        ],
    )
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.slow
def test_ppo_iteration_checkpoint_restore_and_eval(ray_session, tmp_path):
    from ray.rllib.algorithms.algorithm import Algorithm

    from cpss.runs.rllib import load_policy

    out = _train(tmp_path / "run")
    cfg = json.loads((out / "config.json").read_text())
    visitors = TINY_MUSEUM_GUIDED["visitors"]["count"]
    assert cfg["backend"] == "rllib" and cfg["policies"] == "shared" and cfg["config"]["visitors"]["count"] == visitors
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 1 and metrics["env_steps"].iloc[0] >= 80 and metrics["iteration"].iloc[0] == 1
    assert {"episode", "return", "policy_loss"} <= set(metrics.columns)
    assert (out / "learning_curve.png").is_file() and json.loads((out / "status.json").read_text())["state"] == "done"
    ckpt = out / "checkpoints" / "last"
    assert (ckpt / "rllib_checkpoint.json").is_file()

    algo = Algorithm.from_checkpoint(str(ckpt))
    try:
        restored = algo.learner_group.get_weights()["shared"]
    finally:
        algo.stop()
    policy = load_policy(ckpt, cfg)
    for name, tensor in policy.modules["shared"].state_dict().items():
        assert torch.equal(torch.as_tensor(restored[name]), tensor), name

    res = runner.invoke(app, ["eval", str(out), "--episodes", "1"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "evaluation.csv")
    assert {"rllib-ppo", "heuristic:crowd_aware"} <= set(table["policy"])
    row = table[(table.policy == "rllib-ppo") & (table.metric == "mean_satisfaction")]
    assert np.isfinite(row["mean"].iloc[0])


@pytest.mark.slow
def test_per_agent_policies_and_resume(ray_session, tmp_path):
    out = _train(tmp_path / "run", "--policies", "per-agent")
    modules = out / "checkpoints" / "last" / "learner_group" / "learner" / "rl_module"
    assert sorted(p.name for p in modules.iterdir() if p.is_dir()) == ["guide_0", "guide_1"]
    res = runner.invoke(app, ["train", "museum", "--algo", "ppo", "--resume", str(out), "--steps", "160"])
    assert res.exit_code == 0, res.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["iteration"].tolist() == [1, 2] and metrics["env_steps"].iloc[-1] >= 160


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "dqn"], "the rllib backend trains ppo"),
        (["--algo", "ppo", "--hp", "learning_rat=0.1"], "unknown hyperparameter(s) learning_rat"),
        (["--algo", "ppo", "--policies", "some"], "--policies: must be shared or per-agent"),
    ],
)
def test_rllib_bad_input(tmp_path, args, message):
    res = runner.invoke(app, ["train", "museum", "--backend", "rllib", "--out", str(tmp_path / "r"), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()


def test_workers_need_the_rllib_backend(tmp_path):
    res = runner.invoke(app, ["train", "museum", "--algo", "dqn", "--workers", "2", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "only with --backend rllib" in res.output
