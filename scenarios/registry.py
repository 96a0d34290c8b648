"""The scenario registry: names, configs, envs, and each scenario's declared extras.

Generic code (the ``cpss`` command line, the dashboard app) finds everything about a scenario
here, by name, and never probes a config or names a scenario itself. What a scenario declares
on its :class:`cpss.kit.scenario.Scenario` class (root seed, default heuristic, batched env,
dashboard page) is served through :func:`scenario_class`, :func:`batched_env_class` and
:func:`dashboard_page`. Scenario modules are imported on first use (by their ``"module:Class"``
names), so this module imports none of them: they may import it (``parallel_env`` calls
:func:`make`) without an import cycle. ``scenarios`` re-exports all of it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import gymnasium as gym

from cpss.kit.config import ConfigError, StrictModel, build_config, flatten, read_toml
from cpss.kit.env import CPSSGymEnv, CPSSParallelEnv
from cpss.kit.scenario import Scenario

CONFIG_DIR = Path(__file__).parent / "configs"

REGISTRY: dict[str, tuple[str, str, str]] = {
    "museum": ("scenarios.museum", "MuseumScenario", "museum-small"),
    "workshop": ("scenarios.workshop", "WorkshopScenario", "workshop-small"),
    "ads": ("scenarios.ads", "AdsScenario", "ads-small"),
    "routes": ("scenarios.routes", "RoutesScenario", "routes-pigou"),
}
"""Scenario name -> (module, scenario class, default config name)."""

GYM_ONLY: dict[str, tuple[str, str]] = {
    "lizard": ("scenarios.lizard", "LizardEnv"),
}
"""Single-agent Gymnasium envs without a Scenario (no configs, no PettingZoo view): name -> (module, class)."""

TORCHRL: dict[str, str] = {
    "museum": "scenarios.museum.torchrl_env:MuseumTorchRLEnv",
}
"""Scenario name -> its TorchRL ``EnvBase`` (``"module:Class"``; needs the ``torchrl`` extra)."""

__all__ = [
    "CONFIG_DIR",
    "GYM_ONLY",
    "REGISTRY",
    "TORCHRL",
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
    "make_torchrl",
    "names",
    "page_names",
    "parallel_names",
    "scenario_class",
]


def _load(target: str) -> Any:
    """The attribute named by ``"module:attribute"``, importing the module."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def names() -> list[str]:
    """Every registered name: the multi-agent scenarios and the single-agent Gymnasium envs."""
    return sorted({*REGISTRY, *GYM_ONLY})


def parallel_names() -> list[str]:
    """Names of the scenarios with a PettingZoo view (what :func:`make` accepts)."""
    return sorted(REGISTRY)


def _gym_only_error(name: str) -> ConfigError:
    return ConfigError(f"{name} is a single-agent Gymnasium env; use scenarios.make_gym({name!r})")


def scenario_class(name: str) -> type[Scenario]:
    """The Scenario subclass registered as ``name``."""
    if name in GYM_ONLY:
        raise _gym_only_error(name)
    if name not in REGISTRY:
        raise ConfigError(f"unknown scenario {name!r}; choose from {', '.join(names())}")
    module, cls, _ = REGISTRY[name]
    return _load(f"{module}:{cls}")


def default_config(name: str) -> str:
    """The shipped config a scenario uses when none is given (e.g. ``museum-small``)."""
    scenario_class(name)  # the errors of an unknown or single-agent name
    return REGISTRY[name][2]


