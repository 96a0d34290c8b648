"""The compiled guide kernel picks what the numpy heuristic policies pick, tick after tick."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from cpss.venue.guides import POLICY_FUNCTIONS
from cpss.venue.kernels import guides as kg
from cpss.venue.kernels.choice import POLICY_CODES
from cpss.venue.model import VenueModel


@pytest.mark.parametrize("policy", [name for name, code in POLICY_CODES.items() if code])
def test_guide_picks_equal_the_numpy_policy(policy):
    cfg = scenarios.load_config("museum", "museum-small", {"guides": {"count": 12, "device_share": 0.6}})
    model = VenueModel(cfg, seed=3, policy=policy)
    compared = 0
    while model.running and model.steps < 150:
        g, p, fl = model.guides, model.pop, model.floor
        recs = np.full(g.size, -1, dtype=np.int64)
        kg.guide_picks(
            POLICY_CODES[policy], g.visitor, g.estimate, p.state, p.zone, p.satiation, p.visited, model.item_open(),
            fl.item_features, fl.item_zone, fl.dist_min, model.sensed, model.area, fl.item_attraction,
            model.kernel_params, recs,
        )  # fmt: skip
        expected = POLICY_FUNCTIONS[policy](model.decision_view(), np.random.default_rng(0))
        np.testing.assert_array_equal(recs, expected, err_msg=f"tick {model.steps}")
        compared += int((expected >= 0).sum())
        model.step()
    assert compared > 100  # many real recommendations were compared, not only idle guides


def test_interest_estimates_update_alike_in_numpy_numba_and_torch():
    import torch

    from cpss.batched import ops
    from cpss.venue.equations import observed_match
    from cpss.venue.guides import update_estimate
    from cpss.venue.kernels.visits import refine_estimates

    model = VenueModel(scenarios.load_config("museum", "museum-small"), seed=0)
    rng = np.random.default_rng(1)
    k, n_topics, n_items = 6, 5, 9
    features = rng.random((n_items, n_topics))
    estimate = rng.random((k, n_topics))
    estimate[0] = 0.0  # an estimate that stays all zero is kept
    estimate /= np.maximum(np.linalg.norm(estimate, axis=1, keepdims=True), 1e-12)
    done = np.arange(k)  # user v is served by guide v and has just viewed item items[v]
    items = rng.integers(0, n_items, k)
    match, normals = rng.random(k), rng.standard_normal(k)
    signal = observed_match(match, normals, model.params.guide)
    expected = update_estimate(estimate, features[items], signal, model.params.guide)
    compiled = estimate.copy()
    refine_estimates(done, match, normals, done.copy(), items, features, compiled, model.kernel_params)
    via_torch = ops.update_estimate(
        torch.as_tensor(estimate), torch.as_tensor(features[items]), torch.as_tensor(signal), model.params.guide
    ).numpy()
    assert not np.allclose(expected, estimate)  # the step moved the estimates
    np.testing.assert_allclose(compiled, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(via_torch, expected, rtol=1e-12, atol=1e-12)
