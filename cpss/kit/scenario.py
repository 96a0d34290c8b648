"""The scenario base class: the hooks one concrete world implements (the MPE2 pattern).

A scenario knows how to build its Mesa world from a config and a seed, and how its
personalisers see and act on it — all agents at once, as arrays. It never touches
PettingZoo: :class:`cpss.kit.env.CPSSParallelEnv` is the one adapter that turns any scenario into
a ``ParallelEnv`` (and :class:`cpss.kit.env.CPSSGymEnv` into a single-agent Gymnasium env).

Agents are the personalisers, indexed ``0..K-1`` and named ``f"{agent_prefix}_{k}"``. The
set of agents is fixed for a day; each is a slot that may be idle.

Besides the world's hooks, a scenario declares what generic code (the registry in
``scenarios``, the ``cpss`` command line, the dashboard) needs to know about it, so that no
generic code probes a config or names a scenario: where its root seed lives (:attr:`seed_key`,
:attr:`Scenario.seed`), its default heuristic (:meth:`default_policy`), and its optional
extras, named as ``"module:attribute"`` and imported on first use: a batched torch env
(:attr:`batched_env`) and a dashboard page (:attr:`dashboard_page`).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from gymnasium import spaces

from cpss.kit.config import StrictModel
from cpss.kit.model import CPSSModel


class Scenario(abc.ABC):
    """Hooks of a concrete world. Subclasses set the class attributes and implement hooks.

    Args:
        config: The scenario's validated config (an instance of ``config_cls``).
    """

    name: ClassVar[str]
    """Registry name, e.g. "museum"."""
    config_cls: ClassVar[type[StrictModel]]
    """The pydantic config model."""
    agent_prefix: ClassVar[str]
    """Agent ids are ``f"{agent_prefix}_{k}"``."""
    heuristic_policies: ClassVar[tuple[str, ...]] = ()
    """Names accepted by :meth:`heuristic_actions`."""
    learner_policies: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {}
    """Learning policies for ``cpss simulate --policy``: name -> (``agents`` registry name, hyperparameters)."""
    seed_key: ClassVar[str]
    """Dotted config key of the root seed (e.g. ``"world.seed"``): ``--seed`` and ``make(seed=...)`` set it."""
    batched_env: ClassVar[str | None] = None
    """The scenario's batched torch env as ``"module:Class"``, or None (no batched engine).

    The class is called as ``Class(config, num_days=B, seed=s, device=d, **overrides)`` with a
    shipped config name, a TOML path or a validated config; it has ``possible_agents``,
    ``reset()``, ``step(actions)``, ``heuristic_actions(policy)``, ``world.running`` and
    ``summary()`` and speaks ``(B, K, ...)`` tensors (``scenarios.make_batched``, ``cpss batch``).
    """
    dashboard_page: ClassVar[str | None] = None
    """The scenario's dashboard page as ``"module:attribute"`` naming a
    :class:`cpss.kit.dashboard.Page`, or None (no page; ``cpss viz`` refuses the scenario)."""

    def __init__(self, config: StrictModel) -> None:
        self.config = config

    # ---- what generic code asks of every scenario -----------------------------------
    @property
    def seed(self) -> int:
        """The config's root seed (the value at :attr:`seed_key`)."""
        value: Any = self.config
        for part in self.seed_key.split("."):
            value = getattr(value, part)
        return int(value)

    def default_policy(self) -> str:
        """The heuristic that acts when none is named (the non-learning slots, ``cpss simulate``).

        The base class takes the first of :attr:`heuristic_policies`; a scenario whose config
        names one overrides this.
        """
        return self.heuristic_policies[0]

    def learner_hints(self) -> dict[str, Any]:
        """Hyperparameter defaults that follow from this config's observation layout.

        ``cpss train`` fills those a learner has and the user did not set (the museum's items
        mode gives ``agents.item_ppo``'s row sizes and prior column). The base class gives none.
        """
        return {}

    # ---- world ---------------------------------------------------------------------
    @abc.abstractmethod
    def build_world(self, seed: int) -> CPSSModel:
        """Build a fresh Mesa model for one day from ``self.config`` and ``seed``."""

    @abc.abstractmethod
    def n_agents(self) -> int:
        """Number of personaliser slots (fixed for a config)."""

    def is_over(self, model: CPSSModel) -> bool:
        """True when the day is over (the env truncates every agent)."""
        return not model.running

    # ---- spaces (built once per config; the adapter caches them) --------------------
    @abc.abstractmethod
    def observation_space(self, model: CPSSModel) -> spaces.Box:
        """The per-agent observation space (identical for all agents)."""

    @abc.abstractmethod
    def action_space(self, model: CPSSModel) -> spaces.Space:
        """The per-agent action space (identical for all agents)."""

    @abc.abstractmethod
    def state_space(self, model: CPSSModel) -> spaces.Box:
        """The global state space for centralised critics."""

    # ---- per tick ------------------------------------------------------------------
    @abc.abstractmethod
    def observe(self, model: CPSSModel) -> np.ndarray:
        """(K, obs_dim) float32 observations of all agents, inside the observation space."""

    @abc.abstractmethod
    def state(self, model: CPSSModel) -> np.ndarray:
        """The global state vector (float32), inside the state space."""

    def action_masks(self, model: CPSSModel) -> np.ndarray | None:
        """(K, n_actions) int8 masks of valid discrete actions, or None (continuous)."""
        return None

    def extra_infos(self, model: CPSSModel) -> list[dict[str, Any]] | None:
        """Optional extra per-agent info entries (e.g. a bandit's expected payoffs), or None."""
        return None

    def idle(self, model: CPSSModel) -> np.ndarray:
        """(K,) bool: slots that currently serve nobody (their actions are ignored)."""
        return np.zeros(self.n_agents(), dtype=bool)

    @abc.abstractmethod
    def default_action(self) -> Any:
        """The action used for a live agent whose action is missing (a documented no-op)."""

    @abc.abstractmethod
    def apply_actions(self, model: CPSSModel, actions: list[Any]) -> np.ndarray:
        """Hand one action per slot to the world; return (K,) bool of invalid actions."""

    @abc.abstractmethod
    def rewards(self, model: CPSSModel) -> np.ndarray:
        """(K,) rewards earned during the tick just simulated."""

    def heuristic_actions(self, model: CPSSModel, policy: str, rng: np.random.Generator) -> list[Any]:
        """One action per slot from a named rule-based policy."""
        raise ValueError(f"{self.name}: no heuristic policies")

    def summary(self, model: CPSSModel) -> dict[str, float]:
        """Headline metrics of the day so far."""
        return {}

    plot_metrics: ClassVar[tuple[str, ...]] = ()
    """Metric columns that run folders plot over time."""
    headline_metrics: ClassVar[tuple[str, ...]] = ()
    """Summary metrics shown in comparison tables (``cpss eval``)."""

    def metrics_frame(self, model: CPSSModel) -> pd.DataFrame:
        """Per-tick metrics (the model's DataCollector table)."""
        return model.datacollector.get_model_vars_dataframe()

    def occupancy(self, model: CPSSModel) -> tuple[np.ndarray, list[str]] | None:
        """(ticks, zones) occupancy over the day and the zone names, if the world has zones."""
        return None

    def render_text(self, model: CPSSModel) -> str:
        """A text snapshot of the world."""
        return f"{self.name} at minute {model.minute:.0f}"

    @abc.abstractmethod
    def render_rgb(self, model: CPSSModel) -> np.ndarray:
        """An (H, W, 3) uint8 picture of the world."""