def config_names(name: str) -> list[str]:
    """Shipped config names of a scenario (e.g. ``museum-small``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob(f"{name}-*.toml"))


def load_config(name: str, config: str | Path | None = None, overrides: dict[str, Any] | None = None) -> StrictModel:
    """Load and validate a scenario config.

    Args:
        name: Scenario name.
        config: A shipped config name (``museum-small``), a TOML path, or None (the default).
        overrides: Dotted keys or nested dicts (``{"visitors.count": 50}``,
            ``{"visitors": {"count": 50}}``).

    Returns:
        The validated config.
    """
    cls = scenario_class(name).config_cls
    if config is None:
        config = REGISTRY[name][2]
    path = Path(config)
    if not path.suffix and (CONFIG_DIR / f"{config}.toml").is_file():
        path = CONFIG_DIR / f"{config}.toml"
    elif not path.suffix:
        raise ConfigError(
            f"unknown config {config!r} for {name}; shipped: {', '.join(config_names(name))} (or give a .toml path)"
        )
    return build_config(cls, read_toml(path), overrides=flatten(overrides or {}), source=str(path))


def make_scenario(name: str, config: str | Path | None = None, **overrides: Any) -> Scenario:
    """The scenario object with its validated config."""
    return scenario_class(name)(load_config(name, config, overrides))


def make(
    name: str,
    *,
    config: str | Path | None = None,
    render_mode: str | None = None,
    max_cycles: int | None = None,
    **overrides: Any,
) -> CPSSParallelEnv:
    """A scenario as a PettingZoo ParallelEnv.

    Args:
        name: Scenario name (see :func:`names`).
        config: Shipped config name or TOML path (default: the scenario's small config).
        render_mode: None, "ansi" or "rgb_array".
        max_cycles: Optional cap on ticks per episode.
        **overrides: Config overrides as nested dicts (``visitors={"count": 50}``); ``seed``
            sets the root seed (the scenario's ``seed_key``, e.g. ``world.seed``).

    Returns:
        The env; its live Mesa model is ``env.model`` after ``reset()``.
    """
    if name in GYM_ONLY:
        raise _gym_only_error(name)
    if "seed" in overrides:
        overrides[scenario_class(name).seed_key] = overrides.pop("seed")
    return CPSSParallelEnv(make_scenario(name, config, **overrides), render_mode=render_mode, max_cycles=max_cycles)


def batched_names() -> list[str]:
    """Names of the scenarios that declare a batched torch env."""
    return [name for name in parallel_names() if scenario_class(name).batched_env is not None]


def batched_env_class(name: str, what: str = "make_batched") -> type:
    """The batched torch env class a scenario declares (``Scenario.batched_env``).

    Args:
        name: Scenario name.
        what: The caller, named in the error (``make_batched``, ``batch``).

    Raises:
        ConfigError: The name has no batched env (``"<what>: only museum has a batched
            implementation (got 'ads')"``).
    """
    target = scenario_class(name).batched_env if name in REGISTRY else None
    if target is None:
        have = batched_names()
        verb = "has" if len(have) == 1 else "have"
        raise ConfigError(
            f"{what}: only {', '.join(have) or 'no scenario'} {verb} a batched implementation (got {name!r})"
        )
    return _load(target)


def make_batched(name: str, *, config: str | Path | None = None, num_days: int = 1024, **kwargs: Any) -> Any:
    """Many days of a scenario as one batched torch env (see :func:`batched_names`).

    ``kwargs`` go to the scenario's batched env class (``seed``, ``device``, ``dtype``, config
    overrides; see :class:`scenarios.museum.batched.BatchedMuseumEnv`).
    """
    env_cls = batched_env_class(name)
    return env_cls(default_config(name) if config is None else config, num_days=num_days, **kwargs)


def make_torchrl(name: str, *, num_days: int = 64, seed: int = 0, device: str = "cpu", **overrides: Any) -> Any:
    """Many days of a scenario as one TorchRL ``EnvBase`` (multi-agent layout of TorchRL and BenchMARL).

    Args:
        name: A shipped config name (``museum-small``, ``museum-busy``) or a scenario name
            (``museum``: its default config) of :data:`TORCHRL`.
        num_days: Days run side by side (the env's batch size).
        seed: Root seed of the first reset.
        device: Torch device.
        **overrides: Config overrides as nested dicts (``visitors={"count": 50}``).

    Returns:
        The env (:class:`scenarios.museum.torchrl_env.MuseumTorchRLEnv` for the museum).

    Raises:
        ConfigError: An unknown name, or torchrl not installed (the ``torchrl`` extra).
    """
    scenario = name if name in REGISTRY else name.partition("-")[0]
    if not (name in TORCHRL or (scenario in TORCHRL and name in config_names(scenario))):
        shipped = [c for s in TORCHRL for c in config_names(s)]
        raise ConfigError(f"make_torchrl: unknown name {name!r}; choose from {', '.join([*TORCHRL, *shipped])}")
    try:
        env_cls = _load(TORCHRL[scenario])
    except ImportError as exc:
        raise ConfigError(
            f"make_torchrl: {exc.name or exc} is not installed; install the torchrl extra (pip install 'cpss-sim[torchrl]')"
        ) from None
    config = default_config(name) if name == scenario else name
    return env_cls(config, num_days=num_days, seed=seed, device=device, **overrides)


def page_names() -> list[str]:
    """Names of the scenarios that declare a dashboard page."""
    return [name for name in parallel_names() if scenario_class(name).dashboard_page is not None]


def dashboard_page(name: str) -> Any:
    """The dashboard page a scenario declares (a :class:`cpss.kit.dashboard.Page`).

    Raises:
        ConfigError: Unknown scenario, or one without a page.
    """
    target = scenario_class(name).dashboard_page
    if target is None:
        raise ConfigError(f"scenario {name!r} has no dashboard page; pages: {', '.join(page_names())}")
    return _load(target)


def make_gym(name: str, *, others: str | None = None, **kwargs: Any) -> gym.Env:
    """A single-agent Gymnasium view: agent 0 learns, the others follow ``others``.

    ``others`` is a heuristic of the scenario; None takes its default heuristic
    (``Scenario.default_policy``: the museum's ``guides.policy``, ``crowd_aware`` unless set
    otherwise). For a single-agent env of :data:`GYM_ONLY` (``lizard``) ``others`` is ignored and
    ``kwargs`` go to its constructor (``scenarios.make_gym("lizard", max_steps=50)``).
    """
    if name in GYM_ONLY:
        module, cls = GYM_ONLY[name]
        return _load(f"{module}:{cls}")(**kwargs)
    parallel = make(name, **kwargs)
    return CPSSGymEnv(parallel, others=others or parallel.scenario.default_policy())
