"""The one PettingZoo adapter for every scenario, and the single-agent Gymnasium view.

:class:`CPSSParallelEnv` turns any :class:`cpss.kit.scenario.Scenario` into a
``pettingzoo.ParallelEnv``: agents are the personaliser slots, every tick every agent gets an
observation, the day ends by truncation at closing time. :class:`CPSSGymEnv` lets one agent
learn while the others follow a heuristic. docs/envs.md documents the contract.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import conversions, wrappers

from cpss.kit.model import CPSSModel, release
from cpss.kit.scenario import Scenario


class CPSSParallelEnv(ParallelEnv):
    """A scenario as a PettingZoo ParallelEnv.

    Args:
        scenario: The scenario (with its config).
        render_mode: None, "ansi" or "rgb_array".
        max_cycles: Optional cap on ticks per episode (the day may end earlier).

    Attributes:
        model: The live Mesa model of the current day (None before the first reset). It is
            released (:func:`cpss.kit.model.release`) on the next reset, on ``close()`` and when
            the env is garbage-collected.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "cpss_v0",
        "render_modes": ["ansi", "rgb_array"],
        "is_parallelizable": True,
        "render_fps": 4,
    }

    def __init__(self, scenario: Scenario, render_mode: str | None = None, max_cycles: int | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: {render_mode!r} is not one of {self.metadata['render_modes']}")
        if max_cycles is not None and max_cycles < 1:
            raise ValueError(f"max_cycles: must be >= 1 (got {max_cycles})")
        self.scenario = scenario
        self.render_mode = render_mode
        self.max_cycles = max_cycles
        self.metadata = {**self.metadata, "name": f"{scenario.name}_v0"}
        self.possible_agents = [f"{scenario.agent_prefix}_{k}" for k in range(scenario.n_agents())]
        self._index = {a: k for k, a in enumerate(self.possible_agents)}
        probe = scenario.build_world(scenario.seed)
        self._obs_space = scenario.observation_space(probe)
        self._act_space = scenario.action_space(probe)
        space = self._act_space
        self._discrete = (int(space.start), int(space.n)) if isinstance(space, spaces.Discrete) else None
        self.state_space = scenario.state_space(probe)
        release(probe)
        self.model: CPSSModel | None = None
        self._live: list[CPSSModel | None] = [None]  # the day the finalizer releases
        weakref.finalize(self, _release_live, self._live)
        self.agents: list[str] = []
        self._np_random: np.random.Generator | None = None
        self._policy_rng = np.random.default_rng(0)
        self._invalid = np.zeros(len(self.possible_agents), dtype=np.int64)
        self._done = True
        self.t = 0

    # ---- spaces: the same object on every call ------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        """The observation space of ``agent`` (same object for every call)."""
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        """The action space of ``agent`` (same object for every call)."""
        self._check_agent(agent)
        return self._act_space

    def _check_agent(self, agent: str) -> int:
        if agent not in self._index:
            raise ValueError(
                f"unknown agent {agent!r}; agents are {self.possible_agents[0]}..{self.possible_agents[-1]}"
                if self.possible_agents
                else f"unknown agent {agent!r}; this env has no agents"
            )
        return self._index[agent]

    # ---- episode ------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        """Start a new day. ``seed`` fixes the day; without it the next seed is drawn.

        The previous day's model is released (:func:`cpss.kit.model.release`): it stays
        readable, but only the new ``self.model`` is stepped.
        """
        if seed is not None:
            check_seed(seed)
            self._np_random = np.random.default_rng(seed)
            world_seed = int(seed)
        else:
            if self._np_random is None:
                self._np_random = np.random.default_rng(self.scenario.seed)
            world_seed = int(self._np_random.integers(2**31 - 1))
        release(self.model)
        self.model = self._live[0] = self.scenario.build_world(world_seed)
        self._policy_rng = np.random.default_rng([world_seed, 1])
        self.agents = list(self.possible_agents)
        self._invalid[:] = 0
        self._done = False
        self.t = 0
        obs = self._observations()
        return obs, self._infos()

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply one action per live agent and advance the world by one tick.

        A live agent without an action gets the scenario's default (a no-op). Unknown agents,
        actions outside the action space and non-finite continuous actions raise ValueError;
        stepping before ``reset()`` or after the day ended raises RuntimeError. Nothing in
        the world changes when an error is raised.
        """
        if self.model is None:
            raise RuntimeError("step() called before reset()")
        if not isinstance(actions, Mapping):
            raise ValueError(
                f"actions: must be a dict {{agent: action}} (got {type(actions).__name__} {actions!r:.60})"
            )
        if self._done:
            raise RuntimeError("step() called after the day ended; call reset()")
        default = self.scenario.default_action()
        if isinstance(default, int | float):  # immutable: one object for every slot
            slot_actions = [default] * len(self.possible_agents)
        else:
            slot_actions = [self.scenario.default_action() for _ in self.possible_agents]
        index, discrete = self._index, self._discrete
        for agent, action in actions.items():
            k = index.get(agent)
            if k is None:
                k = self._check_agent(agent)  # raises
            if type(action) is int and discrete is not None and discrete[0] <= action < discrete[0] + discrete[1]:
                slot_actions[k] = action  # the common case, checked inline without space.contains
            else:
                slot_actions[k] = self._checked(agent, action)
        invalid = self.scenario.apply_actions(self.model, slot_actions)
        self._invalid += invalid
        self.model.step()
        self.t += 1
        live = list(self.agents)
        rew = self.scenario.rewards(self.model)
        over = self.scenario.is_over(self.model) or (self.max_cycles is not None and self.t >= self.max_cycles)
        obs = self._observations()
        rew = np.asarray(rew, dtype=float).tolist()
        rewards = {a: rew[self._index[a]] for a in live}
        terminations = dict.fromkeys(live, False)
        truncations = dict.fromkeys(live, bool(over))
        infos = self._infos()
        if over:
            self._done = True
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _checked(self, agent: str, action: Any) -> Any:
        """``action`` validated against the action space (``step`` accepts an in-range int before calling this)."""
        space = self._act_space
        if isinstance(action, bool | np.bool_) or (isinstance(action, np.ndarray) and action.dtype == bool):
            raise ValueError(f"{agent}: action {action!r} is a bool; give a number")
        if isinstance(space, spaces.Discrete):
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action.item()
            start, n = int(space.start), int(space.n)
            if not isinstance(action, int | np.integer) or not start <= action < start + n:
                raise ValueError(f"{agent}: action {action!r:.80} is outside {space}")
            return int(action)
        if isinstance(action, list | tuple) and any(isinstance(x, bool | np.bool_) for x in action):
            raise ValueError(f"{agent}: action {action!r:.80} holds a bool; give numbers")
        try:
            arr = np.asarray(action, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{agent}: action {action!r:.80} is not a number array of shape {space.shape}") from None
        if arr.shape != space.shape:
            raise ValueError(f"{agent}: action shape {arr.shape} != {space.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{agent}: action contains NaN or inf: {arr.tolist()}")
        if not space.contains(arr):
            raise ValueError(f"{agent}: action {arr.tolist()} is outside {space}")
        return arr

    def _observations(self) -> dict[str, np.ndarray]:
        # One copy of the (K, D) block, then a row of it per agent: every agent still gets its
        # own memory (rows do not overlap), at the cost of one copy instead of K.
        obs = np.array(self.scenario.observe(self.model))
        return dict(zip(self.possible_agents, obs, strict=True))

    def _infos(self) -> dict[str, dict]:
        masks = self.scenario.action_masks(self.model)
        idle = self.scenario.idle(self.model).tolist()
        extra = self.scenario.extra_infos(self.model)
        invalid = self._invalid.tolist()
        agents = self.possible_agents
        if masks is not None and extra is None:  # one copy of the masks, a row per agent (as for observations)
            rows = np.array(masks)
            return {
                a: {"invalid_action": invalid[k], "idle": bool(idle[k]), "action_mask": rows[k]}
                for k, a in enumerate(agents)
            }
        infos = {}
        for k, a in enumerate(agents):
            info: dict[str, Any] = {"invalid_action": invalid[k], "idle": bool(idle[k])}
            if masks is not None:
                info["action_mask"] = np.array(masks[k])
            if extra is not None:
                info.update(extra[k])
            infos[a] = info
        return infos

    # ---- extras -------------------------------------------------------------------
    @property
    def day_over(self) -> bool:
        """True before the first reset and once the current day has ended."""
        return self._done

    def state(self) -> np.ndarray:
        """The global state for centralised critics (inside ``state_space``)."""
        if self.model is None:
            raise RuntimeError("state() called before reset()")
        return self.scenario.state(self.model)

    @property
    def heuristic_policies(self) -> tuple[str, ...]:
        """Names of the scenario's rule-based policies."""
        return self.scenario.heuristic_policies

    def heuristic_actions(self, policy: str) -> dict[str, Any]:
        """Actions of a named heuristic for every live agent, from the current world."""
        if self.model is None:
            raise RuntimeError("heuristic_actions() called before reset()")
        if policy not in self.scenario.heuristic_policies:
            raise ValueError(
                f"unknown heuristic policy {policy!r}; choose from {', '.join(self.scenario.heuristic_policies)}"
            )
        acts = self.scenario.heuristic_actions(self.model, policy, self._policy_rng)
        return {a: acts[self._index[a]] for a in self.agents}

    def episode_summary(self) -> dict[str, float]:
        """The scenario's headline metrics of the current day."""
        return self.scenario.summary(self.model) if self.model is not None else {}

    def render(self) -> str | np.ndarray | None:
        """Render per ``render_mode``: "ansi" -> str, "rgb_array" -> (H, W, 3) uint8."""
        if self.model is None:
            raise RuntimeError("render() called before reset()")
        if self.render_mode == "ansi":
            return self.scenario.render_text(self.model)
        if self.render_mode == "rgb_array":
            return self.scenario.render_rgb(self.model)
        return None

    def close(self) -> None:
        """Release the current day's model (:func:`cpss.kit.model.release`); it stays readable."""
        release(self.model)


def _release_live(live: list[CPSSModel | None]) -> None:
    release(live[0])


def check_seed(seed: Any) -> None:
    """Raise ValueError unless ``seed`` is an integer >= 0 (a bool is not a seed)."""
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed: must be an integer >= 0 (got {type(seed).__name__} {seed!r:.80})")
    if seed < 0:
        raise ValueError(f"seed: must be >= 0 (got {seed})")


class CPSSGymEnv(gym.Env):
    """A single-agent Gymnasium view: agent 0 learns, the other slots follow a heuristic.

    Args:
        parallel: The multi-agent env to wrap.
        others: Heuristic policy of the other slots.

    The action mask of the learning agent is in ``info["action_mask"]``.
    """

    def __init__(self, parallel: CPSSParallelEnv, others: str) -> None:
        if others not in parallel.heuristic_policies:
            raise ValueError(f"others: unknown heuristic policy {others!r}")
        self.parallel = parallel
        self.others = others
        self.agent = parallel.possible_agents[0]
        self.observation_space = parallel.observation_space(self.agent)
        self.action_space = parallel.action_space(self.agent)
        self.render_mode = parallel.render_mode
        self.metadata = {**parallel.metadata}
        self.heuristic_policies = parallel.heuristic_policies

    @property
    def model(self) -> CPSSModel | None:
        """The live Mesa model."""
        return self.parallel.model

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start a new day (``seed`` as in :meth:`CPSSParallelEnv.reset`)."""
        if seed is not None:
            check_seed(seed)
        super().reset(seed=seed)
        day = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        obs, infos = self.parallel.reset(seed=day)
        return obs[self.agent], infos[self.agent]

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Act for agent 0; the others act by the heuristic."""
        actions = self.parallel.heuristic_actions(self.others)
        actions[self.agent] = action
        obs, rew, term, trunc, infos = self.parallel.step(actions)
        return (obs[self.agent], rew[self.agent], term[self.agent], trunc[self.agent], infos[self.agent])

    def heuristic_action(self, policy: str) -> Any:
        """What a heuristic would do for agent 0 now."""
        return self.parallel.heuristic_actions(policy)[self.agent]

    def episode_summary(self) -> dict[str, float]:
        """The scenario's headline metrics of the current day."""
        return self.parallel.episode_summary()

    def render(self) -> str | np.ndarray | None:
        """Render as the wrapped env does."""
        return self.parallel.render()

    def close(self) -> None:
        """Close the wrapped env (releases its model)."""
        self.parallel.close()


def aec_from_parallel(parallel: CPSSParallelEnv) -> AECEnv:
    """The AEC view of a parallel env, with PettingZoo's bounds and order-enforcing wrappers.

    Discrete action spaces get ``AssertOutOfBoundsWrapper``, Box ones ``ClipOutOfBoundsWrapper``.
    """
    aec: AECEnv = conversions.parallel_to_aec_wrapper(parallel)
    if isinstance(parallel.action_space(parallel.possible_agents[0]), spaces.Discrete):
        aec = wrappers.AssertOutOfBoundsWrapper(aec)
    else:
        aec = wrappers.ClipOutOfBoundsWrapper(aec)
    return wrappers.OrderEnforcingWrapper(aec)
