"""The fast array kernels agree with the straightforward per-agent reference implementation."""

from __future__ import annotations

import numpy as np
import pytest
from reference_venue import ReferenceVenueModel, reference_admit

import scenarios
from cpss.venue import crowd
from cpss.venue.metrics import summary
from cpss.venue.model import VenueModel


@pytest.mark.parametrize("policy", ["none", "crowd_aware"])
def test_fast_day_equals_reference_day(policy):
    cfg = scenarios.load_config(
        "museum",
        "museum-small",
        {
            "visitors": {"count": 120},
            "world": {"day_minutes": 150, "last_entry_before_close": 40},
            "context": {"events": [{"zone": 2, "start": 30, "end": 90}]},
        },
    )
    fast, ref = VenueModel(cfg, seed=9, policy=policy), ReferenceVenueModel(cfg, seed=9, policy=policy)
    while fast.running:
        fast.step()
        ref.step()
        np.testing.assert_array_equal(fast.pop.state, ref.pop.state)
        np.testing.assert_array_equal(fast.pop.target_item, ref.pop.target_item)
        np.testing.assert_allclose(fast.pop.satisfaction, ref.pop.satisfaction, rtol=1e-9, atol=1e-12)
    assert not ref.running and fast.steps == ref.steps == 150
    a, b = summary(fast), summary(ref)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12, nan_ok=True), key
    assert a["items_per_visitor"] > 1.0  # the day was not trivial


@pytest.mark.parametrize("seed", range(5))
def test_admit_equals_reference(seed):
    rng = np.random.default_rng(seed)
    n = 200
    cand = rng.choice(1000, size=n, replace=False)
    bins = rng.integers(0, 7, size=n)
    free = rng.integers(-2, 30, size=7)
    prio = rng.integers(0, 5, size=n).astype(float)
    for priority in (None, prio):
        fast = crowd.admit(np.random.default_rng(seed), cand, bins, free, priority)
        ref = reference_admit(np.random.default_rng(seed), cand, bins, free, priority)
        assert sorted(fast.tolist()) == sorted(ref.tolist())
