"""``cpss batch``: thousands of venue days per heuristic in the batched torch engine.

Every policy runs on the same days (day ``i`` has the visitors of seed ``seed + i``, as
``VenueModel(seed=seed + i)``), so policies are compared on paired days. Days run in chunks of
``chunk`` days per tensor program (:class:`cpss.batched_venue.BatchedVenue`) to bound memory.
The run folder holds ``days.csv`` (one row per policy and day, every metric of
:mod:`cpss.metrics`), ``summary.csv`` (mean and 95% CI per policy and metric),
and ``config.json`` (the config, seeds, device, wall time, versions, command).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cpss.batched_io import summary
from cpss.batched_venue import BatchedVenue
from cpss.config import ConfigError
from cpss.venue_config import POLICIES, VenueConfig


def check_device(device: str) -> str:
    """A usable torch device name, or a one-line error."""
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"--device: {device!r} is not a torch device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device: {device!r} requested but CUDA is not available on this machine")
    return device


def run_days(
    config: VenueConfig,
    policies: list[str],
    days: int,
    seed: int,
    device: str = "cpu",
    chunk: int = 2048,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Run ``days`` days per policy; return one row per (policy, day) and the wall seconds."""
    for p in policies:
        if p not in POLICIES:
            raise ConfigError(f"--policy: unknown heuristic {p!r}; choose from {', '.join(POLICIES)}")
    if days < 1 or chunk < 1:
        raise ConfigError(f"--days and --chunk: must be >= 1 (got {days}, {chunk})")
    frames, done, t0 = [], 0, time.perf_counter()
    for policy in policies:
        for start in range(0, days, chunk):
            n = min(chunk, days - start)
            world = BatchedVenue(config, n, seed=seed + start, device=device, policy=policy)
            while world.running:
                world.step()
            metrics = {k: v.detach().cpu().numpy() for k, v in summary(world).items()}
            frame = pd.DataFrame(metrics)
            frame.insert(0, "seed", np.arange(seed + start, seed + start + n))
            frame.insert(0, "policy", policy)
            frames.append(frame)
            done += n
            if on_progress:
                on_progress(done)
    return pd.concat(frames, ignore_index=True), time.perf_counter() - t0


def summarise(days: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI half-width (normal approximation) of every metric per policy."""
    rows = []
    for policy, group in days.groupby("policy", sort=False):
        for column in group.columns.drop(["policy", "seed"]):
            x = group[column].to_numpy(dtype=float)
            half = 1.96 * x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else float("nan")
            rows.append({"policy": policy, "metric": column, "mean": float(x.mean()), "ci95": float(half)})
    return pd.DataFrame(rows)


def write(folder: Path, days: pd.DataFrame, table: pd.DataFrame, config: VenueConfig, meta: dict[str, Any]) -> None:
    """Write the run folder's files into ``folder`` (a temporary folder renamed when complete)."""
    import sys

    from cpss.runio import atomic_write_text, versions, write_json

    atomic_write_text(folder / "days.csv", days.to_csv(index=False))
    atomic_write_text(folder / "summary.csv", table.to_csv(index=False))
    write_json(
        folder / "config.json",
        {**meta, "config": config.model_dump(mode="json"), "versions": versions(), "command": sys.argv},
    )


def batch_command(
    scenario: Any,
    seed: int,
    policies: list[str],
    days: int,
    device: str,
    chunk: int,
    out: Path | None,
    progress: Callable[[], Any],
    console: Any,
) -> None:
    """The body of ``cpss batch``: run, write the run folder atomically, print the table."""
    from rich.table import Table

    from cpss.runio import default_out, run_folder

    check_device(device)
    name = scenario.name
    out = out or default_out("batch", f"{name}-{'-'.join(policies)}")
    with run_folder(out) as tmp, progress() as bar:
        task = bar.add_task(f"{name}: {days} days x {len(policies)} policies", total=days * len(policies))
        frame, wall = run_days(
            scenario.config, policies, days, seed, device, chunk, lambda n: bar.update(task, completed=n)
        )
        table = summarise(frame)
        meta = {
            "scenario": name,
            "policies": policies,
            "days": days,
            "first_seed": seed,
            "device": device,
            "chunk": chunk,
            "wall_seconds": wall,
        }
        write(tmp, frame, table, scenario.config, meta)
    shown = table[~table["metric"].isin(["minute", "present", "served", "occupancy_ratio"])]
    view = Table(title=f"{name}: {days} days per policy (seeds {seed}..{seed + days - 1}), mean ± 95% CI")
    view.add_column("metric")
    for p in policies:
        view.add_column(p, justify="right")
    for metric, rows in shown.groupby("metric", sort=False):
        cells = {r.policy: f"{r.mean:.3f} ± {r.ci95:.3f}" for r in rows.itertuples()}
        view.add_row(metric, *(cells[p] for p in policies))
    console.print(view)
    console.print(f"{days * len(policies)} days in {wall:.1f} s on {device}; run folder: {out}")
