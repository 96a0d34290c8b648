"""The equations of the venue world, each once per form: numpy/numba beside torch.

The terms of ``f`` (user, personaliser, crowd with :func:`~cpss.kit.personalisation.social_proof`
and :func:`~cpss.kit.personalisation.crowding`, context, environment), their weighted sum and
the acceptance probability are the kit's (:mod:`cpss.kit.personalisation`); this module holds
the rest of the venue's behaviour:

* :func:`attention` — museum fatigue (Falk et al. 1985 onset, exponential fall, walking tires);
* :func:`tired` — the user leaves: out of time budget or below the attention floor;
* :func:`choice_utility`, :func:`stop_value`, :func:`leave_value` — the user's own two-stage
  choice (which unseen item looks best, then stop / wander / leave);
* :func:`dwell_time` — how long a stop lasts (lognormal, scaled by style, interest and viewing
  quality);
* :func:`expected_wait`, :func:`density`, :func:`view_density`, :func:`zone_noise`,
  :func:`occupancy_noise` — the crowd fields of a tick;
* :func:`viewing_quality`, :func:`skips`, :func:`balks`, :func:`follows` — what other visitors
  make a visitor do outside the sum of ``f`` (cut a view short, skip an exhibit it cannot see,
  balk at a crowded room, follow its companions); each is scaled by the crowd weight ``f.crowd``,
  so that ablating the crowd term removes it;
* :func:`novelty`, :func:`interest_score`, :func:`crowd_aware_score`, :func:`marginal_crowding`,
  :func:`coordinated_score` — the guides' heuristics;
* :func:`trust_update` — trust moves toward how good a guided visit was;
* :func:`observed_match`, :func:`estimate_step` — what a guide learns of its user's interests
  (then renormalised to a unit vector).

Inputs broadcast (numpy arrays or tensors) or are scalars (inside the numba kernels, which call
these functions by name); constants come by name from the records of :mod:`cpss.venue.params`.
Where a body is plain arithmetic, the one function is also the torch form. ``register``
records both forms for ``tests/test_equations.py``.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.equations import (
    COUNT,
    DENSITY,
    EXPOSURE,
    FLAG,
    MINUTES,
    NORMAL,
    SIGNED_UNIT,
    UNIT,
    UTILITY,
    Domain,
    register,
)
from cpss.kit.personalisation import FParams, FWeights, crowding, crowding_torch, user_term, user_term_torch
from cpss.venue.params import ChoiceParams, CrowdParams, DwellParams, FatigueParams, GuideParams

CAPACITY = Domain(1, 40, integer=True, edges=(1.0,))
"""Places at an item or persons a room holds comfortably (>= 1)."""
AREA = Domain(5.0, 400.0, edges=(5.0,))
"""Floor area in m²."""
STYLE = Domain(0.0, 8.0, edges=(0.0, 1.0))
"""A style's coefficient (selectivity, walking sensitivity, dwell multiplier…)."""


# ---------------------------------------------------------------- users: fatigue
def attention(elapsed, walked, p: FatigueParams):
    """Attention in (0, 1]: ``exp(-max(0, elapsed + walk_fatigue · walked - fatigue_onset) / fatigue_tau)``.

    Args:
        elapsed: Minutes since the user entered.
        walked: Minutes the user has walked.
        p: Fatigue constants.
    """
    return np.exp(-np.maximum(elapsed + p.walk_fatigue * walked - p.fatigue_onset, 0.0) / p.fatigue_tau)


def attention_torch(elapsed, walked, p: FatigueParams):
    """Torch form of :func:`attention`."""
    return (-(elapsed + p.walk_fatigue * walked - p.fatigue_onset).clamp(min=0.0) / p.fatigue_tau).exp()


register(attention, attention_torch, params=(FatigueParams,), elapsed=MINUTES, walked=MINUTES)


def tired(elapsed, budget, attention, p: FatigueParams):
    """A deciding user heads for the exit: ``elapsed >= budget`` or ``attention < attention_floor`` (one form)."""
    return (elapsed >= budget) | (attention < p.attention_floor)


register(tired, params=(FatigueParams,), elapsed=MINUTES, budget=MINUTES, attention=UNIT)


# ---------------------------------------------------------------- users: own choice
def choice_utility(match, attention, exposure, walk, item, walk_sensitivity, w: FWeights, p: FParams):
    """How good an unseen item looks to a user choosing alone.

    ``w_user · user_term + walk_sensitivity · walk + item``, where ``walk`` is the weighted walking
    part of ``f`` to the item (:func:`~cpss.kit.personalisation.walk_part`) and ``item`` its
    item-level part (:func:`~cpss.kit.personalisation.item_part`).
    """
    return w.user * user_term(match, attention, exposure, p) + walk_sensitivity * walk + item


