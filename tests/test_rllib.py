"""`cpss train --backend rllib`: one PPO iteration on the museum, checkpoint restored, `cpss eval` on it.

The museum trains with its action masks (a masking RLModule): a run takes no invalid action,
where the same run without masks takes dozens. The weights-only export (``cpss_policy.json`` +
``cpss_policy.pt``) must act exactly as the RLlib module does: same masked action distribution
inputs, same deterministic actions, with and without masks.
"""

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
from cpss.runs.rllib_policy import MASKED_LOGIT

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


def _assert_export_matches_rllib(out, cfg):
    """The export's network gives RLlib's logits and actions on real and random observations."""
    import scenarios
    from cpss.runs.rllib_modules import load_rllib_checkpoint
    from cpss.runs.rllib_policy import load_export
    from cpss.runs.training import make_env

    ckpt = out / "checkpoints" / "last"
    cls = scenarios.scenario_class(cfg["scenario"])
    env = make_env(cls(cls.config_cls.model_validate(cfg["config"])), True)
    torch.manual_seed(11)
    rng_before = torch.get_rng_state()
    exported = load_export(ckpt, cfg, env)
    assert torch.equal(torch.get_rng_state(), rng_before)
    raw = load_rllib_checkpoint(ckpt, cfg)
    assert set(exported.networks) == set(raw.modules)
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=5)
    batches = [(obs, infos)]
    for _ in range(5):
        obs, _, _, _, infos = env.step(env.heuristic_actions("crowd_aware"))
        batches.append((obs, infos))
    agents_ = list(env.possible_agents)
    dim = env.observation_space(agents_[0]).shape
    for _ in range(20):
        batches.append(({a: rng.normal(size=dim).astype(np.float32) for a in agents_}, None))
    n = env.action_space(agents_[0]).n
    for obs, infos in batches:
        for mid, module in raw.modules.items():
            assert type(module).__name__ == "MaskedPPOModule"  # the museum trains with its action masks
            names = [a for a in obs if mid in ("shared", a)]
            x = torch.as_tensor(np.stack([obs[a] for a in names]), dtype=torch.float32)
            if infos is not None:
                mask = np.stack([infos[a]["action_mask"] for a in names]).astype(np.float32)
            else:  # random masks, action 0 always valid as in the museum
                mask = np.concatenate([np.ones((len(names), 1)), rng.random((len(names), n - 1)) < 0.3], axis=1)
                mask = mask.astype(np.float32)
            with torch.no_grad():
                want = module.forward_inference({"obs": {"observations": x, "action_mask": torch.as_tensor(mask)}})
            got = exported.logits(mid, x.numpy(), mask)
            torch.testing.assert_close(got, want["action_dist_inputs"], rtol=1e-5, atol=1e-5)
            assert torch.equal(got == MASKED_LOGIT, torch.as_tensor(mask) == 0)
        assert exported.act(obs, infos) == raw.act(obs, infos)
        assert exported.act(obs) == raw.act(obs)


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

    from cpss.runs.rllib_modules import load_rllib_checkpoint

    out = _train(tmp_path / "run")
    cfg = json.loads((out / "config.json").read_text())
    visitors = TINY_MUSEUM_GUIDED["visitors"]["count"]
    assert cfg["backend"] == "rllib" and cfg["policies"] == "shared" and cfg["config"]["visitors"]["count"] == visitors
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 1 and metrics["env_steps"].iloc[0] >= 80 and metrics["iteration"].iloc[0] == 1
    assert {"episode", "return", "policy_loss"} <= set(metrics.columns)
    assert metrics["episode"].iloc[0] >= 2 and metrics["invalid_actions"].iloc[0] == 0  # masked: none in 2 days
    assert (out / "learning_curve.png").is_file() and json.loads((out / "status.json").read_text())["state"] == "done"
    ckpt = out / "checkpoints" / "last"
    assert (ckpt / "rllib_checkpoint.json").is_file()
    assert ckpt.is_symlink() and os.readlink(ckpt) == "iteration-000001"
    assert (ckpt / "cpss_policy.json").is_file() and (ckpt / "cpss_policy.pt").is_file()
    spec = json.loads((ckpt / "cpss_policy.json").read_text())
    first = spec["modules"]["shared"]["layers"][0]
    assert spec["policies"] == "shared" and first["out"] == 32 and first["activation"] == "tanh"

    algo = Algorithm.from_checkpoint(str(ckpt))
    try:
        restored = algo.learner_group.get_weights()["shared"]
    finally:
        algo.stop()
    policy = load_rllib_checkpoint(ckpt, cfg)
    for name, tensor in policy.modules["shared"].state_dict().items():
        assert torch.equal(torch.as_tensor(restored[name]), tensor), name

    _assert_export_matches_rllib(out, cfg)

    res = runner.invoke(app, ["eval", str(out), "--episodes", "1"])  # the export, no unpickling
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "evaluation.csv")
    assert {"rllib-ppo", "heuristic:crowd_aware"} <= set(table["policy"])
    row = table[(table.policy == "rllib-ppo") & (table.metric == "mean_satisfaction")]
    assert np.isfinite(row["mean"].iloc[0])
    trusted = runner.invoke(app, ["eval", str(out), "--episodes", "1", "--trust-checkpoint"])
    assert trusted.exit_code == 0, trusted.output
    assert pd.read_csv(out / "evaluation.csv").equals(table)  # the raw modules act the same


@pytest.mark.slow
def test_per_agent_policies_and_resume(ray_session, tmp_path):
    out = _train(tmp_path / "run", "--policies", "per-agent")
    modules = out / "checkpoints" / "last" / "learner_group" / "learner" / "rl_module"
    assert sorted(p.name for p in modules.iterdir() if p.is_dir()) == ["guide_0", "guide_1"]
    resume = ["train", "museum", "--algo", "ppo", "--resume", str(out), "--steps", "160"]
    refused = runner.invoke(app, resume)
    assert refused.exit_code == 2 and "--trust-checkpoint" in refused.output, refused.output
    res = runner.invoke(app, [*resume, "--trust-checkpoint"])
    assert res.exit_code == 0, res.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["iteration"].tolist() == [1, 2] and metrics["env_steps"].iloc[-1] >= 160
    checkpoints = out / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iteration-000002", "last"]
    _assert_export_matches_rllib(out, json.loads((out / "config.json").read_text()))


@pytest.mark.slow
def test_unmasked_training_takes_invalid_actions_and_the_count_sees_them(ray_session, tmp_path):
    """The counter behind the masked runs' zero: the same day trained without the masks."""
    import scenarios
    from cpss.runs.rllib import train_rllib
    from cpss.runs.training import TrainSettings

    hp = {"train_batch_size_per_learner": 40, "minibatch_size": 40, "num_epochs": 1, "model.fcnet_hiddens": [8]}
    settings = TrainSettings(algo="ppo", steps=40, seed=3, hyperparams=hp)
    scen = scenarios.make_scenario("museum", None, **TINY_MUSEUM_GUIDED)
    train_rllib(scen, settings, tmp_path, masked=False)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["episode"].iloc[0] == 1 and metrics["invalid_actions"].iloc[0] > 0
    spec = json.loads((tmp_path / "checkpoints" / "last" / "cpss_policy.json").read_text())
    assert spec["modules"]["shared"]["obs_dim"] == scen.observation_space(scen.build_world(0)).shape[0]


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
