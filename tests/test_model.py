"""The Mesa world: invariants over many steps, determinism, floor plans, kernels."""

from __future__ import annotations

import json
import pickle

import networkx as nx
import numpy as np
import pytest

import scenarios
from cpss.kit.config import ConfigError
from cpss.kit.floorplan import generate_floor, load_floor, make_floor
from cpss.kit.stats import gini
from cpss.venue import crowd
from cpss.venue.equations import attention
from cpss.venue.guides import Guide
from cpss.venue.metrics import MODEL_REPORTERS, summary
from cpss.venue.model import VenueModel
from cpss.venue.params import FatigueParams
from cpss.venue.users import Activity, User


def _model(overrides, seed=1, policy=None):
    return VenueModel(scenarios.load_config("museum", "museum-small", overrides), seed=seed, policy=policy)


def _check_invariants(m: VenueModel) -> None:
    p = m.pop
    arrived = int(p.arrived.sum())
    assert arrived == int(p.present.sum()) + int((p.state == Activity.LEFT).sum())
    occ = crowd.counts(p.zone, p.present, m.floor.n_zones)
    assert (occ >= 0).all() and (occ <= m.capacity).all()
    viewers = crowd.counts(p.target_item, p.state == Activity.VIEWING, m.floor.n_items)
    assert (viewers <= m.floor.item_capacity).all()
    assert np.isfinite(p.satisfaction).all() and np.isfinite(p.trust).all()
    assert ((p.trust >= 0) & (p.trust <= 1)).all()
    served = m.guides.visitor[m.guides.visitor >= 0]
    assert len(set(served.tolist())) == served.size  # a user has at most one guide
    assert (p.slot[served] >= 0).all() and p.present[served].all()
    assert len(m.agents_by_type[User]) == int(p.present.sum())
    for key, value in summary(m).items():  # means over an empty set of users are NaN (docs/metrics.md)
        assert np.isfinite(value) or (np.isnan(value) and key not in MODEL_REPORTERS), key


@pytest.mark.parametrize("policy", ["none", "random", "nearest", "interest", "crowd_aware", "popular"])
def test_invariants_hold_every_tick(policy):
    m = _model({}, seed=3, policy=policy)
    while m.running:
        m.step()
        _check_invariants(m)
    assert m.steps == 240 and int(m.pop.present.sum()) == 0
    assert int(m.pop.arrived.sum()) == 200


def test_invariants_under_heavy_crowding():
    m = _model({"visitors": {"count": 600}, "floor": {"room_area": 10.0}}, seed=5)
    while m.running:
        m.step()
        _check_invariants(m)
    assert m.peak_ratio > 1.0


def test_same_seed_same_day_different_seed_different_day():
    frames = []
    for seed in (11, 11, 12):
        m = _model({}, seed=seed)
        while m.running:
            m.step()
        frames.append(m.datacollector.get_model_vars_dataframe())
    assert len(frames[0]) == 241  # collected at build and after each of 240 ticks
    assert frames[0].equals(frames[1])
    assert not frames[0].equals(frames[2])


def test_entities_are_thin_handles():
    m = _model({}, seed=2)
    for _ in range(90):
        m.step()
    users = list(m.agents_by_type[User])
    assert users
    u = users[0]
    assert u.zone == int(m.pop.zone[u.idx]) and u.cell is m.grid[u.zone]
    assert 0.0 <= u.fatigue <= 1.0 and u.style in m.style_names
    guides = list(m.agents_by_type[Guide])
    assert len(guides) == 8 and all(0.0 <= g.acceptance_rate <= 1.0 for g in guides)


def test_model_pickles():
    m = _model({}, seed=2)
    for _ in range(20):
        m.step()
    clone = pickle.loads(pickle.dumps(m))
    for _ in range(20):
        m.step()
        clone.step()
    np.testing.assert_equal(summary(m), summary(clone))


def test_floor_generator_is_valid_and_seeded():
    a = generate_floor(np.random.default_rng(0), rooms=12, items=40, topics=6)
    b = generate_floor(np.random.default_rng(0), rooms=12, items=40, topics=6)
    assert nx.is_connected(a.graph) and sorted(a.graph.nodes) == list(range(12))
    assert nx.utils.graphs_equal(a.graph, b.graph)
    np.testing.assert_array_equal(a.item_zone, b.item_zone)
    assert (a.item_zone != a.entrance).all()
    np.testing.assert_allclose(np.linalg.norm(a.item_features, axis=1), 1.0)


