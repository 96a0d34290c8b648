"""The personalisation function ``pa = f(u, x_pa, cr, cx, env)``.

Each argument of the seed's function is one term, computed by its own pure function over
numpy arrays (broadcasting over user-item pairs), so a term can be inspected, tested and
switched off on its own:

* :func:`user_term` — ``u``: how well an item matches the user's interests, scaled by the
  user's attention (museum fatigue) and novelty (satiation with the item's topics).
* :func:`personaliser_term` — ``x_pa``: what the personaliser adds: its interpretive content,
  weighted by the user's trust, when the item was recommended by it.
* :func:`crowd_term` — ``cr``: direct influence of other users: social proof (people
  viewing an item attract more) minus congestion discomfort and expected queueing.
* :func:`context_term` — ``cx``: indirect influence: noise in the zone, scheduled events.
* :func:`environment_term` — ``env``: the item's intrinsic attraction minus walking cost.

:class:`PersonalisationFunction` combines them with the weights of
:class:`cpss.kit.config.FTerms` (a weight of 0 ablates a term) into

* ``utility = Σ_k w_k · term_k`` — the satisfaction a visit yields (realised inputs) or is
  expected to yield (expected inputs),
* ``accept = σ(bias + sharpness · utility)`` — the probability that a user accepts a
  recommendation of that item.

The equations and their sources are in docs/model.md.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cpss.kit.config import FTerms

TERMS = ("user", "personaliser", "crowd", "context", "environment")


def user_term(match: np.ndarray, attention: np.ndarray, exposure: np.ndarray, n_sat: float) -> np.ndarray:
    """Interest match x attention x novelty, in [0, 1].

    Args:
        match: (...) interest · features of the user-item pair (unit vectors, >= 0); see
            :func:`pair_dot`.
        attention: (...) attention in [0, 1] (1 = fresh, falls with museum fatigue).
        exposure: (...) satiation · features: how much of the item's topics the user has
            already seen.
        n_sat: Satiation constant: novelty = exp(-exposure / n_sat).

    Returns:
        The term, shape (...).
    """
    return np.clip(match, 0.0, 1.0) * attention * np.exp(-exposure / n_sat)


def pair_dot(user_vectors: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
    """All user-item dot products, (U, T) x (I, T) -> (U, I), as one matrix product."""
    return user_vectors @ item_vectors.T


def personaliser_term(trust: np.ndarray, guided: np.ndarray, content_bonus: float) -> np.ndarray:
    """Value added by the personaliser: ``guided · trust · content_bonus``.

    Args:
        trust: (...) the user's trust in the personaliser, in [0, 1].
        guided: (...) 1 where the item was recommended by the user's personaliser, else 0.
        content_bonus: Value of the personaliser's content for a fully trusting user.

    Returns:
        The term, shape (...).
    """
    return guided * trust * content_bonus


def crowd_term(
    viewers: np.ndarray,
    density: np.ndarray,
    queue_wait: np.ndarray,
    *,
    social_proof: float,
    social_scale: float,
    rho_star: float,
    congestion_penalty: float,
    wait_cost: float,
) -> np.ndarray:
    """Social proof minus congestion and queueing.

    ``social_proof · (1 - exp(-viewers / social_scale))
    - congestion_penalty · max(0, density - rho_star) - wait_cost · queue_wait``

    Args:
        viewers: (...) users viewing the item now.
        density: (...) persons per m² in the item's zone.
        queue_wait: (...) minutes of queueing (expected or experienced).
        social_proof: Maximum attraction gained from co-viewers.
        social_scale: Viewers at which social proof reaches 63% of its maximum.
        rho_star: Density (p/m²) above which crowding hurts.
        congestion_penalty: Utility lost per p/m² above ``rho_star``.
        wait_cost: Utility lost per minute of queueing.

    Returns:
        The term, shape (...).
    """
    proof = social_proof * (1.0 - np.exp(-viewers / social_scale))
    crowding = congestion_penalty * np.maximum(0.0, density - rho_star)
    return proof - crowding - wait_cost * queue_wait


def context_term(noise: np.ndarray, event: np.ndarray, *, noise_sensitivity: float, event_bonus: float) -> np.ndarray:
    """Indirect influence of the context: ``event_bonus · event - noise_sensitivity · noise``.

    Args:
        noise: (...) noise level of the item's zone in [0, 1].
        event: (...) 1 where an event runs in the item's zone now, else 0.
        noise_sensitivity: Utility lost at full noise.
        event_bonus: Utility gained from a running event.

    Returns:
        The term, shape (...).
    """
    return event_bonus * event - noise_sensitivity * noise


def environment_term(
    attraction: np.ndarray, walk_min: np.ndarray, *, attraction_weight: float, walk_cost: float
) -> np.ndarray:
    """The environment's own pull: ``attraction_weight · attraction - walk_cost · walk_min``.

    Args:
        attraction: (...) intrinsic attraction of the item in [0, 1].
        walk_min: (...) walking minutes to the item (expected or walked).
        attraction_weight: Weight of attraction.
        walk_cost: Utility lost per minute walked.

    Returns:
        The term, shape (...).
    """
    return attraction_weight * attraction - walk_cost * walk_min


@dataclasses.dataclass(frozen=True)
class FParams:
    """Constants inside the terms (not ablation weights)."""

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
    """Acceptance logit at zero utility (0.5 acceptance at utility 0.375) [U]; guides that pick
    well-matched items get ~0.7 in museum-small."""
    accept_sharpness: float = 4.0
    """Acceptance logit gained per unit of utility [U]."""


class PersonalisationFunction:
    """``f(u, x_pa, cr, cx, env)``: weighted terms -> utility and acceptance probability.

    Args:
        weights: Per-term weights; 0 switches a term off.
        params: Constants inside the terms.
    """

    def __init__(self, weights: FTerms | None = None, params: FParams | None = None) -> None:
        self.weights = weights or FTerms()
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
        """Compute the five terms (unweighted) for broadcastable user-item inputs."""
        p = self.params
        return {
            "user": user_term(match, attention, exposure, p.n_sat),
            "personaliser": personaliser_term(trust, guided, p.content_bonus),
            "crowd": crowd_term(
                viewers,
                density,
                queue_wait,
                social_proof=p.social_proof,
                social_scale=p.social_scale,
                rho_star=p.rho_star,
                congestion_penalty=p.congestion_penalty,
                wait_cost=p.wait_cost,
            ),
            "context": context_term(noise, event, noise_sensitivity=p.noise_sensitivity, event_bonus=p.event_bonus),
            "environment": environment_term(
                attraction, walk_min, attraction_weight=p.attraction_weight, walk_cost=p.walk_cost
            ),
        }

    def terms_user(self, match: np.ndarray, attention: np.ndarray, exposure: np.ndarray) -> np.ndarray:
        """The user term alone (unweighted), for kernels that combine terms themselves."""
        return user_term(match, attention, exposure, self.params.n_sat)

    def walk_part(self, walk_min: np.ndarray) -> np.ndarray:
        """The walking part of the environment term (unweighted): ``-walk_cost · walk_min``."""
        return environment_term(0.0, walk_min, attraction_weight=0.0, walk_cost=self.params.walk_cost)

    def item_terms(
        self,
        *,
        viewers: np.ndarray,
        density: np.ndarray,
        queue_wait: np.ndarray,
        noise: np.ndarray,
        event: np.ndarray,
        attraction: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The terms that depend on the item only (crowd, context, attraction), unweighted.

        Together with :meth:`terms_user`, :meth:`walk_part` and the personaliser term they add up
        to :meth:`terms`; kernels use the split to compute item-level parts once per tick.
        """
        p = self.params
        return {
            "crowd": crowd_term(
                viewers,
                density,
                queue_wait,
                social_proof=p.social_proof,
                social_scale=p.social_scale,
                rho_star=p.rho_star,
                congestion_penalty=p.congestion_penalty,
                wait_cost=p.wait_cost,
            ),
            "context": context_term(noise, event, noise_sensitivity=p.noise_sensitivity, event_bonus=p.event_bonus),
            "environment": environment_term(
                attraction, 0.0, attraction_weight=p.attraction_weight, walk_cost=p.walk_cost
            ),
        }

    def combine(self, terms: dict[str, np.ndarray]) -> np.ndarray:
        """Weighted sum ``Σ_k w_k · term_k`` of the terms present in ``terms``."""
        total = 0.0
        for name, value in terms.items():
            weight = getattr(self.weights, name)
            if weight:
                total = total + weight * value
        return np.asarray(total, dtype=float)

    def utility(self, **inputs: np.ndarray) -> np.ndarray:
        """The satisfaction a visit yields (or is expected to yield) for the given inputs."""
        return self.combine(self.terms(**inputs))

    def acceptance(self, utility: np.ndarray) -> np.ndarray:
        """Probability of accepting a recommendation with this expected utility."""
        p = self.params
        return 1.0 / (1.0 + np.exp(-(p.accept_bias + p.accept_sharpness * utility)))
