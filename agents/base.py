"""The learner interface every algorithm in ``agents/`` implements.

A *learner* is an RL object (not a Mesa entity, not a PettingZoo agent id). It talks to its
environment only through the Gymnasium or PettingZoo API, so it works on any env with Box
observations and Discrete or Box actions, ours or other people's.

Contract:
    * ``learn(total_steps, callback=None)`` trains until ``self.env_steps >= total_steps``
      (an absolute target, so a learner loaded from a checkpoint continues where it stopped)
      and returns the training history (one dict per logged episode or update).
    * ``act(observations, infos=None, deterministic=True)`` maps observations to actions in
      the env's format: a single observation -> a single action for Gymnasium envs, a dict
      ``{agent_id: obs}`` -> ``{agent_id: action}`` for PettingZoo ParallelEnvs. Action masks
      in ``infos[agent_id]["action_mask"]`` (or ``infos["action_mask"]`` for Gymnasium) are
      honoured when present.
    * ``state_dict()`` / ``load_state_dict()`` hold everything needed to resume exactly:
      network and optimiser states, RNG states, counters and buffers. Values are tensors or
      plain Python objects only, so ``torch.load(..., weights_only=True)`` reads them.
    * ``save(path)`` writes a checkpoint atomically; ``agents.load(path, env)`` restores it.

Episodes inside ``learn`` are reset with seeds derived from the root seed and the episode
counter (see :func:`episode_seed`), and checkpoints are taken at episode boundaries, which is
what makes "resume equals an uninterrupted run" hold.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

Callback = Callable[["Learner", dict[str, Any]], bool | None]
"""Called after each logged episode or update with the history row; return False to stop."""

CHECKPOINT_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What kind of environment a learner can train on."""

    discrete_actions: bool
    """Works with ``Discrete`` action spaces."""
    continuous_actions: bool
    """Works with ``Box`` action spaces."""
    multi_agent: bool
    """Expects a PettingZoo ``ParallelEnv`` (otherwise a Gymnasium ``Env``)."""
    needs_global_state: bool = False
    """Calls ``env.state()`` for a centralised critic."""
    any_env_kind: bool = False
    """Works on Gymnasium envs and PettingZoo ParallelEnvs alike (``multi_agent`` is ignored)."""


def is_parallel_env(env: Any) -> bool:
    """Whether ``env`` is a PettingZoo ParallelEnv (duck-typed: agents and per-agent spaces)."""
    return hasattr(env, "possible_agents") and callable(getattr(env, "action_space", None))


def check_env_kind(name: str, capabilities: Capabilities, env: Any) -> None:
    """Raise a ValueError saying why learner ``name`` cannot train on ``env``.

    Args:
        name: The learner's registry name (used in the message).
        capabilities: The learner's capabilities.
        env: A Gymnasium env or a PettingZoo ParallelEnv.

    Raises:
        ValueError: The env kind (single/multi-agent) or an action space is not supported.
    """
    parallel = is_parallel_env(env)
    if not capabilities.any_env_kind and parallel != capabilities.multi_agent:
        if capabilities.multi_agent:
            wanted, got = "a PettingZoo ParallelEnv (multi-agent)", type(env).__name__
        else:
            wanted, got = "a Gymnasium Env (single-agent)", "a PettingZoo ParallelEnv"
        raise ValueError(f"{name} needs {wanted}, got {got}")
    if parallel:
        action_spaces = {agent: env.action_space(agent) for agent in env.possible_agents}
    else:
        action_spaces = {"the env": env.action_space}
    supported = [
        (spaces.Discrete, capabilities.discrete_actions),
        (spaces.Box, capabilities.continuous_actions),
    ]
    wanted = " or ".join(kind.__name__ for kind, ok in supported if ok)
    for agent, space in action_spaces.items():
        if not any(isinstance(space, kind) and ok for kind, ok in supported):
            raise ValueError(f"{name} needs {wanted} actions, but {agent} has action space {space}")
    if capabilities.needs_global_state and not callable(getattr(env, "state", None)):
        raise ValueError(f"{name} needs env.state() for its centralised critic; the env has none")


def episode_seed(root_seed: int, episode: int) -> int:
    """Seed of episode ``episode`` of a learner seeded with ``root_seed``.

    Args:
        root_seed: The learner's root seed.
        episode: Zero-based episode counter.

    Returns:
        A 31-bit seed, a pure function of both arguments.
    """
    ss = np.random.SeedSequence([int(root_seed), int(episode)])
    return int(ss.generate_state(1)[0] % (2**31 - 1))


def numpy_rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """Return the state of a numpy Generator as plain Python objects (checkpoint-safe)."""
    return rng.bit_generator.state


