"""Concrete worlds and their registry.

``make(name, **overrides)`` returns a PettingZoo ParallelEnv, ``make_gym(name, **overrides)`` a
single-agent Gymnasium env, ``make_batched(name, num_days=B)`` a batched torch env (scenarios
that declare one), ``make_torchrl(name, num_days=B)`` the same as a TorchRL ``EnvBase`` (the
``torchrl`` extra); ``load_config(name, config, overrides)`` returns the validated config.
Configs are TOML files in ``scenarios/configs`` named ``<scenario>-<size>.toml``. The registry
itself lives in :mod:`scenarios.registry`; this package re-exports it.
"""

from __future__ import annotations

from scenarios.registry import *  # noqa: F403  (the registry's public names, listed once there)
from scenarios.registry import __all__ as __all__
