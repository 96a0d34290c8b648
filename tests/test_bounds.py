"""Configs whose values are each in range but imply a day that never ends or tables that do not fit.

GitHub issue 16, item 5: every world's config is bounded by the ticks per day and the memory of
the per-pair tables it implies (:mod:`cpss.kit.limits`), and the floor plan's walking-minute table
is built by Dijkstra per source instead of Floyd–Warshall.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest
from typer.testing import CliRunner

import scenarios
from cpss.kit import limits
from cpss.kit.config import ConfigError
from cpss.kit.floorplan import generate_floor, make_floor, walking_minutes
from cpss.runs.cli import app
from cpss.venue.model import VenueModel
from scenarios.ads.world import AdsConfig

runner = CliRunner()


# ---- ticks per day --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "overrides", "fields"),
    [
        ("museum", {"world.minutes_per_step": 1e-300}, "world.day_minutes / world.minutes_per_step"),
        ("museum", {"world.minutes_per_step": 0.001}, "world.day_minutes / world.minutes_per_step"),
        ("workshop", {"world.minutes_per_step": 1e-300}, "world.day_minutes / world.minutes_per_step"),
        ("ads", {"world.pulls": 10_000_000, "world.metrics_every": 1}, "world.pulls / world.metrics_every"),
    ],
)
def test_too_many_ticks_per_day_is_refused_at_load(scenario, overrides, fields):
    with pytest.raises(ConfigError) as err:
        scenarios.load_config(scenario, overrides=overrides)
    message = str(err.value)
    assert fields in message and "100,000 allowed" in message and "\n" not in message


def test_the_tick_cap_itself_is_allowed():
    cfg = scenarios.load_config("museum", overrides={"world.minutes_per_step": 240 / limits.MAX_TICKS_PER_DAY})
    assert round(cfg.world.day_minutes / cfg.world.minutes_per_step) == limits.MAX_TICKS_PER_DAY
    scenarios.load_config("workshop", overrides={"world.minutes_per_step": 480 / limits.MAX_TICKS_PER_DAY})
    scenarios.load_config("ads", overrides={"world.pulls": 10_000_000, "world.metrics_every": 100})


@pytest.mark.parametrize("scenario", ["museum", "workshop"])
def test_cli_refuses_a_day_of_endless_ticks_with_one_line(tmp_path, scenario):
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", scenario, "--set", "world.minutes_per_step=1e-300", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert res.output.strip().count("\n") == 0 and "world.minutes_per_step" in res.output
    assert "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.iterdir())  # no run folder, no .partial


# ---- memory of the per-pair tables ----------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "table"),
    [
        ({"visitors.count": 200_000, "floor.exhibits": 20_000}, "visitors.count x floor.exhibits"),
        ({"guides.count": 10_000, "floor.exhibits": 20_000}, "guides.count x floor.exhibits"),
        (
            {"floor.rooms": 5000, "floor.exhibits": 20_000, "visitors.consideration_hops": None},
            "floor.rooms x floor.exhibits x floor.topics",
        ),
        (
            {"floor.rooms": 5000, "floor.exhibits": 20_000, "world.day_minutes": 1440, "world.minutes_per_step": 0.015},
            "world.day_minutes / world.minutes_per_step x floor.rooms",
        ),
    ],
)
def test_venue_tables_over_the_memory_budget_are_refused_at_load(overrides, table):
    with pytest.raises(ConfigError) as err:
        scenarios.load_config("museum", overrides=overrides)
    message = str(err.value)
    assert table in message and "GiB budget" in message and "\n" not in message


def test_ads_exposures_over_the_memory_budget_are_refused():
    bad = {"users": {"count": 1_000_000}, "servers": {"count": 64}, "ads": {"per_server": 1000}}
    with pytest.raises(ValueError, match=r"users.count x servers.count x ads.per_server \(exposures\)"):
        AdsConfig.model_validate(bad)
    assert sum(AdsConfig().table_bytes().values()) < 2**20


def test_the_largest_generated_floor_with_defaults_is_allowed():
    cfg = scenarios.load_config("museum", overrides={"floor.rooms": 5000, "floor.exhibits": 20_000})
    assert sum(cfg.table_bytes().values()) <= limits.MEMORY_BUDGET_BYTES


@pytest.mark.parametrize(
    ("config", "overrides"),
    [
        ("museum-small", {}),
        ("museum-large", {}),
        ("museum-small", {"floor.rooms": 400, "floor.exhibits": 3000, "visitors.count": 50}),
        ("museum-small", {"visitors.consideration_hops": None}),
    ],
)
def test_the_estimate_covers_the_tables_the_model_allocates(config, overrides):
    cfg = scenarios.load_config("museum", config, overrides)
    est = cfg.table_bytes()
    m = VenueModel(cfg, seed=0)
    choice = sum(a.nbytes for a in (m.consider, m._consider_walk, m._consider_here, m._consider_feat))
    assert choice <= est["floor.rooms x floor.exhibits x floor.topics (choice tables)"]
    assert m.floor.dist_min.nbytes <= est["floor.rooms x floor.rooms (walking minutes)"]
    assert m.item_zone_dist.nbytes <= est["floor.rooms x floor.exhibits (walking minutes)"]
    assert m.pop.visited.nbytes + m.pop.top_items.nbytes <= est["visitors.count x floor.exhibits (top items, visited)"]


def test_a_floor_plan_over_the_budget_is_refused_before_its_table(monkeypatch):
    monkeypatch.setattr(limits, "MEMORY_BUDGET_BYTES", 10_000)
    g = nx.path_graph(40)
    with pytest.raises(ConfigError, match=r"floor \(40 zones, 1 items\): zones x zones"):
        make_floor(g, entrance=0, item_zone=[1], item_features=[[1.0]], item_attraction=[0.5],
                   item_capacity=[5], item_dwell=[1.0], item_names=["x"], topics=["t"])  # fmt: skip


# ---- all-pairs walking minutes ---------------------------------------------------------------
def _random_floor(rng: np.random.Generator, n: int) -> nx.Graph:
    g = nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=int(rng.integers(2**31)))
    for u, v in g.edges:
        g.edges[u, v]["walk_min"] = float(rng.choice([0.0, 0.25, 1.5, rng.random() * 3]))
    return g


@pytest.mark.parametrize("seed", range(5))
def test_walking_minutes_match_floyd_warshall(seed):
    rng = np.random.default_rng(seed)
    g = _random_floor(rng, int(rng.integers(5, 150)))
    ours = walking_minutes(g)
    floyd = nx.floyd_warshall_numpy(g, nodelist=range(g.number_of_nodes()), weight="walk_min")
    np.testing.assert_allclose(ours, floyd, rtol=0, atol=1e-12)


def test_walking_minutes_are_exact_where_sums_are_exact():
    # Edge weights in quarters add up exactly in any order, so both algorithms agree to the bit,
    # and a door of 0 minutes is still a door.
    rng = np.random.default_rng(7)
    g = nx.connected_watts_strogatz_graph(80, 4, 0.3, seed=7)
    for u, v in g.edges:
        g.edges[u, v]["walk_min"] = float(rng.integers(0, 8)) / 4
    floyd = nx.floyd_warshall_numpy(g, nodelist=range(80), weight="walk_min")
    assert np.array_equal(walking_minutes(g), floyd)


def test_shipped_floors_keep_their_walking_minutes():
    for name in ("museum-small", "museum-large"):
        fl = VenueModel(scenarios.load_config("museum", name), seed=0).floor
        floyd = nx.floyd_warshall_numpy(fl.graph, nodelist=range(fl.n_zones), weight="walk_min")
        np.testing.assert_allclose(fl.dist_min, floyd, rtol=0, atol=1e-12)


def test_a_2000_room_floor_builds_in_well_under_floyd_warshalls_time():
    start = time.perf_counter()
    plan = generate_floor(np.random.default_rng(0), rooms=2000, items=50, topics=4)
    took = time.perf_counter() - start
    assert plan.dist_min.shape == (2000, 2000) and np.isfinite(plan.dist_min).all()
    assert took < 5.0, f"{took:.1f} s (Floyd–Warshall took about 16 s)"
