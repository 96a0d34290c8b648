"""Named parameter records of the venue: one declaration per family, read by name everywhere.

Every constant an equation of the venue reads lives in one family below (a ``NamedTuple`` of
floats), and the families travel together as one :class:`VenueParams` record. numpy code, the
numba kernels (numba compiles named tuples: ``prm.fatigue.fatigue_tau`` is a field access in
compiled code) and the torch engine all read fields by name; nothing is packed by position, so
adding a field shifts nothing.

A family's fields are filled from the config by name (:func:`read`): each field is looked up
in the config sections listed for its family in :data:`SOURCES` (exactly one section must
have it), or taken from :data:`RENAMED`, or is one of the model's fixed constants in
:data:`CONSTANTS` (which keep their declared default). A field that is none of these is an
error when the model is built. So a new crowd constant needs its config field (in
:mod:`cpss.venue.config`) and its declaration here (or in :class:`cpss.kit.personalisation.FParams`
for a constant of ``f``), and nothing else to reach every backend.
"""

from __future__ import annotations

from typing import Any, NamedTuple, get_type_hints

import numpy as np

from cpss.kit.personalisation import FParams, FWeights
from cpss.venue.config import VenueConfig


class FatigueParams(NamedTuple):
    """Museum fatigue: attention falls after an onset, faster with walking (section ``visitors``)."""

    fatigue_onset: float = 30.0
    """Minutes in the venue before attention starts to fall (Falk et al. 1985)."""
    fatigue_tau: float = 45.0
    """Minutes for attention to fall by 1/e after the onset [U]."""
    walk_fatigue: float = 1.0
    """Minutes of fatigue per walking minute [U]."""
    attention_floor: float = 0.15
    """Users leave when attention falls below this [U]."""


class ChoiceParams(NamedTuple):
    """Users' own choice between stopping, wandering and leaving (section ``visitors``)."""

    browse_bias: float = -1.5
    """Utility of wandering to a neighbouring room [U]."""
    leave_bias: float = -1.5
    """Utility of leaving when fresh [U]."""
    leave_fatigue: float = 4.0
    """Utility of leaving added at full fatigue [U]."""


class DwellParams(NamedTuple):
    """Dwell time of a stop: ``median · style · (base + match) · exp(sigma · N(0, 1))`` (fixed constants)."""

    dwell_sigma: float = 0.85
    """Log-sd of dwell times (lognormal, calibration-museum.md §8)."""
    dwell_base: float = 0.5
    """Dwell scale at zero interest match [U]."""


class CrowdParams(NamedTuple):
    """Crowd fields and crowd behaviour outside the sum of ``f`` (section ``crowd``)."""

    crowd_noise: float = 0.3
    """Noise occupancy adds at comfortable capacity [U]."""
    view_m2: float = 1.2
    """m² of viewing zone per viewing place: HCM queuing LOS A/B boundary (calibration §4.3 [D])."""
    view_quality_rate: float = 0.5
    """Fall of viewing quality per p/m² above rho_view: exp(-b(ρ - ρ*)), shape of calibration §8.2 [U]."""
    skip_quality: float = 0.5
    """Viewing quality below which an arriving visitor skips the exhibit [U]."""
    balk_excess: float = 0.15
    """p/m² above rho_star at which visitors balk at a room (0.65 p/m², near Fruin LOS D/E) [U]."""
    queue_patience: float = 10.0
    """Minutes before a user gives up a queue or a full door [U]."""
    cohesion: float = 0.8
    """Chance that companions follow their leader [U]."""


class GuideParams(NamedTuple):
    """The guides' heuristics and what they learn (section ``guides``)."""

    crowd_weight: float = 1.0
    """``crowd_aware``, ``crowd_coordinated``: weight of sensed congestion."""
    spread_temperature: float = 0.0
    """``crowd_coordinated``: softmax temperature of the assignment (0: the best item)."""
    trust_lr: float = 0.1
    """Learning rate of trust after a guided visit."""
    estimate_lr: float = 0.3
    """Learning rate of the interest estimates."""
    trust_reference: float = 0.5
    """Satisfaction of a guided visit that counts as fully good for trust [U]."""
    signal_noise: float = 0.1
    """Standard deviation of the interest match a guide observes after a visit [U]."""


class VenueParams(NamedTuple):
    """Every parameter family of the venue, passed to kernels as one record."""

    w: FWeights
    f: FParams
    fatigue: FatigueParams
    choice: ChoiceParams
    dwell: DwellParams
    crowd: CrowdParams
    guide: GuideParams


SOURCES: dict[type, tuple[str, ...]] = {
    FWeights: ("f",),
    FParams: ("crowd", "context", "guides", "f"),
    FatigueParams: ("visitors",),
    ChoiceParams: ("visitors",),
    DwellParams: (),
    CrowdParams: ("crowd",),
    GuideParams: ("guides",),
}
"""Config sections each family's fields are read from (by field name)."""

RENAMED = {"n_sat": ("visitors", "satiation_n")}
"""Fields whose config key has another name: field -> (section, key)."""

CONSTANTS = {"dwell_sigma", "dwell_base", "trust_reference", "signal_noise"}
"""Fields that are model constants, not config keys: they keep their declared default."""


def read(family: type, config: VenueConfig) -> Any:
    """One family's record with every field read by name from ``config``.

    Raises:
        TypeError: A field is in no listed section (and is no constant), or in more than one.
    """
    values: dict[str, float] = {}
    for name in family._fields:  # type: ignore[attr-defined]
        if name in RENAMED:
            section, key = RENAMED[name]
            values[name] = float(getattr(getattr(config, section), key))
            continue
        if name in CONSTANTS:
            continue
        hits = [s for s in SOURCES[family] if name in type(getattr(config, s)).model_fields]
        if len(hits) != 1:
            where = ", ".join(hits) or f"none of {SOURCES[family]}"
            raise TypeError(f"{family.__name__}.{name}: expected in exactly one config section, found in {where}")
        values[name] = float(getattr(getattr(config, hits[0]), name))
    return family(**values)


def venue_params(config: VenueConfig) -> VenueParams:
    """All families of the venue, read from ``config``."""
    return VenueParams(**{name: read(kind, config) for name, kind in get_type_hints(VenueParams).items()})


class StyleTable(NamedTuple):
    """Per-style behaviour as arrays indexed by style (rows of :class:`cpss.venue.config.StyleSection`)."""

    selectivity: np.ndarray
    stop_bias: np.ndarray
    order_bonus: np.ndarray
    walk_sensitivity: np.ndarray
    dwell_mult: np.ndarray

    @classmethod
    def of(cls, styles: list[Any]) -> StyleTable:
        """The table of a list of styles (objects with the fields of this table)."""
        return cls(**{name: np.array([float(getattr(s, name)) for s in styles]) for name in cls._fields})
