"""``cpss batch``: thousands of days per policy in a scenario's batched torch engine.

The scenario declares its batched env (``Scenario.batched_env``; the museum's is
:class:`scenarios.museum.batched.BatchedMuseumEnv`). Every policy runs on the same days (day
``i`` has the seed ``seed + i``, as the numpy world built with that seed), so policies are
compared on paired days. Policies are the heuristics and, with ``--checkpoint``, a trained
multi-agent personaliser, which acts through its usual ``act()`` on each day's observations and
masks. Days run in chunks of ``chunk`` days per tensor program to bound memory. The run folder
holds ``days.csv`` (one row per policy and day: ``return`` (per personaliser, as ``cpss eval``)
and every metric of the day's summary), ``summary.csv`` (mean, 95% CI and days per policy and metric)
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

from cpss.kit.config import ConfigError, StrictModel
from cpss.kit.scenario import Scenario
from cpss.kit.stats import mean_ci

Actor = Callable[[Any, torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]
"""(env, observations (B, K, D), infos) -> actions (B, K)."""


def check_device(device: str) -> str:
    """A usable torch device name, or a one-line error."""
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"--device: {device!r} is not a torch device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device: {device!r} requested but CUDA is not available on this machine")
    return device


def heuristic_actor(policy: str, choices: tuple[str, ...]) -> Actor:
    """The actions of a heuristic policy, one of the scenario's ``choices``."""
    if policy not in choices:
        raise ConfigError(f"--policy: unknown heuristic {policy!r}; choose from {', '.join(choices)}")
    return lambda env, obs, infos: env.heuristic_actions(policy)


def learner_actor(learner: Any) -> Actor:
    """A learner's actions on the batch: in one call (``act_tensor``), or per day and tick.

    A PettingZoo learner without ``act_tensor`` is called as ``act({agent: obs}, {agent: info})``
    once per day and tick.
    """
    if hasattr(learner, "act_tensor"):

        def act_batch(env: Any, obs: torch.Tensor, infos: dict[str, torch.Tensor]) -> torch.Tensor:
            b, k, d = obs.shape
            mask = infos["action_mask"].reshape(b * k, -1).cpu().bool()
            return learner.act_tensor(obs.reshape(b * k, d).cpu(), mask).view(b, k).to(obs.device)

        return act_batch

    def act(env: Any, obs: torch.Tensor, infos: dict[str, torch.Tensor]) -> torch.Tensor:
        ids = env.possible_agents
        o, m = obs.cpu().numpy(), infos["action_mask"].cpu().numpy().astype(np.int8)
        out = np.zeros(obs.shape[:2], dtype=np.int64)
        for b in range(o.shape[0]):
            acts = learner.act(
                {a: o[b, k] for k, a in enumerate(ids)}, {a: {"action_mask": m[b, k]} for k, a in enumerate(ids)}
            )
            out[b] = [int(acts[a]) for a in ids]
        return torch.as_tensor(out, device=obs.device)

    return act


