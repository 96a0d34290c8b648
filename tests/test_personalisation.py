"""Table-driven tests of each term of f and of their combination."""

from __future__ import annotations

import numpy as np
import pytest

from cpss.kit.config import FTerms
from cpss.kit.personalisation import (
    TERMS,
    FParams,
    PersonalisationFunction,
    context_term,
    crowd_term,
    environment_term,
    pair_dot,
    personaliser_term,
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


CROWD = {"social_proof": 0.2, "social_scale": 3.0, "rho_star": 0.5, "congestion_penalty": 0.5, "wait_cost": 0.02}


@pytest.mark.parametrize(
    ("viewers", "density", "wait", "expected"),
    [
        (0, 0.0, 0.0, 0.0),
        (3, 0.0, 0.0, 0.2 * (1 - np.exp(-1.0))),  # social proof saturates
        (0, 0.5, 0.0, 0.0),  # at the crowding threshold: no penalty yet
        (0, 1.5, 0.0, -0.5),  # 1 p/m² above the threshold
        (0, 0.0, 10.0, -0.2),  # ten minutes of queueing
        (1000, 0.0, 0.0, 0.2),
    ],
)
def test_crowd_term(viewers, density, wait, expected):
    got = crowd_term(np.array(float(viewers)), np.array(density), np.array(wait), FParams(**CROWD))
    assert got == pytest.approx(expected, abs=1e-9)


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
        queue_wait=np.array(0.0),
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
