"""Multi-agent learners (MADDPG, MAPPO, IPPO): they learn, honour masks, and resume exactly."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from envs_multi import ContinuousMeetEnv, MeetEnv, random_return
from gymnasium import spaces

import agents
from agents.maddpg import MADDPG, MADDPGConfig
from agents.mappo import IPPO, MAPPO, MAPPOConfig

torch.set_num_threads(1)

# Small, fast settings for the toy tasks (episodes of 4-5 steps, per-step rewards).
MADDPG_FAST = MADDPGConfig(
    batch_size=64, learning_starts=200, train_every=2, gamma=0.5, actor_lr=3e-3,
    critic_lr=3e-3, tau=0.05, logit_penalty=0.01,
)  # fmt: skip
MAPPO_FAST = MAPPOConfig(rollout_steps=200, actor_lr=3e-3, critic_lr=3e-3, gamma=0.5)
# MADDPG takes a gradient step every other env step: its 400-800-step runs take 2-3 s.
SLOW_MADDPG = pytest.param(MADDPG, marks=pytest.mark.slow, id="MADDPG")


def evaluate(learner, env, episodes: int = 50) -> float:
    """Mean episode return (mean over agents) of the deterministic policy."""
    totals = []
    for ep in range(episodes):
        observations, infos = env.reset(seed=10_000 + ep)
        total = 0.0
        while env.agents:
            observations, rewards, _, _, infos = env.step(learner.act(observations, infos))
            total += float(np.mean(list(rewards.values())))
        totals.append(total)
    return float(np.mean(totals))


def spread_env(continuous: bool):
    """mpe2 simple_spread with 3 agents (someone else's env, imported lazily)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mpe2 import simple_spread_v3

        return simple_spread_v3.parallel_env(N=3, continuous_actions=continuous, max_cycles=25)


# ==== The toy tasks themselves ====


def test_meet_env_separates_random_from_coordinated_play():
    env = MeetEnv()
    assert random_return(env) < 0.5  # 4 steps x 1/16 = 0.25 expected
    observations, _ = env.reset(seed=0)
    total = 0.0
    while env.agents:  # both agents go to the cued target (first K entries of the obs)
        actions = {a: int(np.argmax(observations[a][: env.n_targets])) for a in env.agents}
        observations, rewards, *_ = env.step(actions)
        total += rewards["agent_0"]
    assert total == 4.0
    assert random_return(ContinuousMeetEnv()) < 1.5  # meeting at the cue would give 5


# ==== Learning ====


@pytest.mark.slow
def test_maddpg_gumbel_softmax_solves_meet():
    env = MeetEnv()
    learner = MADDPG(env, MADDPG_FAST, seed=0)
    history = learner.learn(2_000)
    assert history[-1]["env_steps"] >= 2_000 and learner.updates > 500
    assert evaluate(learner, env) >= 3.0  # random play: 0.25, optimum: 4


@pytest.mark.slow
def test_mappo_solves_meet():
    env = MeetEnv()
    learner = MAPPO(env, MAPPO_FAST, seed=0)
    learner.learn(2_000)
    assert evaluate(learner, env) >= 3.5


@pytest.mark.slow
def test_ippo_learns_meet():
    env = MeetEnv()
    learner = IPPO(env, MAPPO_FAST, seed=0)
    history = learner.learn(2_000)
    assert history[-1]["return"] > history[0]["return"] + 1.0
    assert evaluate(learner, env) >= 3.0


@pytest.mark.slow
def test_maddpg_continuous_actions_learn_to_meet():
    env = ContinuousMeetEnv()
    learner = MADDPG(env, MADDPG_FAST, seed=0)
    learner.learn(1_200)
    assert evaluate(learner, env) >= 4.0  # random play: about 1.06, optimum: 5
    actions = learner.act(env.reset(seed=1)[0])
    for action in actions.values():
        assert action.dtype == np.float32 and env.action_space("agent_0").contains(action)


@pytest.mark.slow
def test_mappo_continuous_actions_learn_to_meet():
    env = ContinuousMeetEnv()
    learner = MAPPO(env, MAPPO_FAST, seed=0)
    learner.learn(2_000)
    assert evaluate(learner, env) >= 4.0


# ==== Other people's envs ====


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("algo", ["maddpg", "mappo", "ippo"])
def test_smoke_on_mpe2_simple_spread(algo, continuous):
    env = spread_env(continuous)
    if algo == "maddpg":
        learner = MADDPG(env, MADDPGConfig(learning_starts=100, batch_size=32), seed=0)
    else:
        learner = {"mappo": MAPPO, "ippo": IPPO}[algo](env, MAPPOConfig(rollout_steps=100), seed=0)
    history = learner.learn(300)
    assert history[-1]["env_steps"] >= 300 and learner.updates > 0
    assert all(math.isfinite(row["return"]) for row in history)
    observations, infos = env.reset(seed=3)
    actions = learner.act(observations, infos, deterministic=False)
    assert set(actions) == set(env.agents)
    assert all(env.action_space(a).contains(act) for a, act in actions.items())


# ==== Action masks and leaving agents ====


@pytest.mark.parametrize("cls", [MADDPG, MAPPO])
def test_masked_actions_are_never_chosen(cls):
    env = MeetEnv(masked=True)
    learner = cls(env, MADDPG_FAST if cls is MADDPG else MAPPO_FAST, seed=0)
    learner.learn(600)  # exploring play must respect the masks too
    evaluate(learner, env, episodes=20)
    assert env.masked_choices == 0
    observations, _ = env.reset(seed=5)
    only_2 = {a: {"action_mask": np.array([0, 0, 1, 0], np.int8)} for a in env.agents}
    for deterministic in (True, False):
        for _ in range(20):
            assert learner.act(observations, only_2, deterministic) == {"agent_0": 2, "agent_1": 2}


@pytest.mark.parametrize("cls", [MADDPG, MAPPO, IPPO])
def test_agents_may_leave_during_an_episode(cls):
    env = MeetEnv(leave_at=2)  # agent_1 terminates after 2 steps, agent_0 plays 4
    config = MADDPGConfig(learning_starts=8, batch_size=8) if cls is MADDPG else MAPPO_FAST
    learner = cls(env, config, seed=0)
    history = learner.learn(40)
    assert all(row["length"] == 4 for row in history)
    assert learner.updates > 0
    if cls is MADDPG:  # agent_1's rows after it left are marked dead and hold zeros
        alive_CN = learner.buffer.storage["alive"][: learner.buffer.size]
        assert alive_CN[:, 0].all() and alive_CN[:, 1].mean() == pytest.approx(0.5)
    assert learner.act({"agent_0": env.reset(seed=0)[0]["agent_0"]}).keys() == {"agent_0"}


# ==== Reproducibility and checkpoints ====


@pytest.mark.parametrize("cls", [SLOW_MADDPG, MAPPO])
def test_same_seed_gives_identical_history(cls):
    config = MADDPG_FAST if cls is MADDPG else MAPPO_FAST
    first = cls(MeetEnv(), config, seed=3).learn(400)
    second = cls(MeetEnv(), config, seed=3).learn(400)
    other = cls(MeetEnv(), config, seed=4).learn(400)
    assert first == second
    assert first != other


@pytest.mark.parametrize("cls", [SLOW_MADDPG, MAPPO])
def test_save_load_continue_equals_uninterrupted(cls, tmp_path):
    config = MADDPG_FAST if cls is MADDPG else MAPPO_FAST
    uninterrupted = cls(MeetEnv(), config, seed=1)
    full = uninterrupted.learn(800)

    first = cls(MeetEnv(), config, seed=1)
    part_1 = first.learn(400)
    path = first.save(tmp_path / "ckpt.pt")
    resumed = agents.load(path, MeetEnv())  # torch.load(weights_only=True) inside
    assert type(resumed) is cls and resumed.env_steps == first.env_steps
    part_2 = resumed.learn(800)

    assert part_1 + part_2 == full
    for key, value in uninterrupted.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, resumed.state_dict()[key])
    actor = "actors" if cls is MADDPG else "actor"
    for name, tensor in uninterrupted.state_dict()[actor].items():
        assert torch.equal(tensor, resumed.state_dict()[actor][name]), name


