"""Trajectories of simulated museum days: recorded runs for ``cpss simulate --trajectories``, and logs of days.

The recorder is :class:`cpss.venue.trajectories.TrajectoryRecorder`; the file is the event log
of :mod:`cpss.data.schema` (``trajectories.parquet`` in the run folder).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from cpss.data.readers import VisitorLog, events_log
from cpss.data.schema import write_parquet
from cpss.kit.config import ConfigError
from cpss.kit.env import CPSSParallelEnv
from cpss.kit.scenario import Scenario
from cpss.runs.simulation import write_run
from cpss.venue.config import VenueConfig
from cpss.venue.model import VenueModel
from cpss.venue.trajectories import TrajectoryRecorder

TRAJECTORIES = "trajectories.parquet"
"""File name of the event log in a run folder."""


def check_recordable(scenario: Scenario, learning: bool) -> None:
    """Refuse ``--trajectories`` where no per-visitor log can be recorded (before any work is done)."""
    if not isinstance(scenario.config, VenueConfig):
        raise ConfigError(f"--trajectories: scenario {scenario.name!r} has no visitors to record (use museum)")
    if learning:
        raise ConfigError("--trajectories: only with heuristic policies (a learning run simulates many days)")


def write_recorded_run(
    folder: Path,
    scenario: Scenario,
    policy: str,
    seed: int,
    steps: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Simulate one day as :func:`cpss.runs.simulation.run_heuristic` does, recording every visitor's events.

    Writes what :func:`cpss.runs.simulation.write_run` writes plus :data:`TRAJECTORIES`.

    Returns:
        The summary metrics.
    """
    env = CPSSParallelEnv(scenario, max_cycles=steps)
    env.reset(seed=seed)
    recorder = TrajectoryRecorder(env.model)
    while not env.day_over:
        env.step(env.heuristic_actions(policy))
        if on_step is not None:
            on_step(env.t)
    summary = write_run(folder, scenario, env, policy=policy, seed=seed)
    write_parquet(recorder.table(env.model), folder / TRAJECTORIES)
    return summary


def simulate_table(config: VenueConfig, seed: int) -> tuple[pa.Table, Any]:
    """One whole day of the venue (its configured guide policy) and its event log (and the model)."""
    model = VenueModel(config, seed=seed)
    recorder = TrajectoryRecorder(model)
    while model.running:
        model.step()
    return recorder.table(model), model


def simulate_log(config: VenueConfig, seed: int, label: str = "simulated") -> VisitorLog:
    """One whole day of the venue as a :class:`~cpss.data.readers.VisitorLog`."""
    table, _ = simulate_table(config, seed)
    return events_log(table.to_pandas(), label)
