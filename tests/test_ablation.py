"""Ablating one term of ``f`` removes exactly its influence on the visitors' decisions.

Direct influence (the crowd term ``cr``: density, viewing zones, queues, the noise occupancy makes,
social proof, companions, balking, skipping, views cut short, remembered crowding) and indirect
influence (the context term ``cx``: ambient noise, events) are kept apart: with ``f.crowd = 0`` the
visitors' decisions do not depend on where the other visitors are, and with ``f.context = 0`` they
do not depend on ambient noise or events. Closures are hard constraints, not a term of ``f``: with
the context term off, closed exhibits stay closed. The guides' heuristics are the personaliser's own
scores, not terms of ``f``, so the tests use the crowd-blind ``interest`` guide.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import scenarios
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