def run_days(
    env_cls: type,
    config: StrictModel,
    actors: dict[str, Actor],
    days: int,
    seed: int,
    device: str = "cpu",
    chunk: int = 2048,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Run ``days`` days per policy; return one row per (policy, day) and the wall seconds.

    Args:
        env_cls: The scenario's batched env class (``scenarios.batched_env_class``).
        config: The validated scenario config.
        actors: Policy name -> actor.
        days: Days per policy.
        seed: Seed of the first day.
        device: Torch device.
        chunk: Days per tensor program.
        on_progress: Called with the number of days done so far.
    """
    if days < 1 or chunk < 1:
        raise ConfigError(f"--days and --chunk: must be >= 1 (got {days}, {chunk})")
    frames, done, t0 = [], 0, time.perf_counter()
    for name, actor in actors.items():
        for start in range(0, days, chunk):
            n = min(chunk, days - start)
            env = env_cls(config, num_days=n, seed=seed + start, device=device)
            obs, infos = env.reset()
            total = torch.zeros(n, dtype=torch.float64, device=env.device)
            while env.world.running:
                obs, rewards, _, _, infos = env.step(actor(env, obs, infos))
                total += rewards.to(torch.float64).mean(dim=1)
            frame = pd.DataFrame({k: v.detach().cpu().numpy() for k, v in env.summary().items()})
            frame.insert(0, "return", total.cpu().numpy())
            frame.insert(0, "seed", np.arange(seed + start, seed + start + n))
            frame.insert(0, "policy", name)
            frames.append(frame)
            done += n
            if on_progress:
                on_progress(done)
    return pd.concat(frames, ignore_index=True), time.perf_counter() - t0


def summarise(days: pd.DataFrame) -> pd.DataFrame:
    """Mean, 95% CI half-width (Student t) and days of every metric per policy.

    A metric undefined on some days (NaN: a mean over an empty set of visitors, docs/metrics.md)
    is summarised over the days where it is defined; ``days`` counts them (0: mean and ci95 NaN).
    """
    rows = []
    for policy, group in days.groupby("policy", sort=False):
        for column in group.columns.drop(["policy", "seed"]):
            values = group[column].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            mean, half = mean_ci(values) if values.size else (float("nan"), float("nan"))
            rows.append(
                {"policy": policy, "metric": column, "mean": float(mean), "ci95": float(half), "days": int(values.size)}
            )
    return pd.DataFrame(rows)


def write(folder: Path, days: pd.DataFrame, table: pd.DataFrame, config: StrictModel, meta: dict[str, Any]) -> None:
    """Write the run folder's files into ``folder`` (a temporary folder renamed when complete)."""
    import sys

    from cpss.runs.runio import atomic_write_text, versions, write_json

    atomic_write_text(folder / "days.csv", days.to_csv(index=False))
    atomic_write_text(folder / "summary.csv", table.to_csv(index=False))
    write_json(
        folder / "config.json",
        {**meta, "config": config.model_dump(mode="json"), "versions": versions(), "command": sys.argv},
    )


def load_run(scenario: Scenario, checkpoint: Path, trust: bool = False) -> tuple[Scenario, Any]:
    """The scenario (with the run's config) and the trained learner of a multi-agent run of it.

    ``trust`` loads an RLlib run's raw checkpoint (``--trust-checkpoint``) instead of its export.
    """
    from cpss.runs.learners import load_learner
    from cpss.runs.training import locate_checkpoint, make_env

    ckpt, saved = locate_checkpoint(checkpoint)
    if saved.get("scenario") != scenario.name or not saved.get("multi_agent"):
        raise ConfigError(
            f"--checkpoint: {checkpoint} is not a multi-agent {scenario.name} run (batch evaluates those only)"
        )
    scen = type(scenario)(scenario.config_cls.model_validate(saved["config"]))
    return scen, load_learner(ckpt, make_env(scen, True, None), saved, trust=trust)


def batch_command(
    scenario: Scenario,
    seed: int,
    policies: list[str],
    checkpoint: Path | None,
    days: int,
    device: str,
    chunk: int,
    out: Path | None,
    progress: Callable[[], Any],
    console: Any,
    trust_checkpoint: bool = False,
) -> None:
    """The body of ``cpss batch``: run, write the run folder atomically, print the table."""
    from rich.table import Table

    import scenarios
    from cpss.runs.runio import default_out, run_folder

    check_device(device)
    name = scenario.name
    env_cls = scenarios.batched_env_class(name, "batch")
    actors = {p: heuristic_actor(p, scenario.heuristic_policies) for p in policies}
    if checkpoint is not None:
        scenario, learner = load_run(scenario, checkpoint, trust_checkpoint)
        actors = {learner.name: learner_actor(learner), **actors}
    policies = list(actors)
    if not policies:
        raise ConfigError("batch: give --policy (repeatable) or --checkpoint")
    out = out or default_out("batch", f"{name}-{'-'.join(policies)}")
    with run_folder(out) as tmp, progress() as bar:
        task = bar.add_task(f"{name}: {days} days x {len(policies)} policies", total=days * len(policies))
        frame, wall = run_days(
            env_cls, scenario.config, actors, days, seed, device, chunk, lambda n: bar.update(task, completed=n)
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
        cells = {r.policy: f"{r.mean:.3f} ± {r.ci95:.3f}" if r.days else "n/a" for r in rows.itertuples()}
        view.add_row(metric, *(cells[p] for p in policies))
    console.print(view)
    console.print(f"{days * len(policies)} days in {wall:.1f} s on {device}; run folder: {out}")