def choice_utility_torch(match, attention, exposure, walk, item, walk_sensitivity, w: FWeights, p: FParams):
    """Torch form of :func:`choice_utility`."""
    return w.user * user_term_torch(match, attention, exposure, p) + walk_sensitivity * walk + item


register(
    choice_utility,
    choice_utility_torch,
    params=(FWeights, FParams),
    match=SIGNED_UNIT,
    attention=UNIT,
    exposure=EXPOSURE,
    walk=UTILITY,
    item=UTILITY,
    walk_sensitivity=STYLE,
)


def stop_value(utility, here, selectivity, stop_bias, order_bonus):
    """Logit of stopping at the chosen item: ``selectivity · utility + stop_bias + order_bonus · here`` (one form).

    ``here`` is 1 when the item is in the user's room (orderly styles prefer the next exhibit).
    """
    return selectivity * utility + stop_bias + order_bonus * here


register(stop_value, utility=UTILITY, here=FLAG, selectivity=STYLE, stop_bias=UTILITY, order_bonus=UNIT)


def leave_value(attention, p: ChoiceParams):
    """Logit of leaving: ``leave_bias + leave_fatigue · (1 - attention)``; wandering's is ``browse_bias`` (one form)."""
    return p.leave_bias + p.leave_fatigue * (1.0 - attention)


register(leave_value, params=(ChoiceParams,), attention=UNIT)


# ---------------------------------------------------------------- visits
def dwell_time(median, style_mult, match, quality, normal, p: DwellParams):
    """Minutes of a stop: ``median · style_mult · (dwell_base + match) · quality · exp(dwell_sigma · normal)``.

    Lognormal around the item's median (calibration-museum.md §8), longer for a matching user,
    cut short when others block the view (``quality``, :func:`viewing_quality`).
    """
    return median * style_mult * (p.dwell_base + match) * quality * np.exp(p.dwell_sigma * normal)


def dwell_time_torch(median, style_mult, match, quality, normal, p: DwellParams):
    """Torch form of :func:`dwell_time`."""
    return median * style_mult * (p.dwell_base + match) * quality * (p.dwell_sigma * normal).exp()


register(
    dwell_time,
    dwell_time_torch,
    params=(DwellParams,),
    median=MINUTES,
    style_mult=STYLE,
    match=UNIT,
    quality=UNIT,
    normal=NORMAL,
)


def trust_update(trust, gain, p: GuideParams):
    """Trust after a guided visit: ``trust + trust_lr · (clip(gain / trust_reference, 0, 1) - trust)``."""
    return trust + p.trust_lr * (np.minimum(np.maximum(gain / p.trust_reference, 0.0), 1.0) - trust)


def trust_update_torch(trust, gain, p: GuideParams):
    """Torch form of :func:`trust_update`."""
    return trust + p.trust_lr * ((gain / p.trust_reference).clamp(0.0, 1.0) - trust)


register(trust_update, trust_update_torch, params=(GuideParams,), trust=UNIT, gain=UTILITY)


def observed_match(match, normal, p: GuideParams):
    """The interest match a guide observes after a visit: ``match + signal_noise · normal`` (one form)."""
    return match + p.signal_noise * normal


register(observed_match, params=(GuideParams,), match=UNIT, normal=NORMAL)


def estimate_step(estimate, feature, error, p: GuideParams):
    """One topic of the online interest estimate: ``max(0, estimate + estimate_lr · error · feature)``.

    ``error`` is the observed match minus the estimate's dot product with the item's features;
    the updated estimate is then renormalised to unit length.
    """
    return np.maximum(estimate + p.estimate_lr * error * feature, 0.0)


def estimate_step_torch(estimate, feature, error, p: GuideParams):
    """Torch form of :func:`estimate_step`."""
    return (estimate + p.estimate_lr * error * feature).clamp(min=0.0)


register(estimate_step, estimate_step_torch, params=(GuideParams,), estimate=UNIT, feature=UNIT, error=UTILITY)


# ---------------------------------------------------------------- crowd fields
def expected_wait(queue_len, viewers, capacity, median):
    """Minutes to wait for an item: ``max(0, queue_len + max(0, viewers - capacity + 1)) / capacity · median``."""
    return np.maximum(queue_len + np.maximum(viewers - capacity + 1, 0), 0) / capacity * median


