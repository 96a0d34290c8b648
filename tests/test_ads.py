"""The ads scenario: payoff = CTR x payment, the crowd switches, regret, bandits, CLI; the lizard in the registry."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import agents
import scenarios
from cpss.kit.config import ConfigError
from cpss.runs.cli import app
from scenarios.ads.world import logit, sigmoid

runner = CliRunner()
OFF = {"crowd": {"social_proof": 0.0, "fatigue": 0.0}}


def play(env, policy_or_action, steps=None):
    """Step a ParallelEnv with a heuristic name or a fixed action for every agent."""
    t = 0
    while env.agents and (steps is None or t < steps):
        if isinstance(policy_or_action, str):
            env.step(env.heuristic_actions(policy_or_action))
        else:
            env.step({a: policy_or_action for a in env.agents})
        t += 1


# ==== the CTR model ===========================================================================
def test_ctr_follows_the_documented_formula_without_crowd_effects():
    env = scenarios.make("ads", **OFF)
    env.reset(seed=3)
    m, cat, cfg = env.model, env.model.cat, env.scenario.config
    for _ in range(5):
        s, d = m.segment[m.user], m.daypart
        z = (
            logit(cat.base_ctr)
            + cfg.ads.segment_weight * cat.taste[s, cat.category]
            + cfg.ads.daypart_weight * cat.daypart_effect[d, cat.category]
        )
        np.testing.assert_allclose(m.ctr_now(), sigmoid(z))
        env.step({"server_0": 0})


def test_payoff_is_ctr_times_payment_and_expected_rewards_describe_the_pull_just_made():
    env = scenarios.make("ads")
    _, infos = env.reset(seed=1)
    assert "expected_rewards" not in infos["server_0"]  # no pull has been made yet
    m = env.model
    rng = np.random.default_rng(0)
    for _ in range(200):
        payoff = m.payoffs()
        np.testing.assert_allclose(payoff, m.ctr_now() * m.cat.payment)
        arm = int(rng.integers(5))
        _, rew, _, _, infos = env.step({"server_0": arm})
        info = infos["server_0"]
        np.testing.assert_allclose(info["expected_rewards"], payoff)  # the context of the pull, not the next
        assert info["shown"] and rew["server_0"] == (m.cat.payment[arm] if info["clicked"] else 0.0)


def test_social_proof_lifts_the_ctr_of_popular_ads_and_zero_switches_it_off():
    ctr = {}
    for sp in (0.0, 2.0):
        env = scenarios.make("ads", crowd={"social_proof": sp, "fatigue": 0.0})
        env.reset(seed=4)
        play(env, 2, steps=300)  # every click goes to ad 2
        m = env.model
        static = sigmoid(m.cat.static_logit[m.segment[m.user], m.daypart])
        ctr[sp] = m.ctr_now() / static
        assert m.click_share()[2] == pytest.approx(1.0)
    np.testing.assert_allclose(ctr[0.0], 1.0)
    assert ctr[2.0][2] > 1.2 and np.all(ctr[2.0][[0, 1, 3, 4]] < 1.0)


def test_fatigue_multiplies_the_ctr_per_earlier_exposure_and_zero_switches_it_off():
    for fatigue in (0.0, 0.3):
        env = scenarios.make("ads", users={"count": 20}, crowd={"social_proof": 0.0, "fatigue": fatigue})
        env.reset(seed=5)
        play(env, 1, steps=100)  # 100 pulls over 20 users: everyone has seen ad 1 several times
        m = env.model
        seen = m.exposures[m.user]
        assert seen[1] >= 1 and seen.sum() == seen[1]
        static = sigmoid(m.cat.static_logit[m.segment[m.user], m.daypart])
        np.testing.assert_allclose(m.ctr_now(), static * (1.0 - fatigue) ** seen)


def test_several_servers_compete_for_attention():
    env = scenarios.make("ads", config="ads-large", world={"pulls": 50})
    env.reset(seed=2)
    m = env.model
    while env.agents:
        acts = env.heuristic_actions("random")
        ctr, pay = m.ctr_now(), m.cat.payment
        proposed = np.array([ctr[k * 8 + a] for k, a in enumerate(acts.values())])
        _, rew, _, _, infos = env.step(acts)
        assert sum(i["shown"] for i in infos.values()) == 1
        for k, agent in enumerate(env.possible_agents):
            own = ctr[k * 8 : (k + 1) * 8]
            attention = own / (own + proposed.sum() - proposed[k])
            np.testing.assert_allclose(infos[agent]["expected_rewards"], attention * own * pay[k * 8 : (k + 1) * 8])
            assert rew[agent] == 0.0 or infos[agent]["clicked"]


def test_same_seed_same_users_and_draws_for_every_policy():
    a, b = scenarios.make("ads"), scenarios.make("ads")
    a.reset(seed=9)
    b.reset(seed=9)
    play(a, "random", steps=50)
    play(b, "oracle", steps=50)
    np.testing.assert_array_equal(a.model.stream, b.model.stream)
    np.testing.assert_array_equal(a.model.click_draw, b.model.click_draw)


# ==== regret ==================================================================================
def test_oracle_has_zero_regret_and_the_others_do_not():
    results = {}
    for policy in ("oracle", "random", "highest_payment"):
        env = scenarios.make("ads", world={"pulls": 2000})
        env.reset(seed=0)
        play(env, policy)
        results[policy] = env.episode_summary()
    assert results["oracle"]["cumulative_regret"] == 0.0 and results["oracle"]["best_ad_share"] == 1.0
    assert results["random"]["cumulative_regret"] > 100 and results["highest_payment"]["cumulative_regret"] > 100
    assert results["oracle"]["revenue"] > results["random"]["revenue"]
    frame = env.model.datacollector.get_model_vars_dataframe()
    assert list(frame["pull"])[:3] == [0, 100, 200] and frame["pull"].iloc[-1] == 2000


@pytest.mark.slow  # three learners x three days of 10 000 users: about 10 s
def test_ucb1_and_thompson_regret_far_below_epsilon_greedy():
    regret = {}
    for algo, hp in (("epsilon_greedy", {"epsilon": 0.1}), ("ucb1", {"c": 0.2}), ("thompson", {})):
        runs = []
        for seed in range(3):  # one ads-small day (10 000 users) each
            env = scenarios.make_gym("ads", others="random")
            learner = agents.make(algo, env, seed=seed, **hp)
            learner.learn(10_000)
            runs.append(learner.cumulative_regret)
            assert learner.cumulative_regret == pytest.approx(env.episode_summary()["cumulative_regret"])
        regret[algo] = np.mean(runs)
    assert regret["ucb1"] < 0.5 * regret["epsilon_greedy"], regret
    assert regret["thompson"] < 0.5 * regret["epsilon_greedy"], regret


# ==== config ==================================================================================
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"crowd": {"fatigue": 1.5}}, "crowd.fatigue: Input should be less than or equal to 1"),
        ({"ads": {"ctr_max": 1.0}}, "ads.ctr_max: Input should be less than 1"),
        ({"ads": {"ctr_min": 0.4, "ctr_max": 0.2}}, "ctr_min (0.4) exceeds ctr_max (0.2)"),
        ({"ads": {"payment_max": 2.0}}, "ads.payment_max: Input should be less than or equal to 1"),
        ({"ads": {"per_server": 0}}, "ads.per_server: Input should be greater than or equal to 1"),
        ({"users": {"segment_shares": [0.5, 0.5]}}, "segment_shares has 2 values, expected segments=3"),
        ({"users": {"segment_shares": [0.5, 0.4, 0.3]}}, "segment_shares must be >= 0 and sum to 1"),
        ({"world": {"pulls": 0}}, "world.pulls: Input should be greater than or equal to 1"),
        ({"crowd": {"socialproof": 1.0}}, "crowd.socialproof: Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_one_clear_error(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        scenarios.make("ads", **overrides)


# ==== command line ============================================================================
def test_simulate_ads_with_a_learning_policy(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(
        app, ["simulate", "ads", "--policy", "ucb1", "--steps", "1500", "--seed", "2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    for name in (
        "config.json",
        "metrics.csv",
        "summary.json",
        "learner_trace.csv",
        "learner_regret.png",
        "cumulative_regret.png",
        "revenue.png",
    ):
        assert (out / name).is_file(), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["policy"] == "ucb1" and cfg["learner"]["algo"] == "ucb1" and cfg["learner"]["env_steps"] == 1500
    trace = pd.read_csv(out / "learner_trace.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert len(trace) == 1500 and summary["pull"] == 1500
    assert summary["cumulative_regret"] == pytest.approx(trace["cumulative_regret"].iloc[-1])
    res = runner.invoke(app, ["simulate", "ads", "--policy", "psychic", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "choose from random, oracle, highest_payment, explore" in res.output


def test_bandits_command_writes_a_comparison(tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app, ["bandits", "--seeds", "2", "--pulls", "300", "--policy", "ucb1", "--policy", "explore", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "ucb1" in res.output and "explore" in res.output
    for name in ("regret.png", "regret_curves.csv", "runs.csv", "summary.csv", "summary.md", "config.json"):
        assert (out / name).is_file(), name
    curves = pd.read_csv(out / "regret_curves.csv")
    assert set(curves["policy"]) == {"ucb1", "explore"} and curves["pull"].max() == 300
    summary = pd.read_csv(out / "summary.csv").set_index("policy")
    assert summary.loc["ucb1", "cumulative_regret"] < summary.loc["explore", "cumulative_regret"]
    assert list(summary["seeds"]) == [2, 2]


# ==== the lizard in the registry ==============================================================
def test_lizard_is_registered_as_a_gymnasium_only_env():
    assert "lizard" in scenarios.names() and "lizard" not in scenarios.parallel_names()
    env = scenarios.make_gym("lizard", max_steps=10)  # keyword arguments reach the env
    env.reset(seed=0)
    for step in range(1, 11):
        _, reward, terminated, truncated, _ = env.step(0)  # against the wall: no tile changes
        assert (reward, terminated, truncated) == (-1.0, False, step == 10)
    with pytest.raises(ConfigError, match=r"lizard is a single-agent Gymnasium env; use scenarios\.make_gym"):
        scenarios.make("lizard")
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0 and "lizard" in res.output and "ads-small" in res.output
