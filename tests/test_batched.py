"""The batched torch museum (cpss.batched_*, scenarios.museum.batched) against the numpy path.

The two paths draw random numbers differently (numpy Generator per day vs one torch generator
for the batch, in another order), so they cannot agree draw by draw. What is checked instead:

* exactly, on the same state (numpy days imported with ``from_models``): observations, global
  state, masks, rewards, every metric, the deterministic heuristic policies, and ``f`` itself;
* exactly, the visitors of day ``b`` equal those of ``VenueModel(seed=s + b)``;
* in distribution, one tick from the same state: each deciding visitor's outcome (item, room,
  leaving) over hundreds of replicates, by a pooled chi-square test that is also shown to flag a
  world with one parameter changed;
* in distribution, whole days: day metrics of paired days (same visitors) agree within 4
  standard errors;
* reproducibility over a whole day (240 ticks): same seed, same tensors.

``CPSS_TEST_DEVICE=cuda pytest tests/test_batched.py`` runs the same checks on a GPU.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from conftest import venue_days

from cpss.batched import ops
from cpss.batched.decisions import decision_view
from cpss.batched.io import from_models, summary
from cpss.batched.venue import BatchedVenue
from cpss.kit.config import ConfigError
from cpss.kit.personalisation import PersonalisationFunction, acceptance_torch, utility_torch
from cpss.venue.guides import POLICY_FUNCTIONS
from cpss.venue.metrics import summary as numpy_summary
from cpss.venue.model import VenueModel
from cpss.venue.users import Activity
from scenarios import load_config, make_scenario
from scenarios.museum.batched import BatchedMuseumEnv

A = Activity
DEVICE = os.environ.get("CPSS_TEST_DEVICE", "cpu")


@pytest.fixture(scope="module")
def cfg():
    return load_config("museum", "museum-small")


def _env_on(models: list[VenueModel]) -> BatchedMuseumEnv:
    env = BatchedMuseumEnv(models[0].config, num_days=1, device=DEVICE)
    env.world = from_models(models, device=DEVICE)
    env.num_days = env.world.B
    env._invalid = torch.zeros(env.world.B, env.world.K, dtype=torch.long, device=DEVICE)
    return env


def test_f_matches_numpy():
    f = PersonalisationFunction()
    rng = np.random.default_rng(0)
    names = (
        "match",
        "attention",
        "exposure",
        "trust",
        "guided",
        "viewers",
        "density",
        "view_density",
        "queue_wait",
        "crowd_noise",
        "noise",
        "event",
        "attraction",
        "walk_min",
    )
    inputs = {
        k: rng.random(500) * (5.0 if k in ("viewers", "queue_wait", "walk_min", "exposure") else 1.0) for k in names
    }
    expected = f.utility(**inputs)
    tensors = {k: torch.as_tensor(v, device=DEVICE) for k, v in inputs.items()}
    got = utility_torch(**tensors, w=f.weights, p=f.params).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        acceptance_torch(torch.as_tensor(expected, device=DEVICE), f.params).cpu().numpy(),
        f.acceptance(expected),
        atol=1e-12,
    )


def test_admit_respects_capacity_and_first_come_first_served():
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    cand = torch.arange(10, device=DEVICE)
    bins = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 0], device=DEVICE)
    prio = torch.tensor([5.0, 1.0, 3.0, 0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.5], device=DEVICE)
    free = torch.tensor([2, 0, 3], device=DEVICE)
    ok = ops.admit(gen, cand, bins, free, prio)
    assert set(ok[bins[ok] == 0].tolist()) == {1, 9}  # the two earliest at bin 0
    assert (bins[ok] == 1).sum() == 0 and (bins[ok] == 2).sum() == 3
    left_out = set()  # ties at bin 2 are broken at random: each tied candidate is sometimes left out
    for _ in range(40):
        ok = ops.admit(gen, cand, bins, free, prio)
        left_out |= {5, 6, 7, 8} - set(ok.tolist())
    assert left_out == {5, 6, 7, 8}


def test_days_have_the_visitors_of_the_numpy_days(cfg):
    w = BatchedVenue(cfg, 3, seed=5, dtype=torch.float64, device=DEVICE)
    for b in range(3):
        m = VenueModel(cfg, seed=5 + b)
        rows = slice(b * w.V, (b + 1) * w.V)
        np.testing.assert_array_equal(w.pop.arrival[rows].cpu().numpy(), m.pop.arrival)
        np.testing.assert_array_equal(w.pop.interest[rows].cpu().numpy(), m.pop.interest)
        np.testing.assert_array_equal(w.pop.leader[rows].cpu().numpy() - b * w.V, m.pop.leader)
        np.testing.assert_array_equal(w.pop.has_device[rows].cpu().numpy(), m.pop.has_device)
        np.testing.assert_array_equal(w.base_noise[b].cpu().numpy(), m.base_noise)


@pytest.mark.parametrize("ticks", [70, 150, 239])
def test_views_metrics_and_policies_exact_on_imported_state(cfg, ticks):
    scenario = make_scenario("museum", "museum-small")
    models = venue_days(cfg, ticks)
    env = _env_on(models)
    obs, state, masks, rewards = env.observe(), env.state(), env.action_masks(), env.rewards()
    metrics = summary(env.world)
    view = decision_view(env.world)
    for b, m in enumerate(models):
        np.testing.assert_array_equal(obs[b].cpu().numpy(), scenario.observe(m))
        np.testing.assert_array_equal(state[b].cpu().numpy(), scenario.state(m))
        np.testing.assert_array_equal(masks[b].cpu().numpy(), scenario.action_masks(m).astype(bool))
        np.testing.assert_allclose(rewards[b].cpu().numpy(), scenario.rewards(m), atol=1e-6)
        expected = numpy_summary(m)
        for name, value in expected.items():
            assert float(metrics[name][b]) == pytest.approx(value, abs=1e-9, nan_ok=True), name
        for policy in ("none", "interest", "crowd_aware"):
            recs = ops.policy(policy, view, env.world.gen).view(env.world.B, -1)[b].cpu().numpy()
            np.testing.assert_array_equal(recs, POLICY_FUNCTIONS[policy](m.decision_view(), np.random.default_rng(0)))


def _outcomes(target_item, target_zone, leaving, state, m_items: int, n_zones: int) -> np.ndarray:
    """A decider's outcome: the item it heads for, the room it wanders to, leaving, or other."""
    wander = np.where(state == A.WALKING, m_items + target_zone, m_items + n_zones + 1)
    return np.where(leaving, m_items + n_zones, np.where(target_item >= 0, target_item, wander))


