"""``cpss train --engine batched``: a learner trained on the scenario's batched torch engine.

The learner is built on the scenario's PettingZoo env as usual (its spaces, agent ids and
``state()`` size), then trained by its ``learn_batched(env, total_steps, callback)`` on
``--days`` days stepped together by the scenario's batched env (``Scenario.batched_env``; the
museum's :class:`scenarios.museum.batched.BatchedMuseumEnv`) on ``--device``. The checkpoint is
the learner's usual one: it loads unchanged into the PettingZoo env, ``cpss eval``,
``cpss batch --checkpoint`` and the dashboard.
"""

from __future__ import annotations

from typing import Any

from cpss.kit.config import ConfigError
from cpss.kit.scenario import Scenario

ENGINES = ("per-agent", "batched")


def check_engine(engine: str, scenario_name: str, algo: str | None, days: int) -> None:
    """Refuse an unknown engine, a scenario without a batched engine, or a learner that cannot use one."""
    import agents
    import scenarios

    if engine not in ENGINES:
        raise ConfigError(f"--engine: must be per-agent or batched (got {engine!r})")
    if engine == "per-agent":
        return
    scenarios.batched_env_class(scenario_name, "train --engine batched")
    if algo is not None and not hasattr(agents.get(algo), "learn_batched"):
        have = [name for name in agents.available() if hasattr(agents.get(name), "learn_batched")]
        raise ConfigError(f"--engine batched: learner {algo!r} trains per agent only; use {', '.join(have)}")
    if days < 1:
        raise ConfigError(f"--days: must be >= 1 (got {days})")


def batched_env(scenario: Scenario, days: int, seed: int, device: str) -> Any:
    """The scenario's batched env with the run's config: ``days`` days on ``device``."""
    import scenarios

    env_cls = scenarios.batched_env_class(scenario.name, "train --engine batched")
    return env_cls(scenario.config, num_days=days, seed=seed, device=device)


def learn(scenario: Scenario, learner: Any, steps: int, days: int, device: str, callback: Any) -> None:
    """Train ``learner`` on ``days`` batched days until ``steps`` joint env steps."""
    env = batched_env(scenario, days, learner.seed, device)
    learner.learn_batched(env, steps, callback)
