"""Multi-armed bandit learners: the seed lecture's ad-placement ladder and its classic successors.

The seed lecture frames ad placement as a multi-armed bandit: each arm is an ad, its payoff is
``ClickThroughRate x payment``, and it compares three strategies: *explore only*, *exploit
only* and *epsilon-greedy*. This module implements those three plus UCB1 (Auer, Cesa-Bianchi
and Fischer 2002) and Thompson sampling (Thompson 1933; Agrawal and Goyal 2012). The
contextual LinUCB lives in :mod:`agents.linucb`.

Every learner here acts on a Gymnasium env with a ``Discrete(K)`` action space; each env step
is one pull and its reward is the payoff. Non-contextual learners ignore the observation.
When the info dict returned by ``step`` holds ``info["expected_rewards"]`` (the expected payoff
of every arm in the context the pull was made in), the learner records the per-pull regret
``max(expected) - expected[chosen]`` (the max runs over the arms the action mask allowed).
The per-pull traces are ``learner.rewards`` and ``learner.regrets``; each history row (one per
episode) carries ``cumulative_regret`` (NaN when the env gives no expected rewards).

``act(obs, info, deterministic=True)`` returns the greedy arm under the current estimates (the
learned recommendation); ``deterministic=False`` runs the learner's behaviour rule.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from gymnasium import spaces

from agents.base import Callback, Capabilities, Learner, episode_seed
from agents.networks import flatten_obs, info_action_mask


class BanditLearner(Learner):
    """The pull loop, bookkeeping and checkpointing shared by all bandit learners.

    Subclasses implement :meth:`select` (the behaviour rule) and may extend :meth:`update`,
    :meth:`greedy` and :meth:`extra_state` / :meth:`load_extra_state`.
    """

    capabilities = Capabilities(discrete_actions=True, continuous_actions=False, multi_agent=False)
    contextual: ClassVar[bool] = False
    """Whether :meth:`select` uses the observation as a context vector."""

    def __init__(self, env: Any, config: Any, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"{self.name} needs a Discrete action space, got {env.action_space}")
        self.n_arms = int(env.action_space.n)
        self.counts = np.zeros(self.n_arms)
        """Pulls of each arm."""
        self.values = np.zeros(self.n_arms)
        """Sample-mean reward of each arm."""
        self.rewards: list[float] = []
        """Reward of every pull, in order."""
        self.regrets: list[float] = []
        """Regret of every pull (NaN when the env gave no ``expected_rewards``)."""
        self.cumulative_regret = 0.0

    # ---- the parts subclasses change ------------------------------------------------------
    @abc.abstractmethod
    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Behaviour rule: the arm to pull while learning."""

    def greedy(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """The best arm under the current estimates (ties -> lowest index)."""
        return self._argmax(self.values, mask, tie_break=False)

    def update(self, context: np.ndarray | None, arm: int, reward: float) -> None:
        """Record one pull (incremental sample mean)."""
        self.counts[arm] += 1
        self.values[arm] += (reward - self.values[arm]) / self.counts[arm]

    def extra_state(self) -> dict[str, Any]:
        """Subclass state for checkpoints (tensors and plain Python only)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` saved."""

    # ---- helpers --------------------------------------------------------------------------
    def _argmax(self, scores: np.ndarray, mask: np.ndarray | None, tie_break: bool = True) -> int:
        """Index of the highest score among allowed arms; ties broken with the learner's RNG."""
        if mask is not None and mask.any():
            scores = np.where(mask > 0, scores, -np.inf)
        best = np.flatnonzero(scores == scores.max())
        return int(self.rng.choice(best)) if tie_break and len(best) > 1 else int(best[0])

    def _random_arm(self, mask: np.ndarray | None) -> int:
        """A uniformly random allowed arm."""
        if mask is None or not mask.any():
            return int(self.rng.integers(self.n_arms))
        return int(self.rng.choice(np.flatnonzero(mask)))

    def _context(self, obs: Any) -> np.ndarray | None:
        return flatten_obs(self.env.observation_space, obs) if self.contextual else None

    @staticmethod
    def _regret(info: dict[str, Any], arm: int, mask: np.ndarray | None) -> float:
        if "expected_rewards" not in info:
            return float("nan")
        expected = np.asarray(info["expected_rewards"], dtype=np.float64).reshape(-1)
        allowed = expected if mask is None or not mask.any() else expected[mask > 0]
        return float(allowed.max() - expected[arm])

    # ---- Learner API ----------------------------------------------------------------------
    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Pull arms for whole episodes until ``env_steps >= total_steps``."""
        history: list[dict[str, Any]] = []
        while self.env_steps < total_steps:
            obs, info = self.env.reset(seed=episode_seed(self.seed, self.episodes))
            ep_return, ep_regret, length, done = 0.0, 0.0, 0, False
            while not done:
                mask = info_action_mask(info, self.n_arms)
                context = self._context(obs)
                arm = self.select(context, mask)
                obs, reward, terminated, truncated, info = self.env.step(arm)
                self.update(context, arm, float(reward))
                regret = self._regret(info, arm, mask)
                self.rewards.append(float(reward))
                self.regrets.append(regret)
                self.cumulative_regret += regret
                ep_return, ep_regret = ep_return + float(reward), ep_regret + regret
                length += 1
                self.env_steps += 1
                done = bool(terminated or truncated)
            row = {
                "env_steps": self.env_steps,
                "episode": self.episodes,
                "return": ep_return,
                "length": length,
                "regret": ep_regret,
                "cumulative_regret": self.cumulative_regret,
            }
            self.episodes += 1
            history.append(row)
            if callback is not None and callback(self, row) is False:
                break
        return history

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> int:
        """The greedy arm (``deterministic``) or the behaviour rule's choice."""
        mask = info_action_mask(infos, self.n_arms)
        context = self._context(observations)
        return self.greedy(context, mask) if deterministic else self.select(context, mask)

    def state_dict(self) -> dict[str, Any]:
        """Counters, RNG, estimates and the per-pull traces."""
        return {
            **self.base_state(),
            "counts": torch.from_numpy(self.counts.copy()),
            "values": torch.from_numpy(self.values.copy()),
            "rewards": torch.tensor(self.rewards, dtype=torch.float64),
            "regrets": torch.tensor(self.regrets, dtype=torch.float64),
            "cumulative_regret": self.cumulative_regret,
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.counts = state["counts"].numpy().copy()
        self.values = state["values"].numpy().copy()
        self.rewards = state["rewards"].tolist()
        self.regrets = state["regrets"].tolist()
        self.cumulative_regret = float(state["cumulative_regret"])
        self.load_extra_state(state["extra"])


# ==== explore only / exploit only (seed lecture) ============================================
@dataclasses.dataclass(frozen=True, kw_only=True)
class ExploreOnlyConfig:
    """Explore-only has no hyperparameters."""


class ExploreOnly(BanditLearner):
    """Explore only: pull a uniformly random arm every time (regret grows linearly)."""

    name = "explore_only"
    config_cls = ExploreOnlyConfig

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """A uniformly random allowed arm."""
        return self._random_arm(mask)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExploitOnlyConfig:
    """Exploit-only has no hyperparameters."""


class ExploitOnly(BanditLearner):
    """Exploit only: pull each arm once (the forced warm-up), then always the best-looking arm.

    It locks onto whichever arm looked best after one sample each, so it often keeps a
    suboptimal arm forever.
    """

    name = "exploit_only"
    config_cls = ExploitOnlyConfig

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """The first allowed arm never pulled, else the greedy arm."""
        unpulled = (self.counts == 0) if mask is None else (self.counts == 0) & (mask > 0)
        if unpulled.any():
            return int(np.flatnonzero(unpulled)[0])
        return self._argmax(self.values, mask)


# ==== epsilon-greedy (seed lecture) =========================================================
@dataclasses.dataclass(frozen=True, kw_only=True)
class EpsilonGreedyConfig:
    """Hyperparameters of :class:`EpsilonGreedy`."""

    epsilon: float = 0.1
    """Probability of a random pull at the start."""
    epsilon_decay: float = 0.0
    """Decay rate: after t pulls epsilon is ``epsilon / (1 + epsilon_decay * t)``; 0 = fixed."""
    epsilon_min: float = 0.0
    """Floor of the decayed epsilon."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0 or not 0.0 <= self.epsilon_min <= 1.0:
            raise ValueError("epsilon_greedy: epsilon and epsilon_min must lie in [0, 1]")
        if self.epsilon_decay < 0:
            raise ValueError("epsilon_greedy: epsilon_decay must be >= 0")


class EpsilonGreedy(BanditLearner):
    """Epsilon-greedy, as the seed writes it: ``if random_num > epsilon: exploit else explore``."""

    name = "epsilon_greedy"
    config_cls = EpsilonGreedyConfig

    @property
    def epsilon(self) -> float:
        """Current exploration probability."""
        cfg = self.config
        return max(cfg.epsilon_min, cfg.epsilon / (1.0 + cfg.epsilon_decay * self.env_steps))

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Exploit with probability ``1 - epsilon``, else a random arm."""
        if self.rng.random() > self.epsilon:
            return self._argmax(self.values, mask)
        return self._random_arm(mask)


# ==== UCB1 ==================================================================================
@dataclasses.dataclass(frozen=True, kw_only=True)
class UCB1Config:
    """Hyperparameters of :class:`UCB1`."""

    c: float = 1.0
    """Scale of the bonus ``c * sqrt(2 ln t / n_a)``; 1 is UCB1 for rewards in [0, 1]."""

    def __post_init__(self) -> None:
        if self.c < 0:
            raise ValueError(f"ucb1: c must be >= 0, got {self.c}")


class UCB1(BanditLearner):
    """UCB1: pull every arm once, then the arm with the highest upper confidence bound."""

    name = "ucb1"
    config_cls = UCB1Config

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Argmax of ``mean + c * sqrt(2 ln t / n)``; unpulled arms count as infinite."""
        pulled = self.counts > 0
        log_t = np.log(max(self.counts.sum(), 1.0))
        bonus = np.sqrt(2.0 * log_t / np.where(pulled, self.counts, 1.0))
        return self._argmax(np.where(pulled, self.values + self.config.c * bonus, np.inf), mask)


# ==== Thompson sampling =====================================================================
@dataclasses.dataclass(frozen=True, kw_only=True)
class ThompsonConfig:
    """Hyperparameters of :class:`Thompson`."""

    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    """Beta-Bernoulli model (rewards in [0, 1]) or Gaussian with known noise."""
    prior_alpha: float = 1.0
    """Beta prior: pseudo-count of successes."""
    prior_beta: float = 1.0
    """Beta prior: pseudo-count of failures."""
    prior_mean: float = 0.0
    """Gaussian prior mean of each arm's expected reward."""
    prior_std: float = 1.0
    """Gaussian prior standard deviation of each arm's expected reward."""
    noise_std: float = 1.0
    """Gaussian model: standard deviation of a reward around its arm's mean."""

    def __post_init__(self) -> None:
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"thompson: likelihood must be 'bernoulli' or 'gaussian', got {self.likelihood!r}")
        if min(self.prior_alpha, self.prior_beta, self.prior_std, self.noise_std) <= 0:
            raise ValueError("thompson: prior_alpha, prior_beta, prior_std, noise_std must be > 0")


class Thompson(BanditLearner):
    """Thompson sampling: draw one mean per arm from its posterior and pull the largest.

    With ``likelihood="bernoulli"`` each arm has a Beta(successes + alpha, failures + beta)
    posterior; a fractional reward r in [0, 1] adds r successes and 1 - r failures. With
    ``"gaussian"`` each arm has the conjugate normal posterior of a mean under known noise.
    """

    name = "thompson"
    config_cls = ThompsonConfig

    def __init__(self, env: Any, config: ThompsonConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        self.sums = np.zeros(self.n_arms)
        """Sum of the rewards of each arm."""

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior (alpha, beta) for Bernoulli, or (mean, std) for Gaussian."""
        cfg = self.config
        if cfg.likelihood == "bernoulli":
            return cfg.prior_alpha + self.sums, cfg.prior_beta + self.counts - self.sums
        precision = 1.0 / cfg.prior_std**2 + self.counts / cfg.noise_std**2
        mean = (cfg.prior_mean / cfg.prior_std**2 + self.sums / cfg.noise_std**2) / precision
        return mean, 1.0 / np.sqrt(precision)

    def select(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Argmax of one posterior draw per arm."""
        a, b = self._posterior()
        if self.config.likelihood == "bernoulli":
            draws = self.rng.beta(a, b)
        else:
            draws = self.rng.normal(a, b)
        return self._argmax(draws, mask)

    def greedy(self, context: np.ndarray | None, mask: np.ndarray | None) -> int:
        """Argmax of the posterior means."""
        a, b = self._posterior()
        means = a / (a + b) if self.config.likelihood == "bernoulli" else a
        return self._argmax(means, mask, tie_break=False)

    def update(self, context: np.ndarray | None, arm: int, reward: float) -> None:
        """Add the reward to the arm's sufficient statistics."""
        if self.config.likelihood == "bernoulli" and not 0.0 <= reward <= 1.0:
            raise ValueError(
                f"thompson: Bernoulli likelihood needs rewards in [0, 1], got {reward}; use likelihood='gaussian'"
            )
        super().update(context, arm, reward)
        self.sums[arm] += reward

    def extra_state(self) -> dict[str, Any]:
        """Reward sums per arm."""
        return {"sums": torch.from_numpy(self.sums.copy())}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the reward sums."""
        self.sums = state["sums"].numpy().copy()
