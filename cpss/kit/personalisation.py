"""The personalisation function ``pa = f(u, x_pa, cr, cx, env)``, in numpy/numba and torch.

Each argument of the seed's function is one term, a pure function over arrays (broadcasting
over user-item pairs), so a term can be inspected, tested and switched off on its own:

* :func:`user_term` — ``u``: how well an item matches the user's interests, scaled by the
  user's attention (museum fatigue) and novelty (satiation with the item's topics).
* :func:`personaliser_term` — ``x_pa``: what the personaliser adds: its interpretive content,
  weighted by the user's trust, when the item was recommended by it.
* :func:`crowd_term` — ``cr``: direct influence of other users: :func:`social_proof` (people
  viewing an item attract more) minus :func:`crowding` (discomfort above a density) and
  expected queueing.
* :func:`context_term` — ``cx``: indirect influence: noise in the zone, scheduled events.
* :func:`environment_term` — ``env``: the item's intrinsic attraction minus walking cost.

:func:`weighted_sum` combines them with the weights :class:`FWeights` (a weight of 0 ablates a
term) into the utility of a visit, and :func:`acceptance` turns an expected utility into the
probability of accepting a recommendation: ``σ(accept_bias + accept_sharpness · utility)``.

Every equation is written once per form: the numpy form (compiled as it is by numba for the
kernels) and, beside it, the torch form for the batched engine; where the body is plain
arithmetic one form serves both. All constants are read by name from :class:`FParams`.
:mod:`cpss.kit.equations` registers them and ``tests/test_equations.py`` checks the forms
agree. The equations and their sources are in docs/model.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cpss.kit.config import FTerms
from cpss.kit.equations import COUNT, DENSITY, EXPOSURE, FLAG, MINUTES, SIGNED_UNIT, UNIT, UTILITY, register

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
    """Density (p/m²) at which a room is perceived as crowded (calibration-museum.md §9)."""
    congestion_penalty: float = 0.5
    """Satisfaction lost per p/m² above rho_star (−0.05 per 0.1 p/m², calibration §9 [U])."""
    wait_cost: float = 0.02
    """Satisfaction lost per minute of queueing [U]."""
    noise_sensitivity: float = 0.2
    """Satisfaction lost at full noise [U]."""
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


def crowd_term(viewers, density, queue_wait, p: FParams):
    """Social proof minus crowding and queueing: ``social_proof(viewers) - crowding(density) - wait_cost · queue_wait``.

    Args:
        viewers: Users viewing the item now.
        density: Persons per m² in the item's zone.
        queue_wait: Minutes of queueing (expected or experienced).
        p: Constants (``social_proof``, ``social_scale``, ``rho_star``, ``congestion_penalty``, ``wait_cost``).
    """
    return social_proof(viewers, p) - crowding(density, p) - p.wait_cost * queue_wait


def crowd_term_torch(viewers, density, queue_wait, p: FParams):
    """Torch form of :func:`crowd_term`."""
    return social_proof_torch(viewers, p) - crowding_torch(density, p) - p.wait_cost * queue_wait


register(crowd_term, crowd_term_torch, params=(FParams,), viewers=COUNT, density=DENSITY, queue_wait=MINUTES)


# ---------------------------------------------------------------- cx: the context term
def context_term(noise, event, p: FParams):
    """Indirect influence of the context: ``event_bonus · event - noise_sensitivity · noise`` (one form).

    Args:
        noise: Noise level of the item's zone in [0, 1].
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
    match,
    attention,
    exposure,
    trust,
    guided,
    viewers,
    density,
    queue_wait,
    noise,
    event,
    attraction,
    walk_min,
    w: FWeights,
    p: FParams,
):
    """The satisfaction a visit yields (realised inputs) or is expected to yield (expected inputs) (one form)."""
    return weighted_sum(
        user_term(match, attention, exposure, p),
        personaliser_term(trust, guided, p),
        crowd_term(viewers, density, queue_wait, p),
        context_term(noise, event, p),
        environment_term(attraction, walk_min, p),
        w,
    )


def utility_torch(
    match,
    attention,
    exposure,
    trust,
    guided,
    viewers,
    density,
    queue_wait,
    noise,
    event,
    attraction,
    walk_min,
    w: FWeights,
    p: FParams,
):
    """Torch form of :func:`utility`."""
    return weighted_sum(
        user_term_torch(match, attention, exposure, p),
        personaliser_term(trust, guided, p),
        crowd_term_torch(viewers, density, queue_wait, p),
        context_term(noise, event, p),
        environment_term(attraction, walk_min, p),
        w,
    )


register(
    utility,
    utility_torch,
    params=(FWeights, FParams),
    match=SIGNED_UNIT,
    attention=UNIT,
    exposure=EXPOSURE,
    trust=UNIT,
    guided=FLAG,
    viewers=COUNT,
    density=DENSITY,
    queue_wait=MINUTES,
    noise=UNIT,
    event=FLAG,
    attraction=UNIT,
    walk_min=MINUTES,
)


def item_part(viewers, density, queue_wait, noise, event, attraction, w: FWeights, p: FParams):
    """The weighted terms that depend on the item only: crowd, context and attraction (one form).

    Kernels compute it once per item and tick; with the user term, the personaliser term and
    :func:`walk_part` it adds up to :func:`utility` (to rounding: the order of additions differs).
    """
    return weighted_sum(
        0.0 * viewers,
        0.0 * viewers,
        crowd_term(viewers, density, queue_wait, p),
        context_term(noise, event, p),
        environment_term(attraction, 0.0, p),
        w,
    )


def item_part_torch(viewers, density, queue_wait, noise, event, attraction, w: FWeights, p: FParams):
    """Torch form of :func:`item_part`."""
    return weighted_sum(
        0.0 * viewers,
        0.0 * viewers,
        crowd_term_torch(viewers, density, queue_wait, p),
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
    queue_wait=MINUTES,
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
    ) -> dict[str, np.ndarray]:
        """The five terms (unweighted) for broadcastable user-item inputs."""
        p = self.params
        return {
            "user": user_term(match, attention, exposure, p),
            "personaliser": personaliser_term(trust, guided, p),
            "crowd": crowd_term(viewers, density, queue_wait, p),
            "context": context_term(noise, event, p),
            "environment": environment_term(attraction, walk_min, p),
        }

    def combine(self, terms: dict[str, np.ndarray]) -> np.ndarray:
        """Weighted sum ``Σ_k w_k · term_k`` of the five terms (as returned by :meth:`terms`)."""
        return np.asarray(weighted_sum(*(terms[name] for name in TERMS), self.weights), dtype=float)

    def utility(self, **inputs: np.ndarray) -> np.ndarray:
        """The satisfaction a visit yields (or is expected to yield) for the given inputs."""
        return np.asarray(utility(**inputs, w=self.weights, p=self.params), dtype=float)

    def acceptance(self, utility: np.ndarray) -> np.ndarray:
        """Probability of accepting a recommendation with this expected utility."""
        return acceptance(utility, self.params)
