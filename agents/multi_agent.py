"""Spaces of PettingZoo ParallelEnvs as the multi-agent learners (MADDPG, MAPPO, IPPO) see them.

The multi-agent learners support envs whose agents all share one Box observation space and one
Discrete or Box action space. :func:`multi_agent_spec` checks that and records the shapes;
:meth:`MultiAgentSpec.to_env` turns a learner action (one-hot, or ``[-1, 1]`` units for Box)
into the env's format; :func:`masks_NA` reads the optional ``infos[agent]["action_mask"]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces


@dataclasses.dataclass(frozen=True)
class MultiAgentSpec:
    """Spaces shared by every agent of a ParallelEnv (built by :func:`multi_agent_spec`)."""

    agent_ids: tuple[str, ...]
    """``env.possible_agents``, whose order fixes agent indices and one-hot ids."""
    obs_dim: int
    """Flattened observation size."""
    discrete: bool
    """True for a ``Discrete`` action space, False for ``Box``."""
    act_dim: int
    """Number of actions (Discrete) or flattened action size (Box)."""
    low: np.ndarray | None = None
    """Lower action bounds (Box only)."""
    high: np.ndarray | None = None
    """Upper action bounds (Box only)."""

    def to_env(self, action_A: np.ndarray) -> int | np.ndarray:
        """Convert a learner action to the env's format.

        Args:
            action_A: A one-hot vector (Discrete) or an action in ``[-1, 1]`` units (Box).

        Returns:
            An ``int`` (Discrete) or a float32 array clipped and rescaled to the bounds (Box).
        """
        if self.discrete:
            return int(np.argmax(action_A))
        unit_A = np.clip(action_A, -1.0, 1.0)
        return (self.low + (unit_A + 1.0) * 0.5 * (self.high - self.low)).astype(np.float32)


def multi_agent_spec(env: Any, learner_name: str) -> MultiAgentSpec:
    """Check that all agents share Box observations and one Discrete/Box action space.

    Args:
        env: A PettingZoo ParallelEnv.
        learner_name: Used in error messages.

    Returns:
        The shared spec.

    Raises:
        ValueError: If the env does not fit (mixed or unsupported spaces, unbounded Box actions).
    """
    ids = tuple(getattr(env, "possible_agents", ()) or ())
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
        return MultiAgentSpec(ids, obs_dim, True, int(act_space.n))
    if isinstance(act_space, spaces.Box):
        low, high = act_space.low.reshape(-1), act_space.high.reshape(-1)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(f"{learner_name}: Box actions need finite bounds, got {act_space}")
        return MultiAgentSpec(ids, obs_dim, False, low.size, low.astype(np.float64), high)
    raise ValueError(f"{learner_name}: needs Discrete or Box actions, got {act_space}")


def masks_NA(infos: dict[str, Any] | None, agent_ids: tuple[str, ...], n: int) -> np.ndarray:
    """Stack ``infos[agent]["action_mask"]`` for all agents; 1 (valid) where none is given."""
    out_NA = np.ones((len(agent_ids), n), dtype=np.float32)
    for i, agent in enumerate(agent_ids):
        mask = (infos or {}).get(agent, {}).get("action_mask")
        if mask is not None:
            out_NA[i] = np.asarray(mask, dtype=np.float32).reshape(n)
    return out_NA