def _pooled_chi2_z(a: np.ndarray, b: np.ndarray, categories: int) -> float:
    """Two-sample chi-square over every column (visitor) of (R, U) outcomes, summed, as a z-score."""
    x2, df = 0.0, 0
    for j in range(a.shape[1]):
        ca, cb = np.bincount(a[:, j], minlength=categories), np.bincount(b[:, j], minlength=categories)
        keep = (ca + cb) >= 10  # rare outcomes pooled into one cell
        ca = np.append(ca[keep], ca[~keep].sum())
        cb = np.append(cb[keep], cb[~keep].sum())
        nz = (ca + cb) > 0
        ca, cb = ca[nz], cb[nz]
        if ca.size < 2:
            continue
        tot = ca + cb
        ea, eb = tot * ca.sum() / tot.sum(), tot * cb.sum() / tot.sum()
        x2 += ((ca - ea) ** 2 / ea).sum() + ((cb - eb) ** 2 / eb).sum()
        df += ca.size - 1
    return (x2 - df) / np.sqrt(2 * df)


@pytest.mark.slow
def test_one_tick_from_the_same_state_has_the_same_distribution(cfg):
    m = VenueModel(cfg, seed=1)
    for _ in range(100):
        m.step()
    busy = np.isin(m.pop.state, [A.VIEWING, A.QUEUING]) & ~m.pop.leaving
    m.pop.state[busy] = A.DECIDING  # many deciders: the test then sees many choices
    m._view_cache = None
    deciders = np.flatnonzero(m.pop.state == A.DECIDING)
    assert deciders.size >= 40
    reps, n_items, n_zones = 300, m.floor.n_items, m.floor.n_zones
    blob = pickle.dumps(m)
    numpy_out = []
    for r in range(reps):
        copy = pickle.loads(blob)
        copy.rng = copy.sensors.rng = np.random.default_rng(1000 + r)
        copy.step()
        p = copy.pop
        numpy_out.append(
            _outcomes(
                p.target_item[deciders],
                p.target_zone[deciders],
                p.leaving[deciders],
                p.state[deciders],
                n_items,
                n_zones,
            )
        )
    numpy_out = np.array(numpy_out)

    def torch_outcomes(cohesion: float | None = None) -> np.ndarray:
        w = from_models([m] * reps, device=DEVICE)
        if cohesion is not None:  # a deliberately different world (parameters are read once, by name)
            w.params = w.params._replace(crowd=w.params.crowd._replace(cohesion=cohesion))
        w.step()
        p = w.pop
        idx = (
            torch.arange(reps, device=DEVICE)[:, None] * w.V + torch.as_tensor(deciders, device=DEVICE)[None, :]
        ).reshape(-1)
        out = _outcomes(
            p.target_item[idx].cpu().numpy(),
            p.target_zone[idx].cpu().numpy(),
            p.leaving[idx].cpu().numpy(),
            p.state[idx].cpu().numpy(),
            n_items,
            n_zones,
        )
        return out.reshape(reps, -1)

    categories = n_items + n_zones + 2
    assert abs(_pooled_chi2_z(numpy_out, torch_outcomes(), categories)) < 4.0
    assert _pooled_chi2_z(numpy_out, torch_outcomes(cohesion=0.5), categories) > 6.0  # the test has power


