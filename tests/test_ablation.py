"""Ablating one term of ``f`` removes exactly its influence on the visitors' decisions.

Direct influence (the crowd term ``cr``: density, viewing zones, queues, the noise occupancy makes,
social proof, companions, balking, skipping, views cut short, remembered crowding) and indirect
influence (the context term ``cx``: ambient noise, events) are kept apart: with ``f.crowd = 0`` the
visitors' decisions do not depend on where the other visitors are, and with ``f.context = 0`` they
do not depend on ambient noise or events. Closures are hard constraints, not a term of ``f``: with
the context term off, closed exhibits stay closed. The guides' heuristics are the personaliser's own
scores, not terms of ``f``, so the tests use the crowd-blind ``interest`` guide.

The weights change what visitors decide with, not what a visit is worth: satisfaction, remembered
crowding and trust are scored with every term at 1 (``cpss.kit.fparams.FELT``) in both engines.
And the crowd term points where its definition says: crowd-blind visitors head for denser rooms,
and on a busy day they jam the building, which raises crowding counted where it is (rooms and the
entrance queue), the crowding felt and the waits, and lowers satisfaction.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import scenarios
from cpss.batched.io import from_models, summary
from cpss.batched.venue import BatchedVenue
from cpss.kit.context import Window
from cpss.kit.personalisation import FParams, FWeights
from cpss.venue.equations import balks, follows, skips, viewing_quality
from cpss.venue.model import VenueModel
from cpss.venue.params import CrowdParams
from cpss.venue.users import Activity

A = Activity
BUSY = {"visitors": {"count": 500}, "guides": {"count": 24, "device_share": 0.6}}


def _midday(weights: dict[str, float], seed: int = 2, **extra) -> VenueModel:
    cfg = scenarios.load_config("museum", "museum-small", {**BUSY, "f": weights, **extra})
    m = VenueModel(cfg, seed=seed, policy="interest")
    for _ in range(90):
        m.step()
    return m


def _decisions(m: VenueModel, users: np.ndarray) -> np.ndarray:
    """Decide once with a fixed generator; the outcome of each of ``users`` (item, room, leaving, state)."""
    m.rng = np.random.default_rng(123)
    m._view_cache = m._mask_cache = None
    m._decide()
    p = m.pop
    return np.stack([p.target_item[users], p.target_zone[users], p.leaving[users], p.state[users]])


def _move_the_others(m: VenueModel, rng: np.random.Generator) -> None:
    """Put every visitor who is not deciding into another room and at another exhibit, then refresh."""
    p, fl = m.pop, m.floor
    others = np.flatnonzero(p.present & (p.state != A.DECIDING))
    items = rng.integers(0, fl.n_items, others.size)
    watching = np.isin(p.state[others], [A.VIEWING, A.QUEUING])
    p.target_item[others[watching]] = items[watching]
    p.zone[others] = np.where(watching, fl.item_zone[items], rng.integers(1, fl.n_zones, others.size))


def _pair(m: VenueModel, perturb) -> tuple[np.ndarray, np.ndarray]:
    """Decisions of the deciders of ``m`` as it is and after ``perturb`` (same draws for both)."""
    blob = pickle.dumps(m)
    same, changed = pickle.loads(blob), pickle.loads(blob)
    perturb(changed)
    for world in (same, changed):
        world.rng = world.sensors.rng = np.random.default_rng(7)
        world._refresh_crowd()
    deciders = np.flatnonzero(same.pop.state == A.DECIDING)
    assert deciders.size >= 15
    return _decisions(same, deciders), _decisions(changed, deciders)


@pytest.mark.parametrize("crowd", [0.0, 1.0])
def test_with_the_crowd_term_off_decisions_ignore_where_others_are(crowd):
    m = _midday({"crowd": crowd})
    a, b = _pair(m, lambda w: _move_the_others(w, np.random.default_rng(5)))
    if crowd == 0.0:
        np.testing.assert_array_equal(a, b)
    else:  # the test has power: with the crowd term on, the same move changes decisions
        assert (a != b).any(axis=0).sum() >= 3


def _change_the_context(m: VenueModel) -> None:
    """Other ambient noise in every room, and an event in every room."""
    m.base_noise = np.random.default_rng(9).random(m.floor.n_zones)
    m.events = [Window(z, 0.0, 240.0) for z in range(m.floor.n_zones)]


@pytest.mark.parametrize("context", [0.0, 1.0])
def test_with_the_context_term_off_decisions_ignore_ambient_noise_and_events(context):
    closure = {"context": {"closures": [{"zone": 3, "start": 0, "end": 240}]}}
    m = _midday({"context": context}, **closure)
    a, b = _pair(m, _change_the_context)
    if context == 0.0:
        np.testing.assert_array_equal(a, b)
    else:  # with the context term on, the same change moves decisions
        assert (a != b).any(axis=0).any()
    closed = np.flatnonzero(m.floor.item_zone == 3)  # closures stay hard constraints with the context term off
    assert closed.size and not m.pop.visited[:, closed].any() and not np.isin(a[0], closed).any()


def test_crowd_behaviour_outside_the_sum_follows_the_crowd_weight():
    """Views cut short, skipping, balking and following companions are all off with ``f.crowd = 0``."""
    f, c = FParams(), CrowdParams()
    dense = np.array([0.0, 1.0, 2.0, 4.0])
    off, on = FWeights(crowd=0.0), FWeights()
    np.testing.assert_array_equal(viewing_quality(dense, off, f, c), 1.0)
    assert not skips(dense, off, f, c).any() and not balks(dense, off, f, c).any()
    assert skips(dense, on, f, c)[-1] and balks(dense, on, f, c)[-1]
    assert viewing_quality(dense, on, f, c)[-1] < 1.0
    u = np.linspace(0.0, 0.99, 50)
    assert not follows(u, 0.8, off).any() and follows(u, 0.8, on).mean() == pytest.approx(0.8, abs=0.03)


# ---------------------------------------------------------------- decisions change, the measuring stick does not
def _with_weights(m: VenueModel, **weights: float) -> VenueModel:
    """A copy of ``m`` whose visitors decide with other weights of ``f`` (same state, same draws ahead)."""
    w = pickle.loads(pickle.dumps(m))
    w.params = w.params._replace(w=w.params.w._replace(**weights))
    w.f.weights = w.params.w
    w._choice_tables()
    w._refresh_crowd()
    return w


@pytest.mark.parametrize("term", ["user", "personaliser", "crowd", "context", "environment"])
def test_a_visit_is_scored_the_same_whatever_the_decision_weights(term):
    """Satisfaction, remembered crowding and trust are felt with every term at 1 (``FELT``), in both engines."""
    m = _midday({}, seed=3)
    full, off = _with_weights(m, **{term: 1.0}), _with_weights(m, **{term: 0.0})
    before = full.pop.satisfaction.copy()
    worlds = [full, off]
    batched = [from_models([w]) for w in worlds]
    for w in worlds:
        w._view()
    np.testing.assert_array_equal(full.pop.satisfaction, off.pop.satisfaction)
    np.testing.assert_array_equal(full.pop.trust, off.pop.trust)
    assert (full.pop.satisfaction != before).sum() >= 5  # views did end
    for b, w in zip(batched, worlds, strict=True):
        b.params = w.params
        b._view()
    np.testing.assert_allclose(batched[0].pop.satisfaction.numpy(), batched[1].pop.satisfaction.numpy())
    np.testing.assert_allclose(batched[0].pop.satisfaction.numpy(), full.pop.satisfaction, atol=1e-9)


def test_crowd_blind_visitors_head_for_denser_rooms():
    """On the same crowded state and the same draws, ``f.crowd = 0`` sends deciders to denser rooms."""
    cfg = scenarios.load_config("museum", "museum-busy")
    m = VenueModel(cfg, seed=1, policy="interest")
    for _ in range(100):
        m.step()
    diffs = []
    for r in range(8):
        chosen = []
        for crowd in (1.0, 0.0):
            w = _with_weights(m, crowd=crowd)
            w.rng = np.random.default_rng(r)
            deciders = np.flatnonzero(w.pop.state == A.DECIDING)
            w._decide()
            went = deciders[w.pop.target_item[deciders] >= 0]
            chosen.append(w.density[w.pop.target_zone[went]].mean())
        diffs.append(chosen[1] - chosen[0])
    assert np.mean(diffs) > 0.01 and np.mean(np.array(diffs) > 0) >= 0.75, diffs


def test_switching_off_the_crowd_term_raises_crowding_where_it_is_counted():
    """museum-busy, paired batched days: crowd-blind visitors jam the building.

    Counted in the rooms alone, congestion falls (fewer get in); counted where it is, in the rooms
    and in the queue at the full entrance, crowding rises, the crowding felt rises and satisfaction
    falls (docs/experiments/ablation-table.md).
    """
    torch.set_num_threads(1)
    out = {}
    for crowd in (1.0, 0.0):
        cfg = scenarios.load_config("museum", "museum-busy", {"f": {"crowd": crowd}})
        w = BatchedVenue(cfg, 3, seed=0)
        while w.running:
            w.step()
        s = summary(w)
        arrived = (w.pop.state != A.OUTSIDE).view(3, -1)
        out[crowd] = {
            "crowded": (s["congestion_minutes"] + w.entry_queue_minutes).numpy(),
            "felt": ((w.pop.crowd_peak.view(3, -1) * arrived).sum(1) / arrived.sum(1)).numpy(),
            "satisfaction": s["mean_satisfaction"].numpy(),
            "wait": s["mean_wait"].numpy(),
        }
    blind, aware = out[0.0], out[1.0]
    assert (blind["crowded"] > aware["crowded"]).all(), (blind["crowded"], aware["crowded"])
    assert (blind["felt"] > aware["felt"]).all()
    assert (blind["wait"] > aware["wait"]).all()
    assert (blind["satisfaction"] < aware["satisfaction"]).all()
