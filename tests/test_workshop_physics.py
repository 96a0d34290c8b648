"""Workshop physics against its sources: 3CC-r endurance, ISO/TS 15066 separation and force limits.

Also the sub-task allocation, the peer effect, demand, trust acting on behaviour, rotation,
multi-shift episodes and the common random numbers that make paired comparisons sharp.
Published figures: shared/reference/calibration-workshop.md §1.1 (Frey-Law et al. 2012,
Table 1) and §3.2-3.3 (ISO/TS 15066, ISO 13855, UR stopping data).
"""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from scenarios.workshop import dynamics as dyn
from scenarios.workshop import ergonomics as erg
from scenarios.workshop import humans
from scenarios.workshop import safety as sf
from scenarios.workshop.config import WorkshopConfig

LOADS = np.array([0.10, 0.20, 0.30, 0.50, 0.90])
PUBLISHED_ET = {  # seconds to failure at 10/20/30/50/90 %MVC (Frey-Law, Looft & Heitsman 2012)
    "shoulder": [1059, 274, 144, 57.7, 6.2],
    "grip": [1385, 473, 258, 106, 11.4],
    "trunk": [2995, 675, 352, 140, 14.8],
}


def _simulated_endurance(F: float, R: float, r: float) -> np.ndarray:
    """Seconds until MF > 1 − TL holding each load from rested, stepping the shipped update."""
    mf = np.zeros(LOADS.size)
    t = np.zeros(LOADS.size)
    dt = 0.002 / (F * LOADS)  # MF rises by at most 0.2% a step
    alive = np.ones(LOADS.size, dtype=bool)
    for _ in range(20_000):
        mf = np.where(alive, erg.fatigue_step(mf, LOADS, dt, F=F, R=R, r=r), mf)
        t = np.where(alive, t + dt, t)
        alive &= mf <= 1.0 - LOADS
        if not alive.any():
            break
    assert not alive.any()
    return t


@pytest.mark.parametrize("region", erg.REGIONS)
def test_endurance_curve_with_shipped_defaults(region):
    """Shipped F, R, r reproduce the published endurance times within 10%, by the ODE and the closed form."""
    fa = WorkshopConfig().fatigue
    j = erg.REGIONS.index(region)
    F, R = fa.F[j], fa.R[j]
    sim = _simulated_endurance(F, R, fa.rest_multiplier)
    closed = erg.endurance_time(LOADS, F=F, R=R)
    np.testing.assert_allclose(sim, PUBLISHED_ET[region], rtol=0.10)
    np.testing.assert_allclose(closed, PUBLISHED_ET[region], rtol=0.10)
    sustainable = R / (F + R)  # below it a load can be held forever (TL* ≈ 0.06–0.09)
    assert 0.05 < sustainable < 0.1 and np.isinf(erg.endurance_time(0.99 * sustainable, F=F, R=R))


def test_rest_recovery_half_life_is_seconds_not_minutes():
    fa = WorkshopConfig().fatigue
    after = erg.fatigue_step(np.array([0.5, 0.5, 0.5]), 0.0, 51.0, F=np.array(fa.F), R=np.array(fa.R), r=15.0)
    assert after[0] < 0.26  # shoulder: half-life ln2 / (15 · 0.00168) = 27.5 s
    assert 0.2 < after[1] < 0.35  # grip: 72 s


@pytest.mark.parametrize(
    "mf, load, factor",
    [
        ([0.0, 0.0, 0.0], [0.2, 0.2, 0.0], 1.0),
        ([0.85, 0.0, 0.0], [0.2, 0.1, 0.0], 0.75),  # shoulder past 1 − TL: residual 0.15 of 0.2
        ([0.5, 0.95, 0.0], [0.2, 0.1, 0.0], 0.5),
        ([0.99, 0.99, 0.99], [0.0, 0.0, 0.0], 1.0),  # no load, no failure
    ],
)
def test_failure_rule_slows_to_residual_capacity(mf, load, factor):
    assert erg.capacity_factor(np.array([mf]), np.array([load]))[0] == pytest.approx(factor)