STRESSED = {
    "context": {
        "closures": [{"zone": 3, "start": 30, "end": 120}, {"zone": 5, "start": 0, "end": 240}],
        "events": [{"zone": 2, "start": 60, "end": 150}],
    },
    "world": {"minutes_per_step": 2.0},
    "visitors": {"count": 400},
}
"""Closures, events, 2-minute ticks and twice the visitors (queues and congestion everywhere)."""


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [{}, STRESSED], ids=["museum-small", "stressed"])
def test_day_metrics_agree_in_distribution_with_paired_numpy_days(overrides):
    cfg = load_config("museum", "museum-small", overrides)
    days = 24
    w = BatchedVenue(cfg, days, seed=0, dtype=torch.float64, device=DEVICE)
    while w.running:
        w.step()
    batched = {k: v.cpu().numpy() for k, v in summary(w).items()}
    rows = []
    for seed in range(days):
        m = VenueModel(cfg, seed=seed)
        while m.running:
            m.step()
        rows.append(numpy_summary(m))
    for name in (
        "mean_satisfaction",
        "median_satisfaction",
        "satisfaction_gini",
        "items_per_visitor",
        "top_interest_coverage",
        "mean_wait",
        "peak_occupancy_ratio",
        "congestion_minutes",
        "entry_queue_minutes",
        "crowded_minutes",
        "acceptance_rate",
        "recommendations",
        "left",
    ):
        diff = batched[name] - np.array([r[name] for r in rows])
        se = diff.std(ddof=1) / np.sqrt(days)
        assert abs(diff.mean()) <= 4 * se + 1e-9, (name, diff.mean(), se)


@pytest.mark.slow
def test_same_seed_same_day_and_different_seeds_differ(cfg):
    def run(seed: int) -> dict[str, torch.Tensor]:
        env = BatchedMuseumEnv(cfg, num_days=3, seed=seed, device=DEVICE)
        env.reset()
        total = torch.zeros(3, env.world.K, device=DEVICE)
        while True:
            obs, rewards, _term, trunc, _infos = env.step(env.heuristic_actions("random"))
            total += rewards
            if bool(trunc.all()):
                break
        return {"sat": env.world.pop.satisfaction.clone(), "obs": obs, "total": total, "steps": env.world._version}

    a, b, c = run(4), run(4), run(5)
    assert a["steps"] == 240
    for k in ("sat", "obs", "total"):
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["sat"], c["sat"])


def test_env_contract(cfg):
    env = BatchedMuseumEnv("museum-small", num_days=4, seed=0, device=DEVICE)
    obs, infos = env.reset()
    k = len(env.possible_agents)
    assert obs.shape == (4, k, env.observation_dim) and obs.dtype == torch.float32
    assert env.state().shape == (4, env.state_dim)
    probe = make_scenario("museum", "museum-small")
    m = VenueModel(cfg, seed=0)
    assert env.observation_dim == probe.observation_space(m).shape[0]
    assert env.state_dim == probe.state_space(m).shape[0]
    for _ in range(80):
        actions = env.heuristic_actions("crowd_aware")
        mask = infos["action_mask"]
        assert mask.gather(2, actions[..., None]).all()  # heuristics only pick valid actions
        obs, _rewards, term, _trunc, infos = env.step(actions)
        assert ((obs >= 0) & (obs <= 1)).all() and not term.any()
    assert infos["invalid_action"].sum() == 0
    # An invalid recommendation (an exhibit outside the mask) is flagged and becomes "none".
    busy = ~infos["idle"]
    bad = torch.where(busy & ~infos["action_mask"][..., 1], torch.ones_like(busy, dtype=torch.long), 0)
    env.step(bad)
    assert int(env.infos()["invalid_action"].sum()) == int(bad.sum())
    with pytest.raises(ValueError, match="shape"):
        env.step(torch.zeros(3, k, dtype=torch.long, device=DEVICE))
    with pytest.raises(ValueError, match="values"):
        env.step(torch.full((4, k), env.n_actions, dtype=torch.long, device=DEVICE))
    with pytest.raises(ValueError, match="heuristic"):
        env.heuristic_actions("nope")
    _obs2, _ = env.reset()  # the next four days
    assert env.world.seed == 4


