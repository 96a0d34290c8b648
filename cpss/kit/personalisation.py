"""The personalisation function ``pa = f(u, x_pa, cr, cx, env)``, in numpy/numba and torch.

Each argument of the seed's function is one term, a pure function over arrays (broadcasting
over user-item pairs), so a term can be inspected, tested and switched off on its own:

* :func:`user_term` — ``u``: how well an item matches the user's interests, scaled by the
  user's attention (museum fatigue) and novelty (satiation with the item's topics).
* :func:`personaliser_term` — ``x_pa``: what the personaliser adds: its interpretive content,
  weighted by the user's trust, when the item was recommended by it.
* :func:`crowd_term` — ``cr``: everything other people cause: :func:`social_proof` (people
  viewing an item attract more) minus :func:`crowd_cost` (room crowding, sight-line crowding in
  the exhibit's viewing zone, queueing, and the noise that occupancy makes);
  :func:`crowd_memory` is the crowding a visitor remembers of the whole visit (peak-end).
* :func:`context_term` — ``cx``: what other visitors do not cause: ambient noise of the zone,
  scheduled events.
* :func:`environment_term` — ``env``: the item's intrinsic attraction minus walking cost.

:func:`weighted_sum` combines them with the weights :class:`FWeights` (a weight of 0 ablates a
term) into the utility of a visit, and :func:`acceptance` turns an expected utility into the
probability of accepting a recommendation: ``σ(accept_bias + accept_sharpness · utility)``. The
weights of a config are what users *decide* with; worlds score a realised visit with
:data:`cpss.kit.fparams.FELT` (every term at 1), so ablating a term changes behaviour, not the
measuring stick.

Every equation is written once per form: the numpy form (compiled as it is by numba for the
kernels) and, beside it, the torch form for the batched engine; where the body is plain
arithmetic one form serves both. All constants are read by name from :class:`FParams`.
:mod:`cpss.kit.equations` registers them and ``tests/test_equations.py`` checks the forms
agree. The equations and their sources are in docs/model.md.
"""

from __future__ import annotations

import numpy as np

from cpss.kit.config import FTerms
from cpss.kit.equations import COUNT, DENSITY, EXPOSURE, FLAG, MINUTES, SIGNED_UNIT, UNIT, UTILITY, register
from cpss.kit.fparams import TERMS, FParams, FWeights


# ---------------------------------------------------------------- u: the user term
def user_term(match, attention, exposure, p: FParams):
    """Interest match x attention x novelty: ``clip(match, 0, 1) · attention · exp(-exposure / n_sat)``.

    Args:
        match: Interest · features of the user-item pair (unit vectors); see :func:`pair_dot`.
        attention: Attention in [0, 1] (1 = fresh, falls with museum fatigue).
        exposure: Satiation · features: how much of the item's topics the user has seen.
        p: Constants (``n_sat``).
    """
    return np.minimum(np.maximum(match, 0.0), 1.0) * attention * np.exp(-exposure / p.n_sat)


def user_term_torch(match, attention, exposure, p: FParams):
    """Torch form of :func:`user_term`."""
    return match.clamp(0.0, 1.0) * attention * (-exposure / p.n_sat).exp()


register(user_term, user_term_torch, params=(FParams,), match=SIGNED_UNIT, attention=UNIT, exposure=EXPOSURE)


