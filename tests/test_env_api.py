"""The env contract, for every registered scenario and every shipped config."""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env, data_equivalence
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, state_test

import scenarios

CASES = [(name, cfg) for name in scenarios.parallel_names() for cfg in scenarios.config_names(name)]
SMALL = [(name, cfg) for name, cfg in CASES if cfg.endswith("small")]
SLOW_API = {"museum-large", "workshop-large"}  # the PettingZoo API tests take about 2 s on these
API_CASES = [pytest.param(n, c, marks=[pytest.mark.slow] if c in SLOW_API else []) for n, c in CASES]


def random_actions(env, infos, rng):
    """Masked uniform actions for discrete spaces, uniform samples for Box spaces."""
    acts = {}
    for a in env.agents:
        space = env.action_space(a)
        if isinstance(space, gym.spaces.Discrete):
            acts[a] = int(rng.choice(np.flatnonzero(infos[a]["action_mask"])))
        else:
            acts[a] = rng.uniform(space.low, space.high).astype(space.dtype)
    return acts


@pytest.mark.parametrize(("name", "config"), API_CASES)
def test_pettingzoo_api_tests(name, config):
    parallel_api_test(scenarios.make(name, config=config), num_cycles=300)
    module = importlib.import_module(f"scenarios.{name}")
    api_test(module.env(config=config), num_cycles=300)


@pytest.mark.parametrize(("name", "config"), CASES)
def test_observations_and_state_stay_in_their_spaces(name, config):
    env = scenarios.make(name, config=config, max_cycles=300)
    obs, infos = env.reset(seed=7)
    rng = np.random.default_rng(0)
    steps = 0
    while env.agents:
        for a, o in obs.items():
            assert env.observation_space(a).contains(o), (a, steps)
        assert env.state_space.contains(env.state()), steps
        for a, info in infos.items():
            if isinstance(env.action_space(a), gym.spaces.Discrete):
                mask = info["action_mask"]
                assert mask.dtype == np.int8 and mask[0] == 1
        obs, rew, term, trunc, infos = env.step(random_actions(env, infos, rng))
        assert all(type(v) is bool for v in (*term.values(), *trunc.values()))
        assert all(np.isfinite(r) for r in rew.values())
        steps += 1
    assert steps == min(300, env.model.horizon)


@pytest.mark.parametrize(("name", "config"), SMALL)
def test_state_render_and_max_cycles(name, config):
    module = importlib.import_module(f"scenarios.{name}")
    state_test(module.env(config=config), module.parallel_env(config=config), num_cycles=10)
    render_test(
        lambda render_mode=None: module.env(config=config, render_mode=None if render_mode == "human" else render_mode)
    )
    max_cycles_test(module)


def _rollout(name, seed, steps=500):
    env = scenarios.make(name)
    obs, infos = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    trace = [obs, infos]
    for _ in range(steps):
        if env.day_over:
            obs, infos = env.reset()  # the next day's seed is drawn from the env's own RNG
            trace += [obs, infos]
        obs, rew, term, trunc, infos = env.step(random_actions(env, infos, rng))
        trace += [obs, rew, term, trunc, infos]
    trace.append(env.model.datacollector.get_model_vars_dataframe().to_dict())
    return trace


@pytest.mark.parametrize("name", scenarios.parallel_names())
def test_multi_step_determinism(name):
    a, b, c = _rollout(name, 5), _rollout(name, 5), _rollout(name, 6)
    assert data_equivalence(a, b)
    assert not data_equivalence(a, c)


@pytest.mark.parametrize("name", scenarios.parallel_names())
def test_gymnasium_view_passes_check_env_and_ends_with_the_day(name):
    env = scenarios.make_gym(name, others=scenarios.scenario_class(name).heuristic_policies[0], max_cycles=40)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(1)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        assert env.observation_space.contains(obs), steps
        if isinstance(env.action_space, gym.spaces.Discrete):
            action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        else:
            action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
        obs, reward, terminated, truncated, info = env.step(action)
        assert np.isfinite(reward)
        steps += 1
    assert truncated and not terminated and steps == 40  # the parallel env's max_cycles ends the episode
    assert env.parallel.day_over


