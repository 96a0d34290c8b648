"""Table-driven tests of each term of f and of their combination."""

from __future__ import annotations

import numpy as np
import pytest

from cpss.kit.config import FTerms
from cpss.kit.personalisation import (
    TERMS,
    FParams,
    FWeights,
    PersonalisationFunction,
    context_term,
    crowd_cost,
    crowd_memory,
    crowd_term,
    environment_term,
    pair_dot,
    personaliser_term,
    social_proof,
    user_term,
)


@pytest.mark.parametrize(
    ("match", "attention", "exposure", "n_sat", "expected"),
    [
        (1.0, 1.0, 0.0, 10.0, 1.0),  # perfect match, fresh, nothing seen
        (0.5, 1.0, 0.0, 10.0, 0.5),
        (1.0, 0.5, 0.0, 10.0, 0.5),  # museum fatigue halves attention
        (1.0, 1.0, 10.0, 10.0, np.exp(-1.0)),  # satiated with the topic
        (1.3, 1.0, 0.0, 10.0, 1.0),  # match is clipped to [0, 1]
        (-0.2, 1.0, 0.0, 10.0, 0.0),
    ],
)
def test_user_term(match, attention, exposure, n_sat, expected):
    got = user_term(np.array(match), np.array(attention), np.array(exposure), FParams(n_sat=n_sat))
    assert got == pytest.approx(expected)


def test_pair_dot_is_all_pairs():
    u = np.array([[1.0, 0.0], [0.0, 1.0]])
    i = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(pair_dot(u, i), [[1.0, 0.6, 0.0], [0.0, 0.8, 1.0]])


@pytest.mark.parametrize(
    ("trust", "guided", "bonus", "expected"),
    [(1.0, 1.0, 0.3, 0.3), (0.5, 1.0, 0.3, 0.15), (1.0, 0.0, 0.3, 0.0), (0.0, 1.0, 0.3, 0.0)],
)
def test_personaliser_term(trust, guided, bonus, expected):
    assert personaliser_term(np.array(trust), np.array(guided), FParams(content_bonus=bonus)) == pytest.approx(expected)


CROWD = {
    "social_proof": 0.2,
    "social_scale": 3.0,
    "rho_star": 0.5,
    "congestion_penalty": 0.5,
    "rho_view": 1.0,
    "view_penalty": 0.5,
    "wait_cost": 0.02,
    "noise_sensitivity": 0.2,
    "crowd_memory": 1.0,
}


@pytest.mark.parametrize(
    ("viewers", "density", "view", "wait", "noise", "expected"),
    [
        (0, 0.0, 0.0, 0.0, 0.0, 0.0),
        (3, 0.0, 0.0, 0.0, 0.0, 0.2 * (1 - np.exp(-1.0))),  # social proof saturates
        (0, 0.5, 1.0, 0.0, 0.0, 0.0),  # at the room and viewing-zone thresholds: no penalty yet
        (0, 1.5, 0.0, 0.0, 0.0, -0.5),  # 1 p/m² above the room threshold
        (0, 0.0, 3.0, 0.0, 0.0, -1.0),  # 2 p/m² above the viewing-zone threshold: others block the view
        (0, 0.0, 0.0, 10.0, 0.0, -0.2),  # ten minutes of queueing
        (0, 0.0, 0.0, 0.0, 0.5, -0.1),  # the noise the occupants make
        (1000, 0.0, 0.0, 0.0, 0.0, 0.2),
    ],
)
def test_crowd_term(viewers, density, view, wait, noise, expected):
    args = (np.array(float(viewers)), np.array(density), np.array(view), np.array(wait), np.array(noise))
    got = crowd_term(*args, FParams(**CROWD))
    assert got == pytest.approx(expected, abs=1e-9)
    assert crowd_cost(*args[1:], FParams(**CROWD)) == pytest.approx(social_proof(args[0], FParams(**CROWD)) - got)


@pytest.mark.parametrize(
    ("peak", "last", "crowd_weight", "expected"),
    [(0.0, 0.0, 1.0, 0.0), (0.4, 0.0, 1.0, -0.2), (0.4, 0.4, 1.0, -0.4), (0.4, 0.2, 0.5, -0.15), (0.4, 0.4, 0.0, 0.0)],
)
def test_crowd_memory_is_peak_end(peak, last, crowd_weight, expected):
    got = crowd_memory(np.array(peak), np.array(last), FWeights(crowd=crowd_weight), FParams(**CROWD))
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("noise", "event", "expected"), [(0.0, 0.0, 0.0), (1.0, 0.0, -0.2), (0.5, 1.0, 0.1), (0.0, 1.0, 0.2)]
)
def test_context_term(noise, event, expected):
    got = context_term(np.array(noise), np.array(event), FParams(noise_sensitivity=0.2, event_bonus=0.2))
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(("attraction", "walk", "expected"), [(1.0, 0.0, 0.4), (0.0, 10.0, -0.3), (0.5, 2.0, 0.14)])
def test_environment_term(attraction, walk, expected):
    got = environment_term(np.array(attraction), np.array(walk), FParams(attraction_weight=0.4, walk_cost=0.03))
    assert got == pytest.approx(expected)


def _inputs(**over):
    base = dict(
        match=np.array(0.8),
        attention=np.array(1.0),
        exposure=np.array(0.0),
        trust=np.array(1.0),
        guided=np.array(1.0),
        viewers=np.array(0.0),
        density=np.array(1.5),
        view_density=np.array(2.0),
        queue_wait=np.array(0.0),
        crowd_noise=np.array(0.3),
        noise=np.array(1.0),
        event=np.array(0.0),
        attraction=np.array(1.0),
        walk_min=np.array(0.0),
    )
    base.update(over)
    return base


def test_utility_is_the_weighted_sum_of_terms():
    f = PersonalisationFunction(FTerms(user=2.0, personaliser=1.0, crowd=0.5, context=1.0, environment=1.0))
    terms = f.terms(**_inputs())
    assert set(terms) == set(TERMS)
    expected = (
        2 * terms["user"] + terms["personaliser"] + 0.5 * terms["crowd"] + terms["context"] + terms["environment"]
    )
    assert f.utility(**_inputs()) == pytest.approx(float(expected))


@pytest.mark.parametrize("term", TERMS)
def test_each_term_can_be_ablated(term):
    full = PersonalisationFunction(FTerms())
    ablated = PersonalisationFunction(FTerms(**{term: 0.0}))
    t = full.terms(**_inputs())
    assert t[term] != 0.0
    assert ablated.utility(**_inputs()) == pytest.approx(float(full.utility(**_inputs()) - t[term]))


def test_acceptance_is_a_monotone_sigmoid():
    f = PersonalisationFunction(params=FParams(accept_bias=-1.5, accept_sharpness=4.0))
    u = np.linspace(-1, 2, 7)
    p = f.acceptance(u)
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))
    assert f.acceptance(np.array(0.375)) == pytest.approx(0.5)