def test_allocation_follows_focus_and_fills_the_share():
    share, loads, factor = erg.task_tables(
        np.array([0, 0]),
        np.array([0.5, 0.3, 0.2]),
        np.array([[0.25, 0.2, 0.05], [0.05, 0.15, 0.0], [0.05, 0.1, 0.3]]),
        np.array([1.6, 0.6, 1.0]),
    )
    x = erg.allocate(np.array([0.3, 0.3]), np.array([0.0, 1.0]), share, loads, factor)
    np.testing.assert_allclose(x[0], [0.0, 1.0, 0.0])  # quickest first: fasten
    np.testing.assert_allclose(x[1], [0.6, 0.0, 0.0])  # heaviest first: fit (total load 0.5), 0.3 of its 0.5
    np.testing.assert_allclose((x * share).sum(axis=1), 0.3)
    human, cobot = erg.split_times(x, share, factor)
    np.testing.assert_allclose(human, 0.7)
    assert cobot[1] > cobot[0]  # the heavy sub-task is slow for the cobot: ergonomics costs time
    relieved = erg.worker_loads(x, share, loads)
    manual = erg.worker_loads(np.zeros_like(x), share, loads)
    assert relieved[1].max() < manual[0].max() < relieved[0].max()
    rolled, *_ = erg.task_tables(np.array([1]), np.array([0.5, 0.3, 0.2]), loads[0], factor[0])
    np.testing.assert_allclose(rolled[0], [0.2, 0.5, 0.3])


# ---------------------------------------------------------------- safety


def _sp_standard(v: float) -> float:
    """ISO/TS 15066 S_p with the standard's inputs, written out (v_h = 1.6 m/s as S_p > 0.5 m)."""
    t_r, c = 0.1, 0.3
    t_s = 0.15 + (0.5 - 0.15) * v / 1.5  # UR stopping data: ~0.15 s slow, 0.5 s at 1.5 m/s
    return 1.6 * (t_r + t_s) + v * t_r + v * t_s / 2 + c


@pytest.mark.parametrize("v, expected", [(0.25, 0.8444), (1.0, 1.3650), (1.5, 1.7850)])
def test_protective_separation_with_shipped_defaults(v, expected):
    c = WorkshopConfig().cobots
    t_stop = sf.stopping_time(v, t_min=c.t_stop_min, t_max=c.t_stop_max, v_max=c.v_max)
    sp = float(sf.protective_separation(v, t_react=c.t_react, t_stop=t_stop, intrusion=c.intrusion))
    assert sp == pytest.approx(_sp_standard(v), rel=1e-9) and sp == pytest.approx(expected, abs=1e-4)


def test_stopping_grows_with_speed_and_close_in_approach_is_faster():
    c = WorkshopConfig().cobots
    v = np.linspace(0.0, 1.5, 7)
    t_stop = sf.stopping_time(v, t_min=c.t_stop_min, t_max=c.t_stop_max, v_max=c.v_max)
    distance = v * t_stop / 2
    assert (np.diff(t_stop) > 0).all() and (np.diff(np.diff(distance)) > 0).all()  # convex in speed
    # 2.0 m/s applies while S_p stays within 0.5 m, else 1.6 m/s with S_p at least 0.5 m (ISO 13855)
    assert float(sf.protective_separation(0.0, t_react=0.05, t_stop=0.1, intrusion=0.1)) == pytest.approx(0.4)
    assert float(sf.protective_separation(0.0, t_react=0.1, t_stop=0.15, intrusion=0.05)) == pytest.approx(0.5)


def test_force_limited_speeds_match_the_iso_table():
    m = scenarios.make_scenario("workshop").build_world(0)
    assert 1.08 <= m.limit_arm <= 1.13  # upper arm, calibration §3.3
    assert 0.5 <= m.limit_chest <= 0.6


@pytest.mark.parametrize(
    "v, gap, expected",
    [
        (1.0, 0.0, 1.0),  # touching: full speed
        (1.0, 0.05, 1.0),  # within the reaction time
        (1.0, 5.0, 0.0),  # stopped long before
        (0.5, 0.5 * 0.1 + 1.6 * 0.1 + (1.6 + 0.5) * 0.1 - 0.5 * 0.1**2 / (2 * 0.2), 0.25),  # half-way through braking
    ],
)
def test_contact_speed(v, gap, expected):
    hit = sf.contact_speed(np.array([v]), np.array([gap]), np.array([1.6]), t_react=0.1, t_stop=np.array([0.2]))
    assert hit[0] == pytest.approx(expected, abs=1e-6)


