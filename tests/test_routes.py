"""The routes scenario lands where its closed forms say: greedy guides on the selfish equilibrium,
coordinated ones on the social optimum, within sampling error.

Tolerances come from the sampling model, not from magic numbers:

* ``coordinated`` advises B to each user independently with probability ``q``, so with full
  compliance a day's share on B is ``Binomial(N, s_opt) / N``: the share pooled over ``D`` days
  lies within 4 binomial SDs, ``4 sqrt(s (1 - s) / (N D))``, of ``s_opt``;
* ``greedy`` and ``marginal`` are feedback rules on the running share: the ``K`` users of a tick
  all move it the same way, so a day ends within one tick's arrivals plus the joining user,
  ``(K + 1) / N``, of its target.

A mean cost is checked against the range of ``C`` over the share's tolerance interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, render_test, state_test

import scenarios
from cpss.kit.config import ConfigError
from scenarios import routes
from scenarios.routes.equations import RouteParams, mean_cost, optimum_share, route_cost, selfish_share

N, K = 1000, 4
DAYS = 20
CONFIGS = ("routes-pigou", "routes-rooms")


def run_days(config: str, policy: str, days: int = DAYS, **overrides) -> tuple[np.ndarray, np.ndarray, dict]:
    """Shares on B and mean costs of ``days`` days (seeds 0..days-1) under a heuristic."""
    env = scenarios.make("routes", config=config, **overrides)
    shares, costs = [], []
    for day in range(days):
        env.reset(seed=day)
        while env.agents:
            env.step(env.heuristic_actions(policy))
        summary = env.episode_summary()
        assert summary["routed"] == N
        assert summary["mean_cost"] == pytest.approx(float(mean_cost(summary["share_b"], env.model.pa, env.model.pb)))
        shares.append(summary["share_b"])
        costs.append(summary["mean_cost"])
    return np.array(shares), np.array(costs), summary


def cost_range(summary: dict, config: str, share: float, tol: float) -> tuple[float, float]:
    """Lowest and highest mean cost ``C(s)`` over ``s`` in ``share ± tol`` (clipped to [0, 1])."""
    pa, pb = scenarios.load_config("routes", config).params()
    s = np.linspace(max(share - tol, 0.0), min(share + tol, 1.0), 1001)
    c = mean_cost(s, pa, pb)
    return float(c.min()) - 1e-12, float(c.max()) + 1e-12


# ---- closed forms ------------------------------------------------------------------------
def test_pigou_and_rooms_closed_forms():
    pigou = (RouteParams(a=1.0, b=0.0), RouteParams(a=0.0, b=1.0))
    assert (selfish_share(*pigou), mean_cost(1.0, *pigou)) == (1.0, 1.0)
    assert (optimum_share(*pigou), mean_cost(0.5, *pigou)) == (0.5, 0.75)
    rooms = (RouteParams(a=-1.0, b=1.0), RouteParams(a=-0.6, b=0.2))
    assert selfish_share(*rooms) == pytest.approx(0.5) and mean_cost(0.5, *rooms) == pytest.approx(-0.5)
    assert optimum_share(*rooms) == pytest.approx(2 / 3) and mean_cost(2 / 3, *rooms) == pytest.approx(-8 / 15)


def test_closed_forms_equalise_costs_and_minimise_the_mean_cost():
    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 1.0, 100_001)
    for _ in range(200):
        pa, pb = (RouteParams(a=rng.uniform(-1, 1), b=rng.uniform(0, 2)) for _ in range(2))
        s_eq, s_opt = selfish_share(pa, pb), optimum_share(pa, pb)
        gap = route_cost(s_eq, pb) - route_cost(1 - s_eq, pa)
        assert abs(gap) < 1e-12 or (s_eq == 1.0 and gap < 0) or (s_eq == 0.0 and gap > 0)  # Wardrop
        assert mean_cost(s_opt, pa, pb) <= mean_cost(grid, pa, pb).min() + 1e-9
        assert mean_cost(s_opt, pa, pb) <= mean_cost(s_eq, pa, pb) + 1e-12


# ---- the heuristics land on the closed forms ---------------------------------------------
@pytest.mark.parametrize("config", CONFIGS)
def test_greedy_lands_on_the_selfish_equilibrium(config):
    shares, costs, summary = run_days(config, "greedy", days=5)
    tol = (K + 1) / N
    assert np.abs(shares - summary["selfish_share"]).max() <= tol, shares
    low, high = cost_range(summary, config, summary["selfish_share"], tol)
    assert ((low <= costs) & (costs <= high)).all(), (costs, summary["selfish_cost"])


@pytest.mark.parametrize("config", CONFIGS)
def test_coordinated_lands_on_the_social_optimum(config):
    shares, costs, summary = run_days(config, "coordinated")
    s_opt = summary["optimum_share"]
    sd_pooled, sd_day = np.sqrt(s_opt * (1 - s_opt) / (N * DAYS)), np.sqrt(s_opt * (1 - s_opt) / N)
    assert abs(shares.mean() - s_opt) <= 4 * sd_pooled, (shares.mean(), s_opt)
    low, high = cost_range(summary, config, s_opt, 4 * sd_day)
    assert low <= costs.mean() <= high, (costs.mean(), summary["optimum_cost"])
    assert costs.mean() < summary["selfish_cost"] - 0.02  # and the gain over selfish routing is real


@pytest.mark.parametrize("config", CONFIGS)
def test_marginal_cost_feedback_lands_on_the_optimum_despite_non_compliance(config):
    shares, _, summary = run_days(config, "marginal", days=5, users={"count": N, "compliance": 0.8})
    assert np.abs(shares - summary["optimum_share"]).max() <= (K + 1) / N, shares


@pytest.mark.parametrize("config", CONFIGS)
def test_coordinated_compensates_for_selfish_non_compliers(config):
    shares, _, summary = run_days(config, "coordinated", users={"count": N, "compliance": 0.8})
    s_opt = summary["optimum_share"]
    assert abs(shares.mean() - s_opt) <= 4 * np.sqrt(s_opt * (1 - s_opt) / (N * DAYS)), shares.mean()


def test_greedy_is_what_users_do_without_advice():
    greedy, _, summary = run_days("routes-rooms", "greedy", days=3, users={"count": N, "compliance": 0.0})
    assert np.abs(greedy - summary["selfish_share"]).max() <= (K + 1) / N


# ---- rewards ------------------------------------------------------------------------------
def test_own_reward_is_the_served_users_cost_and_team_reward_sums_to_the_days_cost():
    for coop in (0.0, 1.0):
        env = scenarios.make("routes", config="routes-rooms", rewards={"cooperation": coop})
        env.reset(seed=3)
        total = np.zeros(K)
        while env.agents:
            served = env.model.users_now
            _, rew, _, _, _ = env.step(env.heuristic_actions("random"))
            m = env.model
            if coop == 0.0:
                x = np.array([1 - m.share_b, m.share_b])
                cost = [route_cost(x[r], (m.pa, m.pb)[r]) for r in m.route[served]]
                assert [rew[a] for a in env.possible_agents] == pytest.approx([-c for c in cost])
            total += [rew[a] for a in env.possible_agents]
        if coop == 1.0:
            assert total == pytest.approx(np.full(K, -(N / K) * env.model.mean_cost))


# ---- the env contract ----------------------------------------------------------------------
def _trace(seed: int, steps: int = 600) -> list:
    env = scenarios.make("routes", config="routes-rooms", users={"count": N, "compliance": 0.7})
    obs, infos = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    trace = [obs, infos]
    for _ in range(steps):
        if env.day_over:
            obs, infos = env.reset()
            trace += [obs, infos]
        acts = {a: int(rng.integers(2)) for a in env.agents}
        trace += [*env.step(acts), env.heuristic_actions("coordinated"), env.state()]
    return [*trace, env.model.route.tolist(), env.model.datacollector.get_model_vars_dataframe().to_dict()]


def test_same_seed_same_days():
    a, b, c = _trace(5), _trace(5), _trace(6)
    assert data_equivalence(a, b)
    assert not data_equivalence(a, c)


def test_pettingzoo_api():
    parallel_api_test(scenarios.make("routes", config="routes-rooms"), num_cycles=300)
    api_test(routes.env(config="routes-pigou"), num_cycles=300)
    state_test(routes.env(), routes.parallel_env(), num_cycles=10)
    render_test(lambda render_mode=None: routes.env(render_mode=None if render_mode == "human" else render_mode))
    max_cycles_test(routes)


def test_a_missing_action_leaves_the_user_to_choose_selfishly():
    env = scenarios.make("routes", config="routes-pigou")
    env.reset(seed=0)
    while env.agents:
        env.step({})
    assert env.model.share_b >= 1 - (K + 1) / N and (env.model.advised == -1).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"users": {"count": 1001}}, "users.count (1001) must be a multiple of guides.count (4)"),
        ({"route_a": {"b": 0.0}, "route_b": {"b": 0.0}}, "route_a.b + route_b.b must be > 0"),
        ({"users": {"compliance": 1.5}}, "users.compliance"),
        ({"route_b": {"b": -1.0}}, "route_b.b"),
        ({"guides": {"count": 0}}, "guides.count"),
        ({"rewards": {"cooperation": 2}}, "rewards.cooperation"),
        ({"users": {"count": "many"}}, "users.count"),
        ({"route_c": {"a": 1.0}}, "route_c"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(overrides, message):
    with pytest.raises(ConfigError) as err:
        scenarios.make("routes", **overrides)
    text = str(err.value)
    assert message in text and "\n" not in text, text


# ---- learners --------------------------------------------------------------------------------
@pytest.mark.slow  # about 30 s: two MAPPO runs of 200 short days
def test_cooperative_mappo_finds_the_optimum_and_selfish_mappo_the_equilibrium():
    agents = pytest.importorskip("agents")
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as tests/test_learners_*.py: small networks, no thread contention
    try:
        shares = _train_and_measure(agents)
    finally:
        torch.set_num_threads(threads)
    assert shares[0.0] > 0.85 and abs(shares[1.0] - 0.5) < 0.1, shares  # s_eq = 1, s_opt = 1/2


def _train_and_measure(agents) -> dict[float, float]:
    """Share on B under MAPPO's sampled policy, after 10 000 steps at cooperation 0 and 1."""
    shares = {}
    for coop in (0.0, 1.0):
        env = scenarios.make("routes", config="routes-pigou", users={"count": 200}, rewards={"cooperation": coop})
        learner = agents.make("mappo", env, seed=0, gamma=0.9)
        learner.learn(10_000)
        days = []
        for day in range(20):
            obs, infos = env.reset(seed=10_000 + day)
            while env.agents:
                obs, _, _, _, infos = env.step(learner.act(obs, infos, deterministic=False))
            days.append(env.model.share_b)
        shares[coop] = float(np.mean(days))
    return shares