# ==== Contract details ====


@pytest.mark.parametrize(
    ("name", "cls", "config"),
    [
        ("maddpg", MADDPG, MADDPGConfig(batch_size=16, learning_starts=20)),
        ("mappo", MAPPO, MAPPOConfig(rollout_steps=50)),
        ("ippo", IPPO, MAPPOConfig(rollout_steps=50)),
    ],
)
def test_registry_builds_the_same_learner_as_the_class(name, cls, config):
    hyperparams = {k: v for k, v in vars(config).items() if v != getattr(type(config)(), k)}
    made = agents.make(name, MeetEnv(), seed=2, **hyperparams)
    assert made.config == config
    assert made.learn(100) == cls(MeetEnv(), config, seed=2).learn(100)


def test_callback_false_stops_training():
    rows = []

    def stop_after_three(learner, row):
        rows.append(row)
        return len(rows) < 3

    for learner in (MADDPG(MeetEnv(), MADDPG_FAST, seed=0), MAPPO(MeetEnv(), MAPPO_FAST, seed=0)):
        rows.clear()
        history = learner.learn(10_000, callback=stop_after_three)
        assert history == rows and len(history) == 3
        assert {"env_steps", "episode", "return"} <= history[0].keys()


class _MixedSpacesEnv(MeetEnv):
    def action_space(self, agent):
        return spaces.Discrete(3) if agent == "agent_1" else super().action_space(agent)


class _NoStateEnv(MeetEnv):
    def __init__(self):
        super().__init__()
        del self.state_space

    def state(self):
        raise NotImplementedError


@pytest.mark.parametrize("cls", [MADDPG, MAPPO, IPPO])
def test_unsupported_envs_raise_clear_errors(cls):
    with pytest.raises(ValueError, match="share observation and action spaces"):
        cls(_MixedSpacesEnv())
    with pytest.raises(ValueError, match="unknown agent ids"):
        cls(MeetEnv()).act({"agent_9": np.zeros(13, np.float32)})


def test_mappo_needs_state_but_ippo_does_not():
    assert MAPPO.capabilities.needs_global_state and not IPPO.capabilities.needs_global_state
    with pytest.raises(ValueError, match=r"env.state\(\)"):
        MAPPO(_NoStateEnv())
    assert len(IPPO(_NoStateEnv(), MAPPO_FAST, seed=0).learn(50)) >= 1