def test_bad_config_is_a_clear_error(cfg):
    unfixed = cfg.model_copy(update={"floor": cfg.floor.model_copy(update={"layout_seed": None})})
    with pytest.raises(ConfigError, match=r"floor\.layout_seed"):
        BatchedVenue(unfixed, 2)
    with pytest.raises(ConfigError, match="num_days"):
        BatchedVenue(cfg, 0)
    with pytest.raises(ConfigError, match=r"visitors\.count"):
        BatchedVenue(cfg.model_copy(update={"visitors": cfg.visitors.model_copy(update={"count": 0})}), 2)
    with pytest.raises(ConfigError):
        BatchedMuseumEnv("museum-small", num_days=2, visitors={"count": -1})


@pytest.mark.slow
def test_cli_batch_writes_paired_days_and_a_ci_table(tmp_path):
    from typer.testing import CliRunner

    from cpss.runs.cli import app

    out = tmp_path / "run"
    args = ["batch", "museum", "--days", "5", "--chunk", "3", "--policy", "crowd_aware", "--policy", "none"]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "--set", "visitors.count=60"])
    assert res.exit_code == 0, res.output
    import pandas as pd

    days = pd.read_csv(out / "days.csv")
    assert len(days) == 10 and sorted(days["seed"].unique()) == [0, 1, 2, 3, 4]
    assert (days["arrived"] == 60).all()
    by = days.groupby("policy")["recommendations"].sum()
    assert by["none"] == 0 and by["crowd_aware"] > 0
    table = pd.read_csv(out / "summary.csv")
    assert set(table["policy"]) == {"crowd_aware", "none"} and (table["ci95"].dropna() >= 0).all()
    assert "mean ± 95% CI" in res.output
    # Bad input: one line, exit code 2, nothing written.
    for bad, message in (
        (["batch", "ads", "--days", "2"], "only museum"),
        (["batch", "museum", "--days", "2", "--policy", "oracle"], "unknown heuristic 'oracle'"),
        (["batch", "museum", "--days", "2", "--device", "tpu"], "--device"),
        (["batch", "museum", "--days", "2", "--set", "floor.layout_seed=null"], "floor.layout_seed"),
    ):
        res = CliRunner().invoke(app, [*bad, "--out", str(tmp_path / "bad")])
        assert res.exit_code == 2 and message in res.output, (bad, res.output)
        assert len(res.output.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_cli_batch_evaluates_a_trained_multi_agent_run(tmp_path):
    from typer.testing import CliRunner

    from cpss.runs.cli import app

    runner = CliRunner()
    tiny = ["--set", "visitors.count=40", "--set", "world.day_minutes=40", "--set", "world.last_entry_before_close=10"]
    run = tmp_path / "mappo"
    res = runner.invoke(app, ["train", "museum", "--algo", "mappo", "--steps", "80", "--out", str(run), *tiny])
    assert res.exit_code == 0, res.output
    out = tmp_path / "batch"
    res = runner.invoke(
        app, ["batch", "museum", "--checkpoint", str(run), "--days", "3", "--policy", "none", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    import pandas as pd

    days = pd.read_csv(out / "days.csv")
    assert list(days["policy"].unique()) == ["mappo", "none"] and len(days) == 6
    assert (days["arrived"] == 40).all() and (days["minute"] == 40).all()  # the run's own config
    assert days.loc[days.policy == "mappo", "recommendations"].sum() > 0
    res = runner.invoke(app, ["batch", "museum", "--checkpoint", str(run), "--set", "visitors.count=5"])
    assert res.exit_code == 2 and "drop --config and --set" in res.output
    res = runner.invoke(app, ["batch", "museum", "--checkpoint", str(tmp_path / "nothing"), "--days", "2"])
    assert res.exit_code == 2 and "no such run folder" in res.output
