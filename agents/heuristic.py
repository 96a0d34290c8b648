"""A scenario's rule-based policy behind the learner interface.

Evaluation treats every policy alike, so a hand-written rule (for example "send each guide to
the most crowded room") is wrapped as a learner that never learns. The rules live in the
scenario envs; this wrapper only asks for them. Contract (duck-typed, no ``cpss`` import):

* a PettingZoo ParallelEnv from our scenarios has ``env.heuristic_policies`` (a tuple of
  names) and ``env.heuristic_actions(policy) -> {agent_id: action}``, computed from the env's
  current state;
* a Gymnasium view of one has ``env.unwrapped.heuristic_policies`` and
  ``env.unwrapped.heuristic_action(policy) -> action``.

``act`` ignores the observations it is given and asks the env it is attached to, so it must be
called on the env whose state the observations describe; :func:`agents.evaluate.evaluate`
attaches it to the env it evaluates on (``reads_env_state``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from agents.base import Callback, Capabilities, Learner, is_parallel_env


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeuristicConfig:
    """Configuration of :class:`HeuristicLearner`."""

    policy: str = ""
    """Name of the env's rule-based policy (one of its ``heuristic_policies``); "" = the first."""


def _policy_source(env: Any) -> Any:
    """The object that offers ``heuristic_policies`` (the env or the env it wraps)."""
    if hasattr(env, "heuristic_policies"):
        return env
    return getattr(env, "unwrapped", env)


class HeuristicLearner(Learner):
    """Acts with one of the env's rule-based policies; ``learn`` is a no-op."""

    name = "heuristic"
    config_cls = HeuristicConfig
    capabilities = Capabilities(discrete_actions=True, continuous_actions=True, multi_agent=False, any_env_kind=True)
    reads_env_state: ClassVar[bool] = True
    """``act`` reads the state of ``self.env`` rather than the observations."""

    def __init__(self, env: Any, config: HeuristicConfig, seed: int = 0) -> None:
        super().__init__(env, config, seed)
        source = _policy_source(env)
        policies = tuple(getattr(source, "heuristic_policies", ()))
        if not policies:
            raise ValueError(
                f"heuristic: {type(env).__name__} offers no heuristic_policies (only the "
                "scenario envs of cpss-sim provide rule-based policies)"
            )
        self.policy = config.policy or policies[0]
        if self.policy not in policies:
            raise ValueError(f"heuristic: unknown policy {config.policy!r}; the env offers {', '.join(policies)}")

    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Do nothing: a rule does not learn (no steps are counted, no history is returned)."""
        return []

    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> Any:
        """The rule's action(s) for the current state of ``self.env``."""
        source = _policy_source(self.env)
        if is_parallel_env(self.env):
            return dict(source.heuristic_actions(self.policy))
        return source.heuristic_action(self.policy)

    def state_dict(self) -> dict[str, Any]:
        """Counters, RNG and the policy name."""
        return {**self.base_state(), "policy": self.policy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.load_base_state(state)
        self.policy = str(state["policy"])
