"""RL learners for cpss-sim, behind one registry.

Learners are registered by ``"module:Class"`` strings and imported on first use, so
``import agents`` stays cheap: it imports neither torch nor any algorithm module until a
learner is requested (``Learner``, ``Capabilities`` and ``episode_seed`` load on first access).

Example:
    >>> import agents
    >>> learner = agents.make("dqn", env, seed=0, learning_rate=1e-3)  # doctest: +SKIP
    >>> learner.learn(10_000)  # doctest: +SKIP
    >>> learner.save("runs/dqn.pt")  # doctest: +SKIP
    >>> same = agents.load("runs/dqn.pt", env)  # doctest: +SKIP

``agents`` imports only numpy, torch, gymnasium and pettingzoo: never ``cpss`` or ``scenarios``.
"""

from __future__ import annotations

import importlib
import os
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.base import Capabilities, Learner, episode_seed

_FROM_BASE = ("Capabilities", "Learner", "episode_seed")

LEARNERS: dict[str, str] = {
    "explore_only": "agents.bandits:ExploreOnly",
    "exploit_only": "agents.bandits:ExploitOnly",
    "epsilon_greedy": "agents.bandits:EpsilonGreedy",
    "ucb1": "agents.bandits:UCB1",
    "thompson": "agents.bandits:Thompson",
    "linucb": "agents.linucb:LinUCB",
    "q_learning": "agents.q_learning:QLearning",
    "dqn": "agents.dqn:DQN",
    "reinforce": "agents.reinforce:Reinforce",
    "a2c": "agents.a2c:A2C",
    "ddpg": "agents.ddpg:DDPG",
    "heuristic": "agents.heuristic:HeuristicLearner",
    "maddpg": "agents.maddpg:MADDPG",
    "mappo": "agents.mappo:MAPPO",
    "ippo": "agents.mappo:IPPO",
    "item_mappo": "agents.item_ppo:ItemMAPPO",
}
"""Registry name -> ``"module:Class"`` of the learner (imported lazily by :func:`get`)."""


def available() -> list[str]:
    """Names of all registered learners, sorted."""
    return sorted(LEARNERS)


def register(name: str, target: str) -> None:
    """Add a learner to the registry.

    Args:
        name: Registry name; must equal the class's ``name`` so checkpoints find it again.
        target: ``"module:Class"`` of a :class:`~agents.base.Learner` subclass.

    Raises:
        ValueError: The name is taken or the target is not of the form ``module:Class``.
    """
    if name in LEARNERS:
        raise ValueError(f"learner {name!r} is already registered ({LEARNERS[name]})")
    if target.count(":") != 1:
        raise ValueError(f"learner target must look like 'module:Class', got {target!r}")
    LEARNERS[name] = target


def get(name: str) -> type[Learner]:
    """Import and return the learner class registered as ``name``.

    Raises:
        ValueError: ``name`` is not registered.
    """
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; available: {', '.join(available())}")
    module_name, class_name = LEARNERS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make(name: str, env: Any, *, seed: int = 0, **hyperparams: Any) -> Learner:
    """Build learner ``name`` for ``env`` with the given hyperparameters.

    Args:
        name: A registry name (see :func:`available`).
        env: A Gymnasium env or PettingZoo ParallelEnv, as the learner's capabilities require.
        seed: Root seed of every random stream of the learner.
        **hyperparams: Fields of the learner's config dataclass; the rest keep their defaults.

    Returns:
        The learner, untrained.

    Raises:
        ValueError: Unknown name, unknown or invalid hyperparameter, or an env the learner
            cannot handle (wrong kind or action space).
    """
    from agents.base import check_env_kind
    from agents.hyperparams import check

    cls = get(name)
    config = cls.config_cls(**check(name, cls.config_cls, hyperparams))
    check_env_kind(name, cls.capabilities, env)
    return cls(env, config, seed=seed)


def load(path: str | os.PathLike[str], env: Any) -> Learner:
    """Rebuild a learner from a checkpoint written by :meth:`Learner.save`.

    The file is read with ``torch.load(weights_only=True)`` (:func:`agents.base.read_checkpoint`,
    which never unpickles code); the learner is rebuilt with :func:`make` from the saved name,
    seed and config, then its state is restored, so a following ``learn(total_steps)`` continues
    exactly where the saved run stopped. The global RNGs (torch's and Python's ``random``) are
    left as they were: learners draw only from their own streams, which the checkpoint restores.

    Args:
        path: Checkpoint file.
        env: The env to attach the learner to (same spaces as the one it was trained on).

    Raises:
        ValueError: One line naming the file: it is missing, a directory, empty, corrupt,
            truncated or not a cpss checkpoint, has an unknown format version, names a learner or
            config that cannot be built for ``env``, or holds a state that does not fit it.
    """
    import torch

    from agents.base import read_checkpoint

    payload = read_checkpoint(path)
    algo = payload["algo"]
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):  # Learner.__init__ seeds torch's global RNG for network init
            try:
                learner = make(algo, env, seed=payload["seed"], **payload["config"])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: cannot rebuild the learner ({_first_line(exc)})") from None
            try:
                learner.load_state_dict(payload["state"])
            except (AttributeError, IndexError, KeyError, RuntimeError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: the saved {algo} state does not fit this env ({_first_line(exc)})") from None
    finally:
        random.setstate(py_state)
    return learner


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of an exception (error messages stay one line)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def __getattr__(name: str) -> Any:
    """Load the names re-exported from :mod:`agents.base` on first access (keeps import cheap)."""
    if name in _FROM_BASE:
        return getattr(importlib.import_module("agents.base"), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


__all__ = [
    "LEARNERS",
    "Capabilities",
    "Learner",
    "available",
    "episode_seed",
    "get",
    "load",
    "make",
    "register",
]
