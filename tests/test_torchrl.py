"""The batched museum as a TorchRL env: specs, masks, seeds, and the same days as BatchedMuseumEnv.

All on the tiny museum (2 guides, 30 visitors, a 40-tick day) with a few days, so each test
takes a second or two. ``CPSS_TEST_DEVICE=cuda`` runs them on a GPU.
"""

from __future__ import annotations

import os

import pytest
import torch
from conftest import TINY_MUSEUM_GUIDED

import scenarios
from cpss.kit.config import ConfigError
from scenarios.museum.batched import BatchedMuseumEnv

torchrl = pytest.importorskip("torchrl")  # the dev extra installs it: CI runs these tests
from torchrl.envs.utils import check_env_specs  # noqa: E402

DEVICE = os.environ.get("CPSS_TEST_DEVICE", "cpu")
DAYS = 3


def _env(seed: int = 0, days: int = DAYS):
    return scenarios.make_torchrl("museum-small", num_days=days, seed=seed, device=DEVICE, **TINY_MUSEUM_GUIDED)


def _heuristic(env, policy: str = "crowd_aware"):
    def act(td):
        return td.set(("guides", "action"), env.heuristic_actions(policy))

    return act


def test_specs_pass_check_env_specs_in_the_multi_agent_layout():
    env = _env()
    check_env_specs(env, seed=1)
    base = env.base
    K, n = base.world.K, base.n_actions
    assert env.batch_size == (DAYS,) and env.group_map == {"guides": ["guide_0", "guide_1"]}
    assert env.full_observation_spec["guides", "observation"].shape == (DAYS, K, base.observation_dim)
    assert env.full_observation_spec["guides", "action_mask"].shape == (DAYS, K, n)
    assert env.full_observation_spec["state"].shape == (DAYS, base.state_dim)
    assert env.full_action_spec["guides", "action"].shape == (DAYS, K)
    assert env.full_action_spec["guides", "action"].space.n == n
    assert env.full_reward_spec["guides", "reward"].shape == (DAYS, K, 1)
    assert set(env.done_keys) == {"done", "terminated", "truncated"}


def test_random_rollout_respects_the_masks_and_a_day_ends_by_truncation():
    env = _env(seed=4)
    env.set_seed(4)
    data = env.rollout(env.max_steps() + 5, break_when_any_done=True)  # random actions from the masked spec
    assert data.shape == (DAYS, env.max_steps())
    mask, action = data["guides", "action_mask"], data["guides", "action"]
    assert bool(mask.gather(-1, action.unsqueeze(-1)).all())
    assert int((action > 0).sum()) > 0, "the random policy never recommended an exhibit"
    assert int(env.base.infos()["invalid_action"].sum()) == 0
    last = data["next"][:, -1]
    assert bool(last["done"].all() and last["truncated"].all()) and not bool(last["terminated"].any())
    assert not bool(data["next", "done"][:, :-1].any())
    # an action the mask forbids is ignored and counted by the wrapped env, as in the PettingZoo env
    td = data[:, 20]  # mid-day inputs: replay the day up to there with the same seed and actions
    env.set_seed(4)
    env.reset()
    for t in range(20):
        env.step(data[:, t].select(("guides", "action")))
    mask, idle = env.base.action_masks(), env.base.infos()["idle"]
    assert torch.equal(mask, td["guides", "action_mask"])
    forbidden = (~mask).float().argmax(-1)  # (B, K) a forbidden exhibit where there is one
    blocked = ~mask.gather(-1, forbidden.unsqueeze(-1)).squeeze(-1) & ~idle
    assert int(blocked.sum()) > 0
    env.step(td.set(("guides", "action"), forbidden))
    assert torch.equal(env.base.infos()["invalid_action"], blocked.long())


def test_same_seed_same_rollout_and_different_seeds_differ():
    def rollout(seed):
        env = _env()
        env.set_seed(seed)
        torch.manual_seed(0)  # the random policy draws from torch's global generator
        return env.rollout(15)

    first, again, other = rollout(7), rollout(7), rollout(8)
    assert (first == again).all()
    assert not torch.equal(first["next", "guides", "observation"], other["next", "guides", "observation"])


def test_heuristic_through_the_env_gives_the_returns_of_batched_museum_env():
    env = _env()
    env.set_seed(11)
    data = env.rollout(env.max_steps(), policy=_heuristic(env), break_when_any_done=True)
    got = data["next", "guides", "reward"].squeeze(-1).sum(dim=1)  # (B, K) return per guide and day

    ref = BatchedMuseumEnv("museum-small", num_days=DAYS, seed=11, device=DEVICE, **TINY_MUSEUM_GUIDED)
    ref.reset(seed=11)
    want, steps, done = torch.zeros_like(got), 0, False
    while not done:
        _, rewards, _, truncations, _ = ref.step(ref.heuristic_actions("crowd_aware"))
        want += rewards
        steps, done = steps + 1, bool(truncations.all())
    assert steps == env.max_steps() == data.shape[1]
    torch.testing.assert_close(got, want)
    assert float(want.abs().sum()) > 0
    # the next reset continues with the next days' seeds, as BatchedMuseumEnv.reset() does
    env.reset()
    ref.reset()
    torch.testing.assert_close(env.base.observe(), ref.observe())


def test_unknown_names_and_bad_overrides_are_clear_errors():
    with pytest.raises(ConfigError, match="make_torchrl: unknown name 'workshop-small'; choose from museum"):
        scenarios.make_torchrl("workshop-small")
    with pytest.raises(ConfigError, match=r"visitors\.count"):
        scenarios.make_torchrl("museum", num_days=2, visitors={"count": -1})