def pair_dot(user_vectors: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
    """All user-item dot products, (U, T) x (I, T) -> (U, I), as one matrix product."""
    return user_vectors @ item_vectors.T


# ---------------------------------------------------------------- x_pa: the personaliser term
def personaliser_term(trust, guided, p: FParams):
    """Value added by the personaliser: ``guided · trust · content_bonus`` (one form: plain arithmetic).

    Args:
        trust: The user's trust in the personaliser, in [0, 1].
        guided: 1 where the item was recommended by the user's personaliser, else 0.
        p: Constants (``content_bonus``).
    """
    return guided * trust * p.content_bonus


register(personaliser_term, params=(FParams,), trust=UNIT, guided=FLAG)


# ---------------------------------------------------------------- cr: the crowd term
def social_proof(viewers, p: FParams):
    """Attraction of an item that others are viewing: ``social_proof · (1 - exp(-viewers / social_scale))``."""
    return p.social_proof * (1.0 - np.exp(-viewers / p.social_scale))


def social_proof_torch(viewers, p: FParams):
    """Torch form of :func:`social_proof`."""
    return p.social_proof * (1.0 - (-viewers / p.social_scale).exp())


register(social_proof, social_proof_torch, params=(FParams,), viewers=COUNT)


def crowding(density, p: FParams):
    """Discomfort of a crowded room: ``congestion_penalty · max(0, density - rho_star)``."""
    return p.congestion_penalty * np.maximum(density - p.rho_star, 0.0)


def crowding_torch(density, p: FParams):
    """Torch form of :func:`crowding`."""
    return p.congestion_penalty * (density - p.rho_star).clamp(min=0.0)


register(crowding, crowding_torch, params=(FParams,), density=DENSITY)


def view_crowding(view_density, p: FParams):
    """Sight-line crowding in an exhibit's viewing zone: ``view_penalty · max(0, view_density - rho_view)``."""
    return p.view_penalty * np.maximum(view_density - p.rho_view, 0.0)


def view_crowding_torch(view_density, p: FParams):
    """Torch form of :func:`view_crowding`."""
    return p.view_penalty * (view_density - p.rho_view).clamp(min=0.0)


register(view_crowding, view_crowding_torch, params=(FParams,), view_density=DENSITY)


def crowd_cost(density, view_density, queue_wait, crowd_noise, p: FParams):
    """What other people cost a visit (>= 0): room crowding, sight lines, queueing, their noise.

    ``crowding(density) + view_crowding(view_density) + wait_cost · queue_wait +
    noise_sensitivity · crowd_noise``, where ``crowd_noise`` is the part of the zone's noise that
    its occupancy makes (:func:`cpss.venue.equations.occupancy_noise`).
    """
    return (
        crowding(density, p)
        + view_crowding(view_density, p)
        + p.wait_cost * queue_wait
        + p.noise_sensitivity * crowd_noise
    )


def crowd_cost_torch(density, view_density, queue_wait, crowd_noise, p: FParams):
    """Torch form of :func:`crowd_cost`."""
    return (
        crowding_torch(density, p)
        + view_crowding_torch(view_density, p)
        + p.wait_cost * queue_wait
        + p.noise_sensitivity * crowd_noise
    )


register(
    crowd_cost,
    crowd_cost_torch,
    params=(FParams,),
    density=DENSITY,
    view_density=DENSITY,
    queue_wait=MINUTES,
    crowd_noise=UNIT,
)


def crowd_term(viewers, density, view_density, queue_wait, crowd_noise, p: FParams):
    """Direct influence of other people: ``social_proof(viewers) - crowd_cost(...)``.

    Args:
        viewers: Others viewing the item.
        density: Persons per m² in the item's zone.
        view_density: Persons per m² in the item's viewing zone (viewers and those waiting).
        queue_wait: Minutes of queueing (expected or experienced).
        crowd_noise: Noise the zone's occupancy makes, in [0, 1].
        p: Constants (social proof, crowding and viewing thresholds and penalties, wait cost, noise).
    """
    return social_proof(viewers, p) - crowd_cost(density, view_density, queue_wait, crowd_noise, p)


def crowd_term_torch(viewers, density, view_density, queue_wait, crowd_noise, p: FParams):
    """Torch form of :func:`crowd_term`."""
    return social_proof_torch(viewers, p) - crowd_cost_torch(density, view_density, queue_wait, crowd_noise, p)


register(
    crowd_term,
    crowd_term_torch,
    params=(FParams,),
    viewers=COUNT,
    density=DENSITY,
    view_density=DENSITY,
    queue_wait=MINUTES,
    crowd_noise=UNIT,
)


def crowd_memory(peak, last, w: FWeights, p: FParams):
    """Crowding remembered of the whole visit (peak-end): ``-w_crowd · crowd_memory · (peak + last) / 2`` (one form).

    ``peak`` and ``last`` are the largest and the latest :func:`crowd_cost` of the visit's views.
    """
    return -w.crowd * p.crowd_memory * 0.5 * (peak + last)


register(crowd_memory, params=(FWeights, FParams), peak=UTILITY, last=UTILITY)


# ---------------------------------------------------------------- cx: the context term
def context_term(noise, event, p: FParams):
    """What no other visitor causes: ``event_bonus · event - noise_sensitivity · noise`` (one form).

    Args:
        noise: Ambient noise of the item's zone in [0, 1] (not the noise its occupancy makes).
        event: 1 where an event runs in the item's zone now, else 0.
        p: Constants (``noise_sensitivity``, ``event_bonus``).
    """
    return p.event_bonus * event - p.noise_sensitivity * noise


register(context_term, params=(FParams,), noise=UNIT, event=FLAG)


# ---------------------------------------------------------------- env: the environment term
def environment_term(attraction, walk_min, p: FParams):
    """The environment's own pull: ``attraction_weight · attraction - walk_cost · walk_min`` (one form).

    Args:
        attraction: Intrinsic attraction of the item in [0, 1].
        walk_min: Walking minutes to the item (expected or walked).
        p: Constants (``attraction_weight``, ``walk_cost``).
    """
    return p.attraction_weight * attraction - p.walk_cost * walk_min


register(environment_term, params=(FParams,), attraction=UNIT, walk_min=MINUTES)


# ---------------------------------------------------------------- f: weights, utility, acceptance
def weighted_sum(user, personaliser, crowd, context, environment, w: FWeights):
    """``Σ_k w_k · term_k``, adding the terms in the order of :data:`TERMS` and skipping weights of 0 (one form)."""
    total = 0.0 * user
    if w.user != 0.0:
        total = total + w.user * user
    if w.personaliser != 0.0:
        total = total + w.personaliser * personaliser
    if w.crowd != 0.0:
        total = total + w.crowd * crowd
    if w.context != 0.0:
        total = total + w.context * context
    if w.environment != 0.0:
        total = total + w.environment * environment
    return total


register(
    weighted_sum, params=(FWeights,), user=UNIT, personaliser=UNIT, crowd=UTILITY, context=UTILITY, environment=UTILITY
)


def utility(
    match, attention, exposure, trust, guided, viewers, density, view_density, queue_wait, crowd_noise, noise, event,
    attraction, walk_min, w: FWeights, p: FParams,
):  # fmt: skip
    """The satisfaction a visit yields (realised inputs) or is expected to yield (expected inputs) (one form)."""
    return weighted_sum(
        user_term(match, attention, exposure, p),
        personaliser_term(trust, guided, p),
        crowd_term(viewers, density, view_density, queue_wait, crowd_noise, p),
        context_term(noise, event, p),
        environment_term(attraction, walk_min, p),
        w,
    )


def utility_torch(
    match, attention, exposure, trust, guided, viewers, density, view_density, queue_wait, crowd_noise, noise, event,
    attraction, walk_min, w: FWeights, p: FParams,
):  # fmt: skip
    """Torch form of :func:`utility`."""
    return weighted_sum(
        user_term_torch(match, attention, exposure, p),
        personaliser_term(trust, guided, p),
        crowd_term_torch(viewers, density, view_density, queue_wait, crowd_noise, p),
        context_term(noise, event, p),
        environment_term(attraction, walk_min, p),
        w,
    )


register(
    utility,
    utility_torch,
    params=(FWeights, FParams),
    match=SIGNED_UNIT, attention=UNIT, exposure=EXPOSURE, trust=UNIT, guided=FLAG, viewers=COUNT, density=DENSITY,
    view_density=DENSITY, queue_wait=MINUTES, crowd_noise=UNIT, noise=UNIT, event=FLAG, attraction=UNIT,
    walk_min=MINUTES,
)  # fmt: skip


def item_part(
    viewers, density, view_density, queue_wait, crowd_noise, noise, event, attraction, w: FWeights, p: FParams
):
    """The weighted terms that depend on the item only: crowd, context and attraction (one form).

    Kernels compute it once per item and tick; with the user term, the personaliser term and
    :func:`walk_part` it adds up to :func:`utility` (to rounding: the order of additions differs).
    """
    return weighted_sum(
        0.0 * viewers,
        0.0 * viewers,
        crowd_term(viewers, density, view_density, queue_wait, crowd_noise, p),
        context_term(noise, event, p),
        environment_term(attraction, 0.0, p),
        w,
    )


def item_part_torch(
    viewers, density, view_density, queue_wait, crowd_noise, noise, event, attraction, w: FWeights, p: FParams
):
    """Torch form of :func:`item_part`."""
    return weighted_sum(
        0.0 * viewers,
        0.0 * viewers,
        crowd_term_torch(viewers, density, view_density, queue_wait, crowd_noise, p),
        context_term(noise, event, p),
        environment_term(attraction, 0.0, p),
        w,
    )


register(
    item_part,
    item_part_torch,
    params=(FWeights, FParams),
    viewers=COUNT,
    density=DENSITY,
    view_density=DENSITY,
    queue_wait=MINUTES,
    crowd_noise=UNIT,
    noise=UNIT,
    event=FLAG,
    attraction=UNIT,
)


def walk_part(walk_min, w: FWeights, p: FParams):
    """The weighted walking part of the environment term: ``w_env · (0 - walk_cost · walk_min)`` (one form)."""
    return w.environment * (0.0 - p.walk_cost * walk_min)


register(walk_part, params=(FWeights, FParams), walk_min=MINUTES)


def acceptance(utility, p: FParams):
    """Probability of accepting a recommendation: ``1 / (1 + exp(-(accept_bias + accept_sharpness · utility)))``."""
    return 1.0 / (1.0 + np.exp(-(p.accept_bias + p.accept_sharpness * utility)))


def acceptance_torch(utility, p: FParams):
    """Torch form of :func:`acceptance`."""
    return (p.accept_bias + p.accept_sharpness * utility).sigmoid()


register(acceptance, acceptance_torch, params=(FParams,), utility=UTILITY)


class PersonalisationFunction:
    """``f(u, x_pa, cr, cx, env)``: weighted terms -> utility and acceptance probability.

    Args:
        weights: Per-term weights (a config section or :class:`FWeights`); 0 switches a term off.
        params: Constants inside the terms.
    """

    def __init__(self, weights: FTerms | FWeights | None = None, params: FParams | None = None) -> None:
        self.weights = FWeights.of(weights)
        self.params = params or FParams()

    def terms(
        self,
        *,
        match: np.ndarray,
        attention: np.ndarray,
        exposure: np.ndarray,
        trust: np.ndarray,
        guided: np.ndarray,
        viewers: np.ndarray,
        density: np.ndarray,
        queue_wait: np.ndarray,
        noise: np.ndarray,
        event: np.ndarray,
        attraction: np.ndarray,
        walk_min: np.ndarray,
        view_density: np.ndarray | float = 0.0,
        crowd_noise: np.ndarray | float = 0.0,
    ) -> dict[str, np.ndarray]:
        """The five terms (unweighted) for broadcastable user-item inputs (default: no viewing zone, no crowd noise)."""
        p = self.params
        return {
            "user": user_term(match, attention, exposure, p),
            "personaliser": personaliser_term(trust, guided, p),
            "crowd": crowd_term(viewers, density, view_density, queue_wait, crowd_noise, p),
            "context": context_term(noise, event, p),
            "environment": environment_term(attraction, walk_min, p),
        }

    def combine(self, terms: dict[str, np.ndarray]) -> np.ndarray:
        """Weighted sum ``Σ_k w_k · term_k`` of the five terms (as returned by :meth:`terms`)."""
        return np.asarray(weighted_sum(*(terms[name] for name in TERMS), self.weights), dtype=float)

    def utility(self, **inputs: np.ndarray | float) -> np.ndarray:
        """The satisfaction a visit yields (or is expected to yield): the inputs of :meth:`terms`, by name."""
        inputs = {"view_density": 0.0, "crowd_noise": 0.0, **inputs}
        return np.asarray(utility(**inputs, w=self.weights, p=self.params), dtype=float)

    def acceptance(self, utility: np.ndarray) -> np.ndarray:
        """Probability of accepting a recommendation with this expected utility."""
        return acceptance(utility, self.params)