def test_entries_stop_or_violate_only_above_the_force_limit():
    kw = {"t_react": 0.1, "t_stop": np.full(4, 0.4), "intrusion": 0.3, "stop_cost": 5.0, "miss": 0.5}
    v = np.array([0.5, 1.2, 1.2, 1.2])
    dist = np.array([0.4, 2.5, 0.4, 0.4])
    limit = np.full(4, 0.55)
    u = np.array([0.0, 0.0, 0.0, 0.99])  # the last tick's entries are all seen
    stops, viol, lost = sf.entries(v, dist, np.full(4, 2), limit, u, **kw)
    assert stops.tolist() == [0, 2, 2, 2] and viol.tolist() == [0, 0, 1, 0]
    assert lost[1] == pytest.approx(2 * 5.5)
    assert sf.poisson_count(np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0, 1.0])).tolist() == [0, 1, 2]


def test_a_fast_cobot_stops_and_a_force_limited_one_does_not():
    def shift(speed: float) -> dict:
        env = scenarios.make("workshop", world={"day_minutes": 120}, context={"breaks": [], "peaks": []})
        env.reset(seed=3)
        while env.agents:
            env.step({a: np.array([speed, 0.3, 0.0], dtype=np.float32) for a in env.agents})
        return env.episode_summary()

    slow, fast = shift(0.3), shift(1.0)
    assert slow["protective_stops"] == 0 == slow["safety_violations"]
    assert fast["protective_stops"] > 20 and fast["mean_trust"] < slow["mean_trust"]


def test_the_safety_rated_speed_limit_caps_every_setting_and_prevents_violations():
    def shift(limit) -> tuple[dict, float]:
        cobots = {} if limit is None else {"speed_limit": limit}
        env = scenarios.make("workshop", world={"day_minutes": 120}, context={"breaks": [], "peaks": []}, cobots=cobots)
        env.reset(seed=3)
        while env.agents:
            env.step({a: np.array([1.0, 0.3, 0.0], dtype=np.float32) for a in env.agents})
        return env.episode_summary(), float(env.unwrapped.model.speed.max())

    free, free_speed = shift(None)
    pfl, pfl_speed = shift("pfl")
    assert free_speed == 1.0 and free["safety_violations"] > 0
    assert pfl["safety_violations"] == 0 and pfl["protective_stops"] == 0
    env = scenarios.make("workshop")
    env.reset(seed=0)
    m = env.unwrapped.model
    assert pfl_speed == pytest.approx(min(m.limit_arm, m.limit_chest) / m.config.cobots.v_max) == m.pfl_speed
    assert shift(0.75)[1] == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [0.0, 2.0, "fast", True])
def test_a_bad_speed_limit_is_refused(bad):
    with pytest.raises(ValueError, match="speed_limit"):
        WorkshopConfig.model_validate({"cobots": {"speed_limit": bad}})


# ---------------------------------------------------------------- team, demand, trust, rotation, shifts


def test_peer_effect_is_asymmetric_at_the_cited_size():
    pace = np.array([1.0, 1.1, 1.0])
    up, dn = np.array([-1, 0, 1]), np.array([1, 2, -1])
    mult = dyn.peer_pace(pace, up, dn, 0.17)
    assert mult[0] == pytest.approx(1.017)  # neighbour 10% faster: +1.7% effort
    assert mult[1] == pytest.approx(1.0)  # faster than the neighbours: no slow-down
    assert mult[2] == pytest.approx(1.017)


def test_demand_is_a_share_of_the_manual_line_capacity():
    m = scenarios.make_scenario("workshop").build_world(0)
    lay = m.layout
    unit = lay.cycle * dyn.time_multiplier(np.array(60.0), progress_ratio=0.85, plateau=0.7)
    expected = (430 / 480) * (1 / (1 + 6 * 0.1 / 0.9)) / unit.max()
    assert m.cell_capacity[0] == pytest.approx(expected) and m.base_rate[0] == pytest.approx(0.9 * expected)


