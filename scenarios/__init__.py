"""Concrete worlds and their registry.

``make(name, **overrides)`` returns a PettingZoo ParallelEnv, ``make_gym(name, **overrides)`` a
single-agent Gymnasium env, ``make_batched(name, num_days=B)`` a batched torch env (scenarios
that declare one); ``load_config(name, config, overrides)`` returns the validated config.
Configs are TOML files in ``scenarios/configs`` named ``<scenario>-<size>.toml``. The registry
itself lives in :mod:`scenarios.registry`; this package re-exports it.
"""

from __future__ import annotations

from scenarios.registry import (
    CONFIG_DIR,
    GYM_ONLY,
    REGISTRY,
    batched_env_class,
    batched_names,
    config_names,
    dashboard_page,
    default_config,
    load_config,
    make,
    make_batched,
    make_gym,
    make_scenario,
    names,
    page_names,
    parallel_names,
    scenario_class,
)

__all__ = [
    "CONFIG_DIR",
    "GYM_ONLY",
    "REGISTRY",
    "batched_env_class",
    "batched_names",
    "config_names",
    "dashboard_page",
    "default_config",
    "load_config",
    "make",
    "make_batched",
    "make_gym",
    "make_scenario",
    "names",
    "page_names",
    "parallel_names",
    "scenario_class",
]
