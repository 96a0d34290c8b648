"""Single-agent learners: they learn, they are reproducible, they resume exactly.

Toy envs live in ``tests/envs_single.py``; the seed lecture's lizard grid in
``scenarios/lizard/__init__.py``. Every learning test runs a few thousand env steps at most.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import agents
from agents.buffers import ReplayBuffer
from agents.evaluate import evaluate
from cpss.kit.stats import mean_ci, t_quantile
from scenarios.lizard import TILE_NAMES, LizardEnv

sys.path.insert(0, str(Path(__file__).parent))
from envs_single import (
    BernoulliBanditEnv,
    CopyParallelEnv,
    IdentityEnv,
    LinearBanditEnv,
    Reach1DEnv,
)

torch.set_num_threads(1)

SINGLE_AGENT = [
    "explore_only",
    "exploit_only",
    "epsilon_greedy",
    "ucb1",
    "thompson",
    "linucb",
    "q_learning",
    "dqn",
    "reinforce",
    "a2c",
    "ddpg",
    "heuristic",
]
BANDIT_PROBS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.9)
RIGHT = 1


def mean_eval_return(env: gym.Env, learner: agents.Learner, episodes: int = 10) -> float:
    return float(np.mean([row["return"] for row in evaluate(env, learner, episodes, seed=999)]))


# ==== registry and make ======================================================================
def test_every_learner_resolves_under_its_own_name_with_a_frozen_config():
    assert set(SINGLE_AGENT) <= set(agents.available())
    for name in agents.available():
        cls = agents.get(name)
        assert cls.name == name, name  # checkpoints find their learner again by this name
        config = cls.config_cls()
        for field in [f.name for f in dataclasses.fields(config)] or ["anything"]:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(config, field, getattr(config, field, None))


def test_register_rejects_taken_names_and_malformed_targets():
    before = agents.available()
    with pytest.raises(ValueError, match="'dqn' is already registered"):
        agents.register("dqn", "agents.dqn:DQN")
    with pytest.raises(ValueError, match="must look like 'module:Class'"):
        agents.register("dqn2", "agents.dqn.DQN")
    assert agents.available() == before


def test_make_rejects_unknown_learner():
    with pytest.raises(ValueError, match=r"unknown learner 'dqnn'.*available:.*dqn"):
        agents.make("dqnn", LizardEnv())


def test_make_rejects_unknown_hyperparameter():
    with pytest.raises(ValueError, match=r"dqn: unknown hyperparameter\(s\) lr; valid:.*learning_rate"):
        agents.make("dqn", LizardEnv(), lr=1e-3)


def test_make_rejects_invalid_hyperparameter_value():
    with pytest.raises(ValueError, match="alpha must lie in"):
        agents.make("q_learning", LizardEnv(), alpha=1.5)


@pytest.mark.parametrize(
    ("name", "env", "message"),
    [
        ("dqn", CopyParallelEnv(), r"dqn needs a Gymnasium Env \(single-agent\), got a PettingZoo"),
        (
            "ddpg",
            LizardEnv(),
            r"ddpg needs Box actions, but the env has action space Discrete\(4\)",
        ),
        ("dqn", Reach1DEnv(), r"dqn needs Discrete actions, but the env has action space Box"),
        ("ucb1", Reach1DEnv(), r"ucb1 needs Discrete actions"),
        ("heuristic", LizardEnv(), r"heuristic: LizardEnv offers no heuristic_policies"),
    ],
)
def test_make_rejects_wrong_env_kind(name, env, message):
    with pytest.raises(ValueError, match=message):
        agents.make(name, env)


def test_every_config_field_has_a_docstring():
    for name in SINGLE_AGENT:
        config_cls = agents.get(name).config_cls
        tree = ast.parse(inspect.getsource(config_cls))
        body = tree.body[0].body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                following = body[i + 1] if i + 1 < len(body) else None
                assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant), (
                    f"{config_cls.__name__}.{node.target.id} has no docstring"
                )


# ==== bandits ================================================================================
def bandit_regret(name: str, seeds: int = 4, pulls: int = 10_000, **hp) -> float:
    regrets = []
    for seed in range(seeds):
        learner = agents.make(name, BernoulliBanditEnv(BANDIT_PROBS, horizon=1000), seed=seed, **hp)
        history = learner.learn(pulls)
        assert learner.env_steps == pulls and len(learner.regrets) == pulls
        regrets.append(history[-1]["cumulative_regret"])
    return float(np.mean(regrets))


@pytest.mark.slow
def test_ucb1_and_thompson_beat_epsilon_greedy_and_thompson_beats_ucb1():
    eps_greedy = bandit_regret("epsilon_greedy", epsilon=0.1)
    ucb1 = bandit_regret("ucb1")
    thompson = bandit_regret("thompson")
    assert ucb1 < 0.5 * eps_greedy, (ucb1, eps_greedy)
    assert thompson < 0.5 * ucb1, (thompson, ucb1)


def test_decaying_epsilon_beats_fixed_epsilon():
    fixed = bandit_regret("epsilon_greedy", seeds=2, epsilon=0.1)
    decaying = bandit_regret("epsilon_greedy", seeds=2, epsilon=1.0, epsilon_decay=0.01)
    assert decaying < 0.7 * fixed, (decaying, fixed)


def test_explore_only_has_linear_regret():
    learner = agents.make("explore_only", BernoulliBanditEnv(BANDIT_PROBS, horizon=1000), seed=0)
    learner.learn(10_000)
    cumulative = np.cumsum(learner.regrets)
    mean_gap = max(BANDIT_PROBS) - np.mean(BANDIT_PROBS)
    assert cumulative[-1] == pytest.approx(mean_gap * 10_000, rel=0.05)
    assert cumulative[-1] / cumulative[4_999] == pytest.approx(2.0, rel=0.1)
    ucb1 = agents.make("ucb1", BernoulliBanditEnv(BANDIT_PROBS, horizon=1000), seed=0)
    ucb1.learn(10_000)
    ucb_cumulative = np.cumsum(ucb1.regrets)
    assert ucb_cumulative[-1] - ucb_cumulative[4_999] < 0.5 * ucb_cumulative[4_999]


def test_exploit_only_pulls_each_arm_once_then_can_lock_onto_a_bad_arm():
    learner = agents.make("exploit_only", BernoulliBanditEnv(BANDIT_PROBS, horizon=6), seed=0)
    learner.learn(len(BANDIT_PROBS))
    assert learner.counts.tolist() == [1.0] * len(BANDIT_PROBS)  # the forced warm-up
    late_regret = []
    for seed in range(4):
        learner = agents.make("exploit_only", BernoulliBanditEnv(BANDIT_PROBS), seed=seed)
        learner.learn(10_000)
        late_regret.append(sum(learner.regrets[5_000:]))
    assert min(late_regret) < 5.0  # some runs find the best arm and stay there...
    assert max(late_regret) > 1_000.0  # ...others never try it again


def test_bandit_rows_carry_cumulative_regret():
    learner = agents.make("ucb1", BernoulliBanditEnv(BANDIT_PROBS, horizon=50), seed=0)
    history = learner.learn(200)
    assert [row["env_steps"] for row in history] == [50, 100, 150, 200]
    assert history[-1]["cumulative_regret"] == pytest.approx(sum(learner.regrets))
    assert sum(row["return"] for row in history) == pytest.approx(sum(learner.rewards))


def test_linucb_beats_non_contextual_bandits_on_a_contextual_bandit():
    regrets = {}
    for name in ("linucb", "ucb1", "epsilon_greedy"):
        learner = agents.make(name, LinearBanditEnv(horizon=1000), seed=0)
        regrets[name] = learner.learn(3_000)[-1]["cumulative_regret"]
    assert regrets["linucb"] < 0.1 * min(regrets["ucb1"], regrets["epsilon_greedy"]), regrets


def test_thompson_gaussian_handles_payoffs_beyond_one():
    env = LinearBanditEnv(horizon=500)
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        agents.make("thompson", env, seed=0).learn(500)
    learner = agents.make("thompson", env, seed=0, likelihood="gaussian")
    history = learner.learn(500)
    assert learner.env_steps == 500 and np.isfinite(history[-1]["cumulative_regret"])
    assert max(learner.rewards) > 1.0  # payoffs beyond one were seen and used


# ==== tabular Q-learning and the lizard ======================================================
def test_lizard_env_follows_the_slides():
    check_env(LizardEnv(), skip_render_check=True)
    env = LizardEnv(max_steps=3, render_mode="ansi")
    tile, _ = env.reset(seed=0)
    assert TILE_NAMES[tile] == "Empty 5"
    assert env.render() == "c . .\n. B .\nL . C\n"
    tile, reward, terminated, _, _ = env.step(0)  # wall on the left
    assert (TILE_NAMES[tile], reward, terminated) == ("Empty 5", -1.0, False)
    tile, reward, terminated, _, _ = env.step(2)  # up
    assert (TILE_NAMES[tile], reward) == ("Empty 3", -1.0)
    tile, reward, terminated, truncated, _ = env.step(2)  # up: the cricket, then time is up
    assert (TILE_NAMES[tile], reward, terminated, truncated) == ("1 cricket", 1.0, False, True)
    env.reset()
    env.step(RIGHT)
    assert env.step(RIGHT)[1:3] == (10.0, True)
    env.reset()
    env.step(2)
    assert env.step(RIGHT)[1:3] == (-10.0, True)  # the bird


def test_q_learning_reproduces_the_seed_worked_example():
    learner = agents.make("q_learning", LizardEnv(), seed=0)
    assert learner.config.alpha == 0.7 and learner.config.gamma == 0.99
    assert not learner.q_table.any()
    empty5, empty6 = TILE_NAMES.index("Empty 5"), TILE_NAMES.index("Empty 6")
    env = LizardEnv()
    env.reset()
    next_tile, reward, terminated, _, _ = env.step(RIGHT)
    assert (next_tile, reward) == (empty6, -1.0)
    assert learner.update(empty5, RIGHT, reward, next_tile, terminated) == -0.7
    assert learner.q_table[empty5, RIGHT] == -0.7
    assert np.count_nonzero(learner.q_table) == 1


def test_q_learning_finds_the_five_crickets_without_meeting_the_bird():
    learner = agents.make("q_learning", LizardEnv(), seed=0, epsilon=0.2)
    learner.learn(3_000)
    path = LizardEnv.greedy_path(learner.q_table)
    assert path[-1] == "5 crickets" and "Bird" not in path
    assert path == ["Empty 5", "Empty 6", "5 crickets"]
    empty6 = TILE_NAMES.index("Empty 6")
    assert learner.q_table[empty6, RIGHT] == pytest.approx(10.0)
    assert mean_eval_return(LizardEnv(), learner) == 9.0


def test_q_learning_discretises_box_observations():
    learner = agents.make("q_learning", IdentityEnv(), seed=0, bins=2, epsilon=0.3)
    assert learner.q_table.shape == (2**4, 4)
    learner.learn(2_000)
    assert mean_eval_return(IdentityEnv(), learner) == 10.0


def test_epsilon_decays_per_episode():
    learner = agents.make("q_learning", LizardEnv(), seed=0, epsilon=1.0, epsilon_decay=0.5, epsilon_min=0.1)
    history = learner.learn(40)
    assert [row["epsilon"] for row in history[:4]] == [1.0, 0.5, 0.25, 0.125]
    assert learner.epsilon == 0.1


# ==== deep learners solve small tasks ========================================================
@pytest.mark.slow
def test_dqn_solves_the_lizard_grid():
    env = LizardEnv()
    learner = agents.make("dqn", env, seed=0, learning_starts=100, epsilon_decay_steps=800, target_update_interval=100)
    learner.learn(1_500)
    assert mean_eval_return(env, learner) == 9.0


@pytest.mark.slow
def test_a2c_solves_the_identity_task_discrete():
    learner = agents.make("a2c", IdentityEnv(), seed=0)
    assert mean_eval_return(IdentityEnv(), learner) < 6.0
    learner.learn(3_000)
    assert mean_eval_return(IdentityEnv(), learner) >= 9.5


@pytest.mark.slow
def test_a2c_reaches_the_target_continuous():
    learner = agents.make("a2c", Reach1DEnv(), seed=0)
    learner.learn(6_000)
    assert mean_eval_return(Reach1DEnv(), learner) > -5.0  # zero action: about -15, reached: about -2


@pytest.mark.slow
def test_reinforce_solves_the_identity_task_discrete():
    learner = agents.make("reinforce", IdentityEnv(), seed=0, gamma=0.5)
    learner.learn(3_000)
    assert mean_eval_return(IdentityEnv(), learner) >= 9.5


@pytest.mark.slow
def test_reinforce_gaussian_reaches_the_target():
    env = Reach1DEnv(action_scale=2.0)
    learner = agents.make("reinforce", env, seed=0, gamma=0.9)
    before = mean_eval_return(env, learner)
    history = learner.learn(6_000)
    assert mean_eval_return(env, learner) > -4.0 > before
    first, last = history[:20], history[-20:]
    assert np.mean([r["return"] for r in last]) > np.mean([r["return"] for r in first]) + 5


@pytest.mark.slow
def test_ddpg_reaches_the_target():
    env = Reach1DEnv(action_scale=2.0)
    learner = agents.make("ddpg", env, seed=0, learning_starts=500)
    learner.learn(2_500)
    assert mean_eval_return(env, learner) > -2.5  # zero action: about -15


@pytest.mark.parametrize("name", ["dqn", "a2c", "reinforce", "q_learning", "thompson", "linucb"])
def test_action_masks_are_honoured(name):
    env = IdentityEnv(masked=True)  # raises on a masked-out action
    learner = agents.make(name, env, seed=0, **({"bins": 2} if name == "q_learning" else {}))
    learner.learn(300)
    obs, info = env.reset(seed=1)
    for _ in range(50):
        action = learner.act(obs, info, deterministic=False)
        assert info["action_mask"][action] == 1
        obs, _, _, _, info = env.step(action)
        if env.t >= env.length:
            obs, info = env.reset()


# ==== reproducibility and checkpoints ========================================================
LEARN_SETUPS = {
    "explore_only": (lambda: BernoulliBanditEnv(BANDIT_PROBS, horizon=50), {}, 200),
    "exploit_only": (lambda: BernoulliBanditEnv(BANDIT_PROBS, horizon=50), {}, 200),
    "epsilon_greedy": (lambda: BernoulliBanditEnv(BANDIT_PROBS, horizon=50), {}, 200),
    "ucb1": (lambda: BernoulliBanditEnv(BANDIT_PROBS, horizon=50), {}, 200),
    "thompson": (lambda: BernoulliBanditEnv(BANDIT_PROBS, horizon=50), {}, 200),
    "linucb": (lambda: LinearBanditEnv(horizon=50), {}, 200),
    "q_learning": (LizardEnv, {"epsilon": 0.5}, 200),
    "dqn": (LizardEnv, {"learning_starts": 50, "target_update_interval": 20}, 300),
    "reinforce": (Reach1DEnv, {}, 200),
    "a2c": (IdentityEnv, {"n_steps": 3}, 200),
    "ddpg": (Reach1DEnv, {"learning_starts": 50, "noise": "ou"}, 300),
}
# DDPG's setups take 1.5-2 s each (a gradient step per env step on two networks).
LEARNERS = [pytest.param(n, marks=[pytest.mark.slow] if n == "ddpg" else []) for n in sorted(LEARN_SETUPS)]


def assert_same_state(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_state(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        np.testing.assert_equal(a, b)


def assert_same_learner(a: agents.Learner, b: agents.Learner) -> None:
    assert_same_state(a.state_dict(), b.state_dict())


@pytest.mark.parametrize("name", LEARNERS)
def test_same_seed_same_history_other_seed_other_history(name):
    make_env, hp, steps = LEARN_SETUPS[name]
    runs = [agents.make(name, make_env(), seed=s, **hp) for s in (7, 7, 8)]
    histories = [learner.learn(steps) for learner in runs]
    np.testing.assert_equal(histories[0], histories[1])
    assert_same_learner(runs[0], runs[1])
    assert histories[0] != histories[2]


@pytest.mark.parametrize("name", LEARNERS)
def test_save_load_continue_equals_one_uninterrupted_run(name, tmp_path):
    make_env, hp, steps = LEARN_SETUPS[name]
    uninterrupted = agents.make(name, make_env(), seed=3, **hp)
    full_history = uninterrupted.learn(2 * steps)

    first = agents.make(name, make_env(), seed=3, **hp)
    history = first.learn(steps)
    path = first.save(tmp_path / f"{name}.pt")
    torch.load(path, weights_only=True)  # no numpy arrays inside
    resumed = agents.load(path, make_env())
    assert_same_learner(first, resumed)
    history += resumed.learn(2 * steps)

    np.testing.assert_equal(history, full_history)
    assert_same_learner(resumed, uninterrupted)


def test_callback_can_stop_learning():
    learner = agents.make("q_learning", LizardEnv(), seed=0)
    seen = []
    history = learner.learn(10_000, callback=lambda lr, row: seen.append(row) or len(seen) < 3)
    assert len(history) == 3 and seen == history
    assert learner.episodes == 3


def test_load_rejects_foreign_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"format_version": 99}, path)
    with pytest.raises(ValueError, match="checkpoint format 99"):
        agents.load(path, LizardEnv())


# ==== heuristic and evaluation ===============================================================
def test_heuristic_wraps_gymnasium_rules():
    env = IdentityEnv()
    copy = agents.make("heuristic", env, policy="copy")
    assert copy.learn(1_000) == [] and copy.env_steps == 0
    assert mean_eval_return(IdentityEnv(), copy) == 10.0  # evaluate attaches it to its env
    assert copy.env is env
    assert agents.make("heuristic", env).policy == "copy"  # default: the env's first policy
    with pytest.raises(ValueError, match="unknown policy 'smart'; the env offers copy, zero"):
        agents.make("heuristic", env, policy="smart")


def test_evaluate_parallel_env_with_heuristic_and_summary():
    env = CopyParallelEnv(n=3, length=5)
    copy = agents.make("heuristic", env, policy="copy")
    rows = evaluate(env, copy, episodes=3, seed=0)
    assert [row["episode"] for row in rows] == [0, 1, 2]
    assert all(row["return"] == 5.0 and row["length"] == 5 for row in rows)
    assert all(row["hit_rate"] == 1.0 and row["env_return"] == -1.0 for row in rows)
    zero = evaluate(env, agents.make("heuristic", env, policy="zero"), episodes=20, seed=0)
    assert 0.0 < np.mean([row["return"] for row in zero]) < 5.0


def test_evaluate_is_deterministic_and_does_not_train():
    learner = agents.make("dqn", IdentityEnv(), seed=0)
    before = learner.state_dict()
    rows_a = evaluate(IdentityEnv(), learner, episodes=3, seed=5)
    rows_b = evaluate(IdentityEnv(), learner, episodes=3, seed=5)
    assert rows_a == rows_b and rows_a[0]["steps"] == 10.0
    assert learner.env_steps == 0 and learner.state_dict()["numpy_rng"] == before["numpy_rng"]


def test_mean_ci_uses_student_t():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert half == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert math.isnan(mean_ci([4.0])[1])
    with pytest.raises(ValueError):
        mean_ci([])
    for confidence, df, expected in [(0.95, 1, 12.7062), (0.95, 30, 2.0423), (0.99, 10, 3.1693)]:
        assert t_quantile(confidence, df) == pytest.approx(expected, abs=1e-4)
    assert t_quantile(0.95, 10_000) == pytest.approx(1.9602, abs=1e-4)


# ==== replay buffer ==========================================================================
def test_replay_buffer_wraps_around_and_round_trips():
    fields = {"obs": ((2,), torch.float32), "action": ((), torch.int64)}
    buffer = ReplayBuffer(3, fields)
    for i in range(5):
        buffer.add(obs=np.full(2, i), action=i)
    assert len(buffer) == 3 and buffer.pos == 2
    assert sorted(buffer.storage["action"].tolist()) == [2, 3, 4]
    batch = buffer.sample(16, np.random.default_rng(0))
    assert batch["obs"].shape == (16, 2)
    assert torch.equal(batch["obs"][:, 0].long(), batch["action"])  # one index set for all fields
    copy = ReplayBuffer(3, fields)
    copy.load_state_dict(buffer.state_dict())
    assert torch.equal(copy.storage["obs"], buffer.storage["obs"]) and copy.pos == 2
    with pytest.raises(ValueError, match=r"missing fields \['action'\]"):
        buffer.add(obs=np.zeros(2))