def test_trust_sets_reliance_and_distance():
    env = scenarios.make("workshop")
    env.reset(seed=1)
    m = env.model
    m.trust[:] = np.array([1.0, 0.5, 0.25, 0.0, 1.0, 1.0])
    env.step({a: np.array([1.0, 0.3, 0.0], dtype=np.float32) for a in env.agents})
    offered = erg.allocate(m.assist, m.focus, m.share, m.loads, m.factor)
    ratio = m.taken.sum(axis=1) / offered.sum(axis=1)
    np.testing.assert_allclose(ratio[:4], np.clip(np.array([1.0, 0.5, 0.25, 0.0]) / 0.5, 0, 1), atol=0.05)


def test_rotation_moves_workers_with_their_state():
    m = scenarios.make_scenario("workshop", team={"rotation": True}).build_world(0)
    pace, exp = m.pace_nat.copy(), m.experience.copy()
    humans.rotate(m)
    np.testing.assert_array_equal(m.pace_nat, np.roll(pace, 1))
    np.testing.assert_array_equal(m.experience, np.roll(exp, 1, axis=0))
    for _ in range(5):
        humans.rotate(m)
    np.testing.assert_array_equal(m.pace_nat, pace)


def test_multi_shift_episode_recovers_overnight_and_forgets_a_little():
    env = scenarios.make("workshop", world={"day_minutes": 60, "shifts": 2}, context={"breaks": [], "peaks": []})
    env.reset(seed=0)
    m = env.model
    assert m.horizon == 120
    for _ in range(60):
        env.step(env.heuristic_actions("fixed"))
    tired, learnt = m.mf.copy(), m.experience.copy()
    assert tired.max() > 0
    env.step(env.heuristic_actions("fixed"))  # first minute of shift 2: overnight first
    assert m.shift == 1 and m.mf.max() < tired.max() and (m.experience <= learnt * 0.97 + 1.0 + 1e-9).all()
    while env.agents:
        env.step(env.heuristic_actions("fixed"))
    assert m.minute == 120


def test_common_random_numbers_survive_different_policies():
    """Orders and failure clocks do not depend on what the cobots do."""

    def run(policy: str):
        env = scenarios.make("workshop")
        env.reset(seed=4)
        for _ in range(150):
            env.step(env.heuristic_actions(policy))
        return env.model

    a, b = run("fixed"), run("separation")
    np.testing.assert_array_equal(a.n_jobs, b.n_jobs)
    np.testing.assert_array_equal(a.clock_up, b.clock_up)
    np.testing.assert_array_equal(a.clock_repair, b.clock_repair)
    assert a.done.sum() != b.done.sum() or a.stops != b.stops  # the policies did differ


def test_assistance_trades_fatigue_for_cycle_time():
    """More of the job to the slow cobot: less fatigue, fewer jobs (paired on one shift)."""

    def shift(assist: float) -> dict:
        ctx = {"order_load": 3.0, "breaks": [{"start": 120, "end": 130}], "peaks": []}
        env = scenarios.make("workshop", world={"day_minutes": 240}, context=ctx)
        env.reset(seed=2)
        while env.agents:
            env.step({a: np.array([0.166, assist, 0.0], dtype=np.float32) for a in env.agents})
        return env.episode_summary()

    manual, helped = shift(0.0), shift(0.6)
    assert helped["physical_fatigue_mean"] < 0.5 * manual["physical_fatigue_mean"]
    assert helped["failed_minutes"] < manual["failed_minutes"]
    assert helped["throughput"] < manual["throughput"]


@pytest.mark.parametrize(
    "own, cobot, manual, minutes, joined",
    [
        (1.0, 0.5, 1.0, 1.0, 0.0),  # the cobot keeps up: the worker's part sets the pace
        (1.0, 1.5, 1.0, 1.5, 0.0),  # the worker waits (rests) for the cobot
        (1.0, 4.0, 1.0, 2.0 + (1 - 2.0 / 4.0) / (1 / 4.0 + 1.0), 0.4),  # waited as long as by hand: joins
        (1.0, 1e12, 1.0, 3.0, 1.0),  # a cobot that does not move: the job ends by hand, never stalls
        (1.0, 0.0, 0.0, 1.0, 0.0),  # no assistance
    ],
)
def test_shared_job(own, cobot, manual, minutes, joined):
    total, extra = erg.shared_job(np.array([own]), np.array([cobot]), np.array([manual]))
    assert total[0] == pytest.approx(minutes, rel=1e-6) and extra[0] == pytest.approx(joined, rel=1e-6, abs=1e-9)
