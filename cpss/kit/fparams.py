"""The named records of ``f``: the term weights :class:`FWeights` and the constants :class:`FParams`.

:mod:`cpss.kit.personalisation` holds the terms themselves and re-exports both records; worlds
fill them by name from their config (:func:`cpss.venue.params.read` for the venue).

The weights of the config (``f.user`` … ``f.environment``) are what the visitors *decide* with:
a weight of 0 makes them blind to that term when they accept a recommendation, choose an
exhibit, balk, skip or follow. What a visit is *worth* to them is scored with :data:`FELT`,
every term at its own scale, whatever the decision weights: ablating a term changes behaviour,
not the measuring stick.
"""

from __future__ import annotations

from typing import NamedTuple

from cpss.kit.config import FTerms

TERMS = ("user", "personaliser", "crowd", "context", "environment")


class FWeights(NamedTuple):
    """Weights of the five terms of ``f`` (0 switches a term off); see :class:`cpss.kit.config.FTerms`."""

    user: float = 1.0
    personaliser: float = 1.0
    crowd: float = 1.0
    context: float = 1.0
    environment: float = 1.0

    @classmethod
    def of(cls, terms: FTerms | FWeights | None) -> FWeights:
        """The weights of a config section (extra fields of the section are ignored)."""
        if terms is None:
            return cls()
        if isinstance(terms, FWeights):
            return terms
        return cls(**{name: float(getattr(terms, name)) for name in cls._fields})


FELT = FWeights()
"""The weights a visit is experienced with (every term at 1): realised satisfaction, the crowding
remembered of the visit and the trust it earns do not depend on the decision weights of the config."""


class FParams(NamedTuple):
    """Constants inside the terms of ``f`` (not ablation weights). [U] marks an assumption."""

    n_sat: float = 10.0
    """Satiation constant (exhibits of a topic); calibration-museum.md §9 [U]."""
    content_bonus: float = 0.3
    """Value of a guide's content for a fully trusting visitor [U]."""
    social_proof: float = 0.2
    """Maximum social-proof gain (Milgram 1969 direction, value [U])."""
    social_scale: float = 3.0
    """Viewers at which social proof is 63% of its maximum [U]."""
    rho_star: float = 0.5
    """Density (p/m²) at which a room is perceived as crowded (calibration-museum.md §4.3, §9)."""
    congestion_penalty: float = 0.5
    """Satisfaction lost per p/m² above rho_star (−0.05 per 0.1 p/m², calibration §9 [U])."""
    rho_view: float = 1.0
    """Viewing-zone density (p/m²) above which others block the view (calibration §8.2, §9 [D])."""
    view_penalty: float = 0.5
    """Satisfaction lost per p/m² of viewing-zone density above rho_view [U]."""
    wait_cost: float = 0.02
    """Satisfaction lost per minute of queueing [U]."""
    noise_sensitivity: float = 0.2
    """Satisfaction lost at full noise, ambient (context) or made by occupancy (crowd) [U]."""
    crowd_memory: float = 1.0
    """Weight of the crowding remembered of the whole visit, mean of its peak and its end [U]."""
    event_bonus: float = 0.2
    """Satisfaction gained from a running event [U]."""
    attraction_weight: float = 0.4
    """Weight of an item's intrinsic attraction [U]."""
    walk_cost: float = 0.03
    """Satisfaction lost per walking minute [U]."""
    accept_bias: float = -1.5
    """Acceptance logit at zero utility (0.5 acceptance at utility 0.375) [U]."""
    accept_sharpness: float = 4.0
    """Acceptance logit gained per unit of utility [U]."""
