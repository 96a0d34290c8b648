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
            fl.item_features, fl.item_zone, fl.dist_min, model.sensed, model.area, fl.item_attraction, model.params,
            recs,
        )  # fmt: skip
        expected = POLICY_FUNCTIONS[policy](model.decision_view(), np.random.default_rng(0))
        np.testing.assert_array_equal(recs, expected, err_msg=f"tick {model.steps}")
        compared += int((expected >= 0).sum())
        model.step()
    assert compared > 100  # many real recommendations were compared, not only idle guides