def set_numpy_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Restore a numpy Generator from :func:`numpy_rng_state`."""
    rng.bit_generator.state = state


class Learner(abc.ABC):
    """Base class of every learner.

    Subclasses set ``name``, ``config_cls`` and ``capabilities`` and implement ``learn``,
    ``act``, ``state_dict`` and ``load_state_dict``.

    Args:
        env: A Gymnasium env or a PettingZoo ParallelEnv (see ``capabilities.multi_agent``).
        config: An instance of ``config_cls``.
        seed: The root seed; every random stream of the learner derives from it.
    """

    name: ClassVar[str]
    config_cls: ClassVar[type]
    capabilities: ClassVar[Capabilities]

    def __init__(self, env: Any, config: Any, seed: int = 0) -> None:
        if seed < 0:
            raise ValueError(f"{self.name}: seed must be >= 0, got {seed}")
        self.env = env
        self.config = config
        self.seed = int(seed)
        self.env_steps = 0
        self.episodes = 0
        self.rng = np.random.default_rng(self.seed)
        self.torch_gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        random.seed(self.seed)

    @abc.abstractmethod
    def learn(self, total_steps: int, callback: Callback | None = None) -> list[dict[str, Any]]:
        """Train until ``self.env_steps >= total_steps``; return the history rows."""

    @abc.abstractmethod
    def act(self, observations: Any, infos: Any = None, deterministic: bool = True) -> Any:
        """Return actions for ``observations`` in the env's format."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (tensors and plain Python objects only)."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""

    def base_state(self) -> dict[str, Any]:
        """Counters and RNG states shared by all learners (used by subclasses' state_dict)."""
        return {
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "numpy_rng": numpy_rng_state(self.rng),
            "torch_gen": self.torch_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }

    def load_base_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`base_state` saved."""
        self.env_steps = int(state["env_steps"])
        self.episodes = int(state["episodes"])
        set_numpy_rng_state(self.rng, state["numpy_rng"])
        self.torch_gen.set_state(state["torch_gen"])
        # state["torch_rng"] (torch's global RNG when saved) is kept in the format but not restored:
        # learners draw only from self.rng and self.torch_gen, and loading leaves global state alone.

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a checkpoint atomically and durably (temp file, ``fsync``, rename) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format_version": CHECKPOINT_FORMAT,
            "algo": self.name,
            "seed": self.seed,
            "config": dataclasses.asdict(self.config),
            "state": self.state_dict(),
        }
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                torch.save(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return path


def _fsync_dir(folder: Path) -> None:
    """Flush a rename into ``folder`` to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read as one: missing, empty, corrupt, truncated or foreign."""


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :meth:`Learner.save` and check its layout (builds no learner).

    The file is untrusted input: it is read with ``torch.load(weights_only=True)``, which
    rebuilds only tensors and plain Python objects and never runs code from the file, and
    anything wrong with it becomes a one-line :class:`CheckpointError` naming the file.

    Args:
        path: The checkpoint file.

    Returns:
        ``{"format_version", "algo", "seed", "config", "state"}`` with the types checked.

    Raises:
        CheckpointError: The file is missing, a directory, empty, unreadable, corrupt or truncated,
            a torch file that is not a learner checkpoint, of another format version, or a field
            has the wrong type.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({exc.strerror or type(exc).__name__})") from None
    if size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    try:
        with warnings.catch_warnings():  # e.g. torch's note on a foreign pickle protocol: the error below says it
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: RuntimeError, UnpicklingError, EOFError, BadZipFile, OSError, ...
        raise CheckpointError(
            f"{path}: not a readable checkpoint: corrupt, truncated, or not a weights-only torch file "
            f"({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"{path}: not a cpss checkpoint (a torch file holding {_describe(payload)})")
    version = payload["format_version"]
    if type(version) is not int or version != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {_describe(version)}, expected {CHECKPOINT_FORMAT}")
    for key, kind in (("algo", str), ("seed", int), ("config", dict), ("state", dict)):
        value = payload.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{path}: checkpoint field {key!r}: expected {kind.__name__}, got {_describe(value)}")
    if payload["seed"] < 0:
        raise CheckpointError(f"{path}: checkpoint field 'seed': must be >= 0, got {payload['seed']}")
    if not all(isinstance(name, str) for name in payload["config"]):
        raise CheckpointError(f"{path}: checkpoint field 'config': keys must be strings")
    return payload


def _describe(value: Any) -> str:
    """A short, one-line description of a value read from an untrusted file."""
    if value is None or isinstance(value, bool | int | float):
        text = repr(value)
        return text if len(text) <= 40 else f"an int of {len(text)} digits"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 and value.isprintable() else f"a string of {len(value)} characters"
    return f"a {type(value).__name__}"