def expected_wait_torch(queue_len, viewers, capacity, median):
    """Torch form of :func:`expected_wait`."""
    return (queue_len + (viewers - capacity + 1).clamp(min=0)).clamp(min=0) / capacity * median


register(expected_wait, expected_wait_torch, queue_len=COUNT, viewers=COUNT, capacity=CAPACITY, median=MINUTES)


def density(occupancy, area):
    """Persons per m² of a zone: ``occupancy / area`` (one form)."""
    return occupancy / area


register(density, occupancy=COUNT, area=AREA)


def view_density(viewers, queue_len, capacity, c: CrowdParams):
    """Persons per m² in an exhibit's viewing zone: ``(viewers + queue_len) / (capacity · view_m2)`` (one form).

    The viewing zone holds ``capacity`` viewing places of ``view_m2`` each; those waiting stand in it too.
    """
    return (viewers + queue_len) / (capacity * c.view_m2)


register(view_density, params=(CrowdParams,), viewers=COUNT, queue_len=COUNT, capacity=CAPACITY)


def zone_noise(base, occupancy, comfort, p: CrowdParams):
    """Noise heard in a zone, in [0, 1]: ``clip(base + crowd_noise · occupancy / comfort, 0, 1)``."""
    return np.minimum(np.maximum(base + p.crowd_noise * (occupancy / comfort), 0.0), 1.0)


def zone_noise_torch(base, occupancy, comfort, p: CrowdParams):
    """Torch form of :func:`zone_noise`."""
    return (base + p.crowd_noise * (occupancy / comfort)).clamp(0.0, 1.0)


register(zone_noise, zone_noise_torch, params=(CrowdParams,), base=UNIT, occupancy=COUNT, comfort=CAPACITY)


def occupancy_noise(occupancy, comfort, p: CrowdParams):
    """The noise a zone's occupants make, in [0, 1]: ``min(crowd_noise · occupancy / comfort, 1)``.

    It enters the crowd term of ``f``; the ambient noise (the zone's base) enters the context term,
    so neither depends on the other (the noise heard, :func:`zone_noise`, is their clipped sum).
    """
    return np.minimum(p.crowd_noise * (occupancy / comfort), 1.0)


def occupancy_noise_torch(occupancy, comfort, p: CrowdParams):
    """Torch form of :func:`occupancy_noise`."""
    return (p.crowd_noise * (occupancy / comfort)).clamp(max=1.0)


register(occupancy_noise, occupancy_noise_torch, params=(CrowdParams,), occupancy=COUNT, comfort=CAPACITY)


def viewing_quality(view_density, w: FWeights, p: FParams, c: CrowdParams):
    """How well an exhibit can be seen: ``exp(-w_crowd · view_quality_rate · max(0, view_density - rho_view))``.

    Above the viewing-zone threshold others block the sight lines (calibration-museum.md §8.2:
    ``C(ρ) = exp(-b(ρ - ρ*))``); it cuts the dwell short (:func:`dwell_time`) and, below
    ``skip_quality``, makes an arriving visitor skip the exhibit (:func:`skips`).
    """
    return np.exp(-w.crowd * c.view_quality_rate * np.maximum(view_density - p.rho_view, 0.0))


def viewing_quality_torch(view_density, w: FWeights, p: FParams, c: CrowdParams):
    """Torch form of :func:`viewing_quality`."""
    return (-w.crowd * c.view_quality_rate * (view_density - p.rho_view).clamp(min=0.0)).exp()


register(viewing_quality, viewing_quality_torch, params=(FWeights, FParams, CrowdParams), view_density=DENSITY)


def skips(view_density, w: FWeights, p: FParams, c: CrowdParams):
    """An arriving visitor skips an exhibit it cannot see: ``viewing_quality < skip_quality``."""
    return viewing_quality(view_density, w, p, c) < c.skip_quality


def skips_torch(view_density, w: FWeights, p: FParams, c: CrowdParams):
    """Torch form of :func:`skips`."""
    return viewing_quality_torch(view_density, w, p, c) < c.skip_quality


register(skips, skips_torch, params=(FWeights, FParams, CrowdParams), view_density=DENSITY)


def balks(density, w: FWeights, p: FParams, c: CrowdParams):
    """A visitor balks at a crowded room (does not enter): ``w_crowd · max(0, density - rho_star) > balk_excess``.

    Bitgood 1992: people approach others unless it is too congested (calibration-museum.md §4.1).
    """
    return w.crowd * np.maximum(density - p.rho_star, 0.0) > c.balk_excess