def _plan_doc():
    return {
        "topics": ["art", "science"],
        "entrance": "Hall",
        "zones": [
            {"name": "Hall", "area": 50, "capacity": 30},
            {"name": "Egypt", "area": 40, "capacity": 20},
            {"name": "Rome", "area": 40, "capacity": 20},
        ],
        "doors": [{"a": "Hall", "b": "Egypt", "walk_min": 0.3}, {"a": "Egypt", "b": "Rome"}],
        "items": [
            {"name": "Mask", "zone": "Egypt", "topics": [1, 0]},
            {"name": "Statue", "zone": "Rome", "topics": [0.5, 0.5], "capacity": 3},
        ],
    }


def test_load_json_floor_relabels_to_integers(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_plan_doc()))
    plan = load_floor(path)
    assert sorted(plan.graph.nodes) == [0, 1, 2]
    assert plan.zone_names[plan.entrance] == "Hall"
    assert plan.dist_min[plan.entrance, plan.item_zone[1]] == pytest.approx(0.5)


def test_load_graphml_floor(tmp_path):
    g = nx.Graph()
    g.add_node("Hall", area=50.0, capacity=30, entrance="true")
    g.add_node("Gallery", area=40.0, capacity=20)
    g.add_node("Vase", kind="item", zone="Gallery", topics="0.2,0.8")
    g.add_edge("Hall", "Gallery", walk_min=0.4)
    path = tmp_path / "plan.graphml"
    nx.write_graphml(g, path)
    plan = load_floor(path)
    assert plan.n_zones == 2 and plan.n_items == 1 and plan.zone_names[plan.entrance] == "Hall"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["doors"].pop(), "disconnected"),
        (lambda d: d["items"][0].update(zone="Atlantis"), "unknown zone 'Atlantis'"),
        (lambda d: d.update(entrance="Roof"), "entrance 'Roof'"),
        (lambda d: d["zones"][1].update(capacity=0), "capacity must be > 0"),
        (lambda d: d["items"][0].pop("topics"), "missing key 'topics'"),
    ],
)
def test_bad_floor_files(tmp_path, edit, message):
    doc = _plan_doc()
    edit(doc)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=message):
        load_floor(path)


def test_make_floor_rejects_self_loops():
    g = nx.Graph([(0, 1), (1, 1)])
    for z in g.nodes:
        g.nodes[z].update(area=10, capacity=5)
    with pytest.raises(ConfigError, match="self-loop"):
        make_floor(
            g,
            entrance=0,
            item_zone=[1],
            item_features=[[1.0]],
            item_attraction=[0.5],
            item_capacity=[2],
            item_dwell=[1.0],
            item_names=["x"],
            topics=["t"],
        )


def test_admit_respects_free_places_and_priority():
    rng = np.random.default_rng(0)
    cand = np.arange(6)
    bins = np.array([0, 0, 0, 1, 1, 2])
    ok = crowd.admit(rng, cand, bins, np.array([2, 5, 0]), priority=np.array([3.0, 1.0, 2.0, 0, 0, 0]))
    assert set(ok.tolist()) == {1, 2, 3, 4}


@pytest.mark.parametrize(("values", "expected"), [([1, 1, 1, 1], 0.0), ([0, 0, 0, 4], 0.75), ([], 0.0), ([-1, 2], 0.5)])
def test_gini(values, expected):
    assert gini(np.array(values, dtype=float)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("elapsed", "walked", "expected"),
    [(0.0, 0.0, 1.0), (30.0, 0.0, 1.0), (75.0, 0.0, np.exp(-1.0)), (20.0, 10.0, 1.0), (30.0, 45.0, np.exp(-1.0))],
)
def test_attention_falls_after_onset(elapsed, walked, expected):
    got = attention(
        np.array(elapsed), np.array(walked), FatigueParams(fatigue_onset=30.0, fatigue_tau=45.0, walk_fatigue=1.0)
    )
    assert got == pytest.approx(expected)


def test_closure_keeps_people_out_of_closed_exhibits():
    m = _model({"context": {"closures": [{"zone": 3, "start": 0, "end": 240}]}}, seed=4)
    closed_items = np.flatnonzero(m.floor.item_zone == 3)
    while m.running:
        m.step()
    assert closed_items.size and not m.pop.visited[:, closed_items].any()


def test_bad_closure_zone_names_the_field():
    with pytest.raises(ConfigError, match=r"context.closures\[0\].zone"):
        _model({"context": {"closures": [{"zone": 99, "start": 0, "end": 10}]}})
