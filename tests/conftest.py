"""Shared fixtures: tiny configs and a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest

SEED = 1234


@pytest.fixture
def tiny_overrides() -> dict:
    """A small, fast museum (6 rooms, 12 exhibits, 60 visitors, 3 guides, 2 hours)."""
    return {
        "world": {"day_minutes": 120, "last_entry_before_close": 30},
        "floor": {"rooms": 6, "exhibits": 12, "topics": 4, "room_area": 20.0},
        "visitors": {"count": 60, "budget_median": 40.0},
        "guides": {"count": 3, "device_share": 0.5},
    }


def masked_random_actions(infos: dict, rng: np.random.Generator) -> dict:
    """One uniformly random valid action per agent from its action mask."""
    return {a: int(rng.choice(np.flatnonzero(i["action_mask"]))) for a, i in infos.items()}