def balks_torch(density, w: FWeights, p: FParams, c: CrowdParams):
    """Torch form of :func:`balks`."""
    return w.crowd * (density - p.rho_star).clamp(min=0.0) > c.balk_excess


register(balks, balks_torch, params=(FWeights, FParams, CrowdParams), density=DENSITY)


def follows(u, cohesion, w: FWeights):
    """A companion follows its leader: ``u < w_crowd · cohesion`` for a uniform draw ``u`` (one form).

    ``cohesion`` is ``crowd.cohesion``; the crowd weight scales the pull of companions with the
    rest of the crowd term.
    """
    return u < w.crowd * cohesion


register(follows, params=(FWeights,), u=UNIT, cohesion=UNIT)


# ---------------------------------------------------------------- guides' heuristics
def novelty(exposure, p: FParams):
    """What is new to the user in an item: ``exp(-exposure / n_sat)``."""
    return np.exp(-exposure / p.n_sat)


def novelty_torch(exposure, p: FParams):
    """Torch form of :func:`novelty`."""
    return (-exposure / p.n_sat).exp()


register(novelty, novelty_torch, params=(FParams,), exposure=EXPOSURE)


def interest_score(match, novelty):
    """``interest`` policy: estimated match x novelty (crowd-blind; one form)."""
    return match * novelty


register(interest_score, match=SIGNED_UNIT, novelty=UNIT)


def crowd_aware_score(match, novelty, attraction, density, walk, g: GuideParams, p: FParams):
    """``crowd_aware`` policy: interest plus attraction minus sensed crowding and walking.

    ``match · novelty + attraction_weight · attraction - crowd_weight · crowding(density) -
    walk_cost · walk``, where ``density`` is the sensed density of the item's zone (sensors,
    not the truth).
    """
    return (
        match * novelty + p.attraction_weight * attraction - g.crowd_weight * crowding(density, p) - p.walk_cost * walk
    )


def crowd_aware_score_torch(match, novelty, attraction, density, walk, g: GuideParams, p: FParams):
    """Torch form of :func:`crowd_aware_score`."""
    crowd = crowding_torch(density, p)
    return match * novelty + p.attraction_weight * attraction - g.crowd_weight * crowd - p.walk_cost * walk


register(
    crowd_aware_score,
    crowd_aware_score_torch,
    params=(GuideParams, FParams),
    match=SIGNED_UNIT,
    novelty=UNIT,
    attraction=UNIT,
    density=DENSITY,
    walk=MINUTES,
)


def marginal_crowding(occupancy, party, area, p: FParams):
    """Crowding a party adds to a room, per member: the ``crowd_coordinated`` guides' cost.

    With ``C(o) = o · crowding(density(o, area))`` the room's total crowding discomfort, the cost
    is ``(C(o + n) - C(o)) / n`` for ``o = max(0, occupancy)`` and ``n = max(1, party)``: what the
    party will feel plus what it adds for everyone already there (a marginal social cost).
    """
    o = np.maximum(occupancy, 0.0)
    n = np.maximum(party, 1.0)
    return ((o + n) * crowding(density(o + n, area), p) - o * crowding(density(o, area), p)) / n


def marginal_crowding_torch(occupancy, party, area, p: FParams):
    """Torch form of :func:`marginal_crowding`."""
    o = occupancy.clamp(min=0.0)
    n = party.clamp(min=1.0)
    return ((o + n) * crowding_torch(density(o + n, area), p) - o * crowding_torch(density(o, area), p)) / n


register(marginal_crowding, marginal_crowding_torch, params=(FParams,), occupancy=COUNT, party=CAPACITY, area=AREA)


def coordinated_score(match, novelty, attraction, cost, walk, g: GuideParams, p: FParams):
    """``crowd_coordinated`` policy: interest plus attraction minus the crowding a move causes and walking (one form).

    ``match · novelty + attraction_weight · attraction - crowd_weight · cost - walk_cost · walk``,
    where ``cost`` is the move's marginal crowding (:func:`marginal_crowding` of the room it
    enters minus that of the room it leaves, on predicted occupancy).
    """
    return match * novelty + p.attraction_weight * attraction - g.crowd_weight * cost - p.walk_cost * walk


register(
    coordinated_score,
    params=(GuideParams, FParams),
    match=SIGNED_UNIT,
    novelty=UNIT,
    attraction=UNIT,
    cost=UTILITY,
    walk=MINUTES,
)
