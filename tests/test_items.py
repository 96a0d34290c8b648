"""Per-item observations, the item-scoring learner, and training on the batched engine.

* the items-mode observation and pooled state are the same in both engines on the same state
  (numpy days imported with ``from_models``) and lie in their spaces;
* the untrained item actor with the ``crowd_aware`` prior acts as ``crowd_aware`` (argmax);
* ``item_mappo`` learns a task of its kind (a choice among items whose value is in their rows)
  on the batched trainer, and a checkpoint trained on museum-small runs on museum-busy and in
  the PettingZoo env;
* ``cpss train --engine batched`` writes a run folder that ``cpss batch --checkpoint`` evaluates.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from conftest import venue_days
from typer.testing import CliRunner

import agents
import scenarios
from cpss.batched.io import from_models
from cpss.runs.cli import app
from scenarios import load_config
from scenarios.museum import items
from scenarios.museum.batched import BatchedMuseumEnv

ITEMS = {"guides": {"observation": "items"}}
DEVICE = os.environ.get("CPSS_TEST_DEVICE", "cpu")
runner = CliRunner()


def cli(args: list[str], expect: int, match: str = "") -> str:
    """Run ``cpss ARGS``; check the exit code and, for errors, one stderr line containing ``match``."""
    res = runner.invoke(app, args)
    assert res.exit_code == expect, res.output
    if expect == 2:
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and match in lines[0], res.stderr
    return res.output


def _env_on(models) -> BatchedMuseumEnv:
    env = BatchedMuseumEnv(models[0].config, num_days=1, device=DEVICE)
    env.world = from_models(models, device=DEVICE)
    env.num_days = env.world.B
    env._invalid = torch.zeros(env.world.B, env.world.K, dtype=torch.long, device=DEVICE)
    return env


@pytest.fixture(scope="module")
def days():
    cfg = load_config("museum", "museum-small", ITEMS)
    return venue_days(cfg, 40, seeds=(0, 1))


def test_item_observations_agree_between_engines(days):
    scen = scenarios.make_scenario("museum", "museum-small", **ITEMS)
    numpy_obs = np.stack([scen.observe(m) for m in days])
    numpy_state = np.stack([scen.state(m) for m in days])
    env = _env_on(days)
    np.testing.assert_allclose(env.observe().cpu().numpy(), numpy_obs, atol=1e-5)
    np.testing.assert_allclose(env.state().cpu().numpy(), numpy_state, atol=1e-6)
    model = days[0]
    assert scen.observation_space(model).contains(numpy_obs[0, 0])
    assert scen.state_space(model).contains(numpy_state[0])
    rows = numpy_obs[..., items.A_DIM :].reshape(2, -1, model.floor.n_items, items.I_DIM)
    valid = rows[..., items.ITEM_FEATURES.index("valid")] > 0.5
    _, mask = model.decision_mask()
    np.testing.assert_array_equal(valid[0], mask)  # the validity column is the action mask
    assert valid.any(), "no guide decides at tick 40: the test state is uninformative"


def test_untrained_actor_with_prior_is_crowd_aware(days):
    env = _env_on(days)
    pz = scenarios.make("museum", config="museum-small", **ITEMS)
    learner = agents.make("item_mappo", pz, seed=0, **pz.scenario.learner_hints(), prior_scale=1e6, device=DEVICE)
    obs, mask = env.observe(), env.action_masks()
    b, k, d = obs.shape
    acts = learner.act_tensor(obs.view(b * k, d), mask.view(b * k, -1)).view(b, k)
    deciding = mask[..., 1:].any(dim=2)
    expected = env.heuristic_actions("crowd_aware")
    assert deciding.sum() >= 2
    assert torch.equal(acts[deciding], expected[deciding])


class ChoiceDays:
    """A batched toy: each agent picks one of M items whose rows hold their payoffs, or nothing.

    Item rows are ``[valid, value, noise]``; choosing item j pays ``value_j`` (in [-1, 1]),
    nothing pays 0. A learner that reads rows with shared weights learns to pick the best.
    """

    def __init__(self, num_days: int = 32, k: int = 2, m: int = 6, ticks: int = 8) -> None:
        self.num_days, self.k, self.m, self.ticks = num_days, k, m, ticks
        self.gen = torch.Generator().manual_seed(0)

    def _draw(self):
        b, k, m = self.num_days, self.k, self.m
        self.value = torch.rand(b, k, m, generator=self.gen) * 2 - 1
        valid = torch.rand(b, k, m, generator=self.gen) < 0.7
        noise = torch.rand(b, k, m, generator=self.gen)
        rows = torch.stack([valid.float(), self.value, noise], dim=3)
        self.mask = torch.cat([torch.ones(b, k, 1, dtype=torch.bool), valid], dim=2)
        return torch.cat([torch.ones(b, k, 1), rows.flatten(2)], dim=2), {"action_mask": self.mask}

    def reset(self, seed: int):
        self.gen.manual_seed(seed)
        self.t = 0
        return self._draw()

    def state(self):
        return torch.zeros(self.num_days, 1)

    def step(self, actions):
        picked = self.value.gather(2, (actions - 1).clamp(min=0)[..., None])[..., 0]
        reward = torch.where(actions > 0, picked, torch.zeros_like(picked))
        self.t += 1
        obs, infos = self._draw()
        done = torch.full((self.num_days, self.k), self.t >= self.ticks)
        return obs, reward, torch.zeros_like(done), done, infos


class ChoiceSpec:
    """The PettingZoo face of :class:`ChoiceDays` (spaces only) that builds the learner."""

    def __init__(self, m: int = 6, k: int = 2) -> None:
        from gymnasium import spaces

        self.possible_agents = [f"a_{i}" for i in range(k)]
        self.agents = list(self.possible_agents)
        self._obs = spaces.Box(-1, 1, (1 + 3 * m,), np.float32)
        self._act = spaces.Discrete(m + 1)
        self.state_space = spaces.Box(0, 1, (1,), np.float32)

    def observation_space(self, agent):
        return self._obs

    def state(self):
        return np.zeros(1, np.float32)

    def action_space(self, agent):
        return self._act


def test_item_mappo_learns_to_pick_the_best_item_on_the_batched_trainer():
    env, spec = ChoiceDays(), ChoiceSpec()
    hyper = {"hidden": (16,), "actor_lr": 1e-2, "update_epochs": 4, "num_minibatches": 2, "gamma": 0.0}
    hyper["device"] = DEVICE
    learner = agents.make("item_mappo", spec, seed=0, agent_dim=1, item_dim=3, **hyper)
    history = learner.learn_batched(env, 30 * 32 * 8)
    obs, infos = env.reset(seed=99)  # fresh days, not seen in training
    b, k, d = obs.shape
    acts = learner.act_tensor(obs.view(b * k, d), infos["action_mask"].view(b * k, -1)).view(b, k)
    got = float(torch.where(acts > 0, env.value.gather(2, (acts - 1).clamp(min=0)[..., None])[..., 0], 0.0).mean())
    best = float(torch.where(env.mask[..., 1:], env.value, -1.0).amax(dim=2).clamp(min=0).mean())
    assert history[0]["return"] < 0.5 * best * env.ticks  # sampling from the untrained policy: far from the best
    assert history[-1]["return"] > 0.8 * best * env.ticks
    assert got > 0.9 * best, (got, best)


@pytest.mark.slow
def test_train_batched_cli_and_transfer(tmp_path):
    run = tmp_path / "run"
    sets = ["--set", "guides.observation=items", "--set", "visitors.count=60", "--set", "world.day_minutes=60"]
    sets += ["--set", "world.last_entry_before_close=10"]
    args = ["train", "museum", "--config", "museum-small", *sets, "--algo", "item_mappo", "--engine", "batched"]
    cli([*args, "--days", "4", "--steps", "300", "--seed", "3", "--out", str(run)], expect=0)
    assert (run / "checkpoints" / "last.pt").is_file()
    # the checkpoint evaluates batched (cpss batch) and in the PettingZoo env, and on another floor's crowd
    cli(["batch", "museum", "--checkpoint", str(run), "--days", "2", "--out", str(tmp_path / "b")], expect=0)
    busy = scenarios.make("museum", config="museum-busy", **ITEMS)
    learner = agents.load(run / "checkpoints" / "last.pt", busy)
    obs, infos = busy.reset(seed=0)
    for _ in range(30):
        acts = learner.act(obs, infos)
        assert all(infos[a]["action_mask"][acts[a]] for a in acts)
        obs, _, _, _, infos = busy.step(acts)


def test_engine_errors_are_one_line():
    cli(["train", "workshop", "--algo", "item_mappo", "--engine", "batched"], expect=2, match="batched")
    cli(["train", "museum", "--algo", "mappo", "--engine", "batched"], expect=2, match="item_mappo")
    cli(["train", "museum", "--algo", "mappo", "--engine", "turbo"], expect=2, match="--engine")