def test_museum_mask_and_invalid_actions():
    env = scenarios.make("museum")
    _, infos = env.reset(seed=2)
    rng = np.random.default_rng(1)
    checked = 0
    while env.agents and checked < 5:
        deciding = [a for a in env.agents if infos[a]["action_mask"][1:].any()]
        if deciding:
            a = deciding[0]
            invalid = np.flatnonzero(infos[a]["action_mask"] == 0)
            if invalid.size:
                before = infos[a]["invalid_action"]
                acts = random_actions(env, infos, rng)
                acts[a] = int(invalid[0])
                _, _, _, _, infos = env.step(acts)
                assert infos[a]["invalid_action"] == before + 1
                assert env.model.guides.recommendation[int(a.split("_")[1])] == -1
                checked += 1
                continue
        _, _, _, _, infos = env.step(random_actions(env, infos, rng))
    assert checked == 5
    # idle slots: mask allows only "no recommendation", their actions are ignored
    idle = [a for a in env.agents if infos[a]["idle"]]
    for a in idle:
        assert infos[a]["action_mask"].sum() == 1


def test_bad_step_input_is_rejected_without_touching_the_world():
    env = scenarios.make("museum")
    with pytest.raises(RuntimeError, match="before reset"):
        env.step({})
    env.reset(seed=0)
    minute = env.model.minute
    with pytest.raises(ValueError, match="unknown agent 'guide_99'"):
        env.step({"guide_99": 0})
    with pytest.raises(ValueError, match=r"guide_1: action 999 is outside Discrete\(41\)"):
        env.step({"guide_1": 999})
    with pytest.raises(ValueError, match=r"guide_2: action 1\.5"):
        env.step({"guide_2": 1.5})
    assert env.model.minute == minute and env.t == 0
    env.step({})  # a missing action means "no recommendation" for that agent
    while env.agents:
        env.step({})
    with pytest.raises(RuntimeError, match="after the day ended"):
        env.step({})


def test_continuous_actions_reject_nan():
    boxed = [
        n
        for n in scenarios.parallel_names()
        if isinstance(scenarios.make(n).action_space(scenarios.make(n).possible_agents[0]), gym.spaces.Box)
    ]
    name = boxed[0] if boxed else None
    if name is None:
        pytest.skip("no scenario with continuous actions is registered")
    env = scenarios.make(name)
    env.reset(seed=0)
    agent = env.agents[0]
    bad = np.full(env.action_space(agent).shape, np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match=f"{agent}: action contains NaN"):
        env.step({agent: bad})


def test_cooperation_mixes_in_the_mean_gain():
    rewards = {}
    for c in (0.0, 1.0):
        env = scenarios.make("museum", rewards={"cooperation": c})
        env.reset(seed=3)
        total = np.zeros(len(env.possible_agents))
        while env.agents:
            _, rew, _, _, _ = env.step(env.heuristic_actions("interest"))
            total += [rew[a] for a in env.possible_agents]
        rewards[c] = total
    assert np.ptp(rewards[1.0]) < 1e-9 < np.ptp(rewards[0.0])  # fully cooperative: shared reward


def test_env_exposes_model_and_renders():
    env = scenarios.make("museum", render_mode="ansi")
    env.reset(seed=0)
    for _ in range(60):
        env.step(env.heuristic_actions("crowd_aware"))
    text = env.render()
    assert "minute 60" in text and "guide_0" in text
    assert env.model.steps == 60
    pic = scenarios.make("museum", render_mode="rgb_array")
    pic.reset(seed=0)
    img = pic.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_sb3_can_train_on_the_gym_view():
    sb3 = pytest.importorskip("stable_baselines3")
    env = scenarios.make_gym("museum", others="interest", max_cycles=64)
    model = sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=128)
    assert model.num_timesteps == 128 and model._n_updates == 2  # two rollouts of 64 steps, one epoch each
    after = list(model.policy.parameters())
    assert any(not torch.equal(b, a.detach()) for b, a in zip(before, after, strict=True))  # the policy learned
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


@pytest.mark.parametrize(
    ("name", "overrides"), [("museum", {"visitors": {"count": 0}}), ("workshop", {"context": {"order_load": 0.0}})]
)
def test_degenerate_but_valid_configs_run(name, overrides):
    env = scenarios.make(name, max_cycles=30, **overrides)
    obs, infos = env.reset(seed=0)
    rng = np.random.default_rng(0)
    while env.agents:
        for a, o in obs.items():
            assert env.observation_space(a).contains(o)
        obs, rewards, _, _, infos = env.step(random_actions(env, infos, rng))
        assert all(np.isfinite(r) for r in rewards.values())
    undefined = ("sat_", "wait_", "share_")  # means over nobody are NaN (docs/metrics.md)
    summary = env.episode_summary()
    assert env.t == 30 and all(np.isfinite(v) or (np.isnan(v) and k.startswith(undefined)) for k, v in summary.items())
