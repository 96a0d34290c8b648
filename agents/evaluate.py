"""Deterministic evaluation of any learner: one row of results per episode.

:func:`evaluate` plays ``episodes`` episodes with ``learner.act(..., deterministic=True)`` on a
Gymnasium env or a PettingZoo ParallelEnv. Episode ``i`` is reset with
``episode_seed(seed, i)``, so two evaluations with the same seed see the same episodes, and
learners compared under one seed face identical draws of the world; ``seeds`` instead names the
reset seed of each episode (a sweep's run with seed ``s`` plays the day ``env.reset(seed=s)``, the
day ``cpss simulate --seed s`` plays). Evaluation never trains.

Each row holds ``episode``, ``return`` (for a ParallelEnv: the mean over agents of each
agent's summed reward), ``length`` (env steps), and every key of
``env.unwrapped.episode_summary()`` when the env has that method (our scenarios report metrics
of the finished day there). A summary key that clashes with those three is stored as
``env_<key>``. Confidence intervals over those rows are the application's business
(``cpss.kit.stats.mean_ci``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.base import Learner, episode_seed, is_parallel_env

_BASE_KEYS = ("episode", "return", "length")


def _run_gym(env: Any, learner: Learner, seed: int) -> tuple[float, int]:
    obs, info = env.reset(seed=seed)
    total, length, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(learner.act(obs, info, True))
        total += float(reward)
        length += 1
        done = bool(terminated or truncated)
    return total, length


def _run_parallel(env: Any, learner: Learner, seed: int) -> tuple[float, int]:
    obs, infos = env.reset(seed=seed)
    totals = {agent: 0.0 for agent in env.agents}
    length = 0
    while env.agents:
        obs, rewards, _, _, infos = env.step(learner.act(obs, infos, True))
        for agent, reward in rewards.items():
            totals[agent] = totals.get(agent, 0.0) + float(reward)
        length += 1
    return (sum(totals.values()) / len(totals) if totals else 0.0), length


def evaluate(
    env: Any, learner: Learner, episodes: int, seed: int = 0, seeds: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Play ``episodes`` deterministic episodes and return one row per episode.

    Args:
        env: A Gymnasium env or PettingZoo ParallelEnv with the learner's spaces (it may be
            another instance than the one the learner trained on).
        learner: Any learner; learners that read env state (``reads_env_state``, e.g. the
            heuristic) are attached to ``env`` for the duration of the call.
        episodes: Number of episodes.
        seed: Root seed of the evaluation episodes (episode ``i`` is reset with ``episode_seed(seed, i)``).
        seeds: The reset seed of each episode instead (``episodes`` of them); ``seed`` is then unused.

    Returns:
        Rows with ``episode``, ``return``, ``length`` and the env's episode summary.
    """
    if episodes < 1:
        raise ValueError(f"evaluate: episodes must be >= 1, got {episodes}")
    if seeds is not None and len(seeds) != episodes:
        raise ValueError(f"evaluate: seeds must name one seed per episode ({episodes}), got {len(seeds)}")
    resets = [int(s) for s in seeds] if seeds is not None else [episode_seed(seed, i) for i in range(episodes)]
    run = _run_parallel if is_parallel_env(env) else _run_gym
    attach = getattr(learner, "reads_env_state", False)
    trained_on = getattr(learner, "env", None)
    if attach:
        learner.env = env
    rows: list[dict[str, Any]] = []
    try:
        for i in range(episodes):
            total, length = run(env, learner, resets[i])
            row: dict[str, Any] = {"episode": i, "return": total, "length": length}
            summary = getattr(getattr(env, "unwrapped", env), "episode_summary", None)
            if callable(summary):
                for key, value in summary().items():
                    row[f"env_{key}" if key in _BASE_KEYS else key] = value
            rows.append(row)
    finally:
        if attach:
            learner.env = trained_on
    return rows
