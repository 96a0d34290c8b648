"""Deterministic evaluation of any learner, and confidence intervals over its results.

:func:`evaluate` plays ``episodes`` episodes with ``learner.act(..., deterministic=True)`` on a
Gymnasium env or a PettingZoo ParallelEnv. Episode ``i`` is reset with
``episode_seed(seed, i)``, so two evaluations with the same seed see the same episodes, and
learners compared under one seed face identical draws of the world. Evaluation never trains.

Each row holds ``episode``, ``return`` (for a ParallelEnv: the mean over agents of each
agent's summed reward), ``length`` (env steps), and every key of
``env.unwrapped.episode_summary()`` when the env has that method (our scenarios report metrics
of the finished day there). A summary key that clashes with those three is stored as
``env_<key>``.

:func:`mean_ci` turns a column of those rows into ``mean +- half-width`` with Student's t
quantile, computed exactly for integer degrees of freedom (no scipy needed).
"""

from __future__ import annotations

import math
import statistics
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


def evaluate(env: Any, learner: Learner, episodes: int, seed: int = 0) -> list[dict[str, Any]]:
    """Play ``episodes`` deterministic episodes and return one row per episode.

    Args:
        env: A Gymnasium env or PettingZoo ParallelEnv with the learner's spaces (it may be
            another instance than the one the learner trained on).
        learner: Any learner; learners that read env state (``reads_env_state``, e.g. the
            heuristic) are attached to ``env`` for the duration of the call.
        episodes: Number of episodes.
        seed: Root seed of the evaluation episodes.

    Returns:
        Rows with ``episode``, ``return``, ``length`` and the env's episode summary.
    """
    if episodes < 1:
        raise ValueError(f"evaluate: episodes must be >= 1, got {episodes}")
    run = _run_parallel if is_parallel_env(env) else _run_gym
    attach = getattr(learner, "reads_env_state", False)
    trained_on = getattr(learner, "env", None)
    if attach:
        learner.env = env
    rows: list[dict[str, Any]] = []
    try:
        for i in range(episodes):
            total, length = run(env, learner, episode_seed(seed, i))
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


def _t_coverage(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        term = total = math.cos(theta)  # powers cos^1, cos^3, ..., cos^(df-2)
        power = 1
        if df == 1:
            return 2.0 * theta / math.pi
        while power < df - 2:
            term *= cos2 * (power + 1) / (power + 2)
            total += term
            power += 2
        return 2.0 / math.pi * (theta + sin * total)
    term = total = 1.0  # powers cos^0, cos^2, ..., cos^(df-2)
    power = 0
    while power < df - 2:
        term *= cos2 * (power + 1) / (power + 2)
        total += term
        power += 2
    return sin * total


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t critical value: ``P(|T| <= t) = confidence``.

    Exact (bisection on the closed-form CDF) up to 200 degrees of freedom; beyond that the
    Cornish-Fisher expansion around the normal quantile (error below 1e-5).

    Args:
        confidence: Coverage in (0, 1), e.g. 0.95.
        df: Degrees of freedom (>= 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df > 200:
        z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2.0)
        return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    low, high = 0.0, 1.0
    while _t_coverage(high, df) < confidence:
        low, high = high, 2.0 * high
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if _t_coverage(mid, df) < confidence else (low, mid)
    return 0.5 * (low + high)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its Student-t confidence interval.

    Args:
        values: Independent samples (e.g. the returns of evaluation episodes or of seeds).
        confidence: Coverage of the interval.

    Returns:
        ``(mean, half_width)``; the half-width is NaN for a single value.
    """
    data = [float(v) for v in values]
    if not data:
        raise ValueError("mean_ci needs at least one value")
    mean = statistics.fmean(data)
    if len(data) < 2:
        return mean, float("nan")
    sem = statistics.stdev(data) / math.sqrt(len(data))
    return mean, t_quantile(confidence, len(data) - 1) * sem
