"""The defaults reproduce the published visitor aggregates (docs/model.md §4).

Targets from Castro, Botella & Asensio 2016 (Serrell's data pooled; calibration-museum.md §2.2,
§9): 0.35 stops per exhibit (95% CI 0.33–0.38) and 30% diligent visitors (23–39%), a diligent
visitor stopping at more than half of the exhibits. Measured on ``museum-small`` with no guides
(free roaming), as the mean over 20 days of the per-day figures.
"""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from cpss.venue.model import VenueModel


def _day(seed: int) -> tuple[float, float]:
    cfg = scenarios.load_config("museum", "museum-small", {"guides": {"policy": "none"}})
    m = VenueModel(cfg, seed=seed)
    while m.running:
        m.step()
    share = m.pop.n_viewed[m.pop.arrived] / m.floor.n_items
    return float(share.mean()), float(np.mean(share > 0.5))


@pytest.mark.slow
def test_museum_small_stops_and_diligent_visitors_are_in_the_published_ranges():
    days = np.array([_day(seed) for seed in range(20)])
    stops, diligent = days.mean(axis=0)
    assert 0.33 <= stops <= 0.38, stops
    assert 0.23 <= diligent <= 0.39, diligent
