"""Spaces of PettingZoo ParallelEnvs as the multi-agent learners (MADDPG, MAPPO, IPPO) see them.

The multi-agent learners support envs whose agents all share one Box observation space and one
Discrete or Box action space (Box with finite bounds). :func:`multi_agent_spec` checks that and
records the shapes; :meth:`MultiAgentSpec.to_env` turns a learner action into the env's format;
:func:`joint_obs_NO` and :func:`masks_NA` stack per-agent observations and the optional
``infos[agent_id]["action_mask"]`` in ``possible_agents`` order.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.networks import scale_action


@dataclasses.dataclass(frozen=True)
class MultiAgentSpec:
    """Spaces shared by every agent of a ParallelEnv (built by :func:`multi_agent_spec`)."""

    agent_ids: tuple[str, ...]
    """``env.possible_agents``; its order fixes agent indices and one-hot ids."""
    action_space: spaces.Discrete | spaces.Box
    """The shared action space."""
    obs_dim: int
    """Flattened observation size."""
    act_dim: int
    """Number of actions (Discrete) or flattened action size (Box)."""

    @property
    def discrete(self) -> bool:
        """True for a ``Discrete`` action space, False for ``Box``."""
        return isinstance(self.action_space, spaces.Discrete)

    def to_env(self, action: np.ndarray) -> int | np.ndarray:
        """Convert one learner action to the env's format.

        Args:
            action: Discrete: an action index or a one-hot vector. Box: an action in
                ``[-1, 1]`` units.

        Returns:
            An ``int`` (Discrete) or an array clipped and rescaled to the bounds (Box).
        """
        if self.discrete:
            action = np.asarray(action)
            return int(action.argmax()) if action.ndim else int(action)
        return scale_action(self.action_space, action)


def multi_agent_spec(env: Any, learner_name: str) -> MultiAgentSpec:
    """Check that all agents share Box observations and one Discrete/Box action space.

    Args:
        env: A PettingZoo ParallelEnv.
        learner_name: Used in error messages.

    Returns:
        The shared spec.

    Raises:
        ValueError: The env does not fit (no agents, mixed or unsupported spaces, unbounded Box
            actions).
    """
    ids = tuple(getattr(env, "possible_agents", None) or ())
    if not ids:
        raise ValueError(f"{learner_name}: expected a PettingZoo ParallelEnv with possible_agents")
    obs_space, act_space = env.observation_space(ids[0]), env.action_space(ids[0])
    for agent in ids[1:]:
        if env.observation_space(agent) != obs_space or env.action_space(agent) != act_space:
            raise ValueError(
                f"{learner_name}: all agents must share observation and action spaces; "
                f"{agent!r} differs from {ids[0]!r}"
            )
    if not isinstance(obs_space, spaces.Box):
        raise ValueError(f"{learner_name}: needs Box observations, got {obs_space}")
    obs_dim = int(np.prod(obs_space.shape))
    if isinstance(act_space, spaces.Discrete):
        return MultiAgentSpec(ids, act_space, obs_dim, int(act_space.n))
    if isinstance(act_space, spaces.Box):
        if not (np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))):
            raise ValueError(f"{learner_name}: Box actions need finite bounds, got {act_space}")
        return MultiAgentSpec(ids, act_space, obs_dim, int(np.prod(act_space.shape)))
    raise ValueError(f"{learner_name}: needs Discrete or Box actions, got {act_space}")


def joint_obs_NO(spec: MultiAgentSpec, observations: dict[str, Any]) -> np.ndarray:
    """Observations of all agents as float32 ``[N, O]``; zeros for agents not in the dict."""
    obs_NO = np.zeros((len(spec.agent_ids), spec.obs_dim), np.float32)
    for i, agent in enumerate(spec.agent_ids):
        if agent in observations:
            obs_NO[i] = np.asarray(observations[agent], np.float32).reshape(-1)
    return obs_NO


def masks_NA(spec: MultiAgentSpec, infos: dict[str, Any] | None) -> np.ndarray:
    """Action masks of all agents as float32 ``[N, A]``; 1 (valid) where an agent has none.

    Masks apply to Discrete actions only; for Box actions the result is all ones.

    Raises:
        ValueError: A mask does not have one entry per action.
    """
    out_NA = np.ones((len(spec.agent_ids), spec.act_dim), np.float32)
    if not spec.discrete:  # masks only apply to Discrete actions
        return out_NA
    for i, agent in enumerate(spec.agent_ids):
        mask = ((infos or {}).get(agent) or {}).get("action_mask")
        if mask is not None:
            mask = np.asarray(mask, np.float32).reshape(-1)
            if mask.size != spec.act_dim:
                raise ValueError(f"{agent}: action_mask has {mask.size} entries, need {spec.act_dim}")
            out_NA[i] = mask
    return out_NA
