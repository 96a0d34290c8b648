"""Training and evaluating learners on scenarios: run folders, checkpoints, resume, reports.

Used by ``cpss train`` and ``cpss eval``. Learners come from ``agents`` (imported lazily, as
the CLI may import all three packages); they see the scenario only through the PettingZoo or
Gymnasium API.

A training run folder holds ``config.json`` (scenario, config, algorithm, hyperparameters,
seed, versions), ``checkpoints/last.pt`` (model, optimiser, RNG states and step counter, written
atomically at episode boundaries), ``metrics.csv`` (one row per logged episode or update),
``eval.csv`` (periodic deterministic evaluations), ``baselines.json`` (the heuristics on the same
evaluation days), ``learning_curve.png`` and ``status.json`` (``running`` / ``done``). Resuming
continues from the last checkpoint: rows logged after it are dropped and regenerated.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpss.kit.config import ConfigError
from cpss.kit.env import CPSSGymEnv, CPSSParallelEnv
from cpss.kit.render import plt
from cpss.kit.scenario import Scenario
from cpss.runs.runio import atomic_write_text, check_out, default_out, versions, write_json, write_status
from cpss.runs.saved import CHECKPOINT, RLLIB_CHECKPOINT, TRAIN_KEYS, check_resume, locate_checkpoint, read_run_config

__all__ = ["CHECKPOINT", "RLLIB_CHECKPOINT", "locate_checkpoint", "resolve_run", "train"]


def make_env(scenario: Scenario, multi_agent: bool, others: str | None = None) -> Any:
    """A ParallelEnv for multi-agent learners, else the Gymnasium view (``others``: the other slots' heuristic)."""
    par = CPSSParallelEnv(scenario)
    if multi_agent:
        return par
    return CPSSGymEnv(par, others=others or scenario.heuristic_policies[0])


def evaluate_policies(
    scenario: Scenario, learner_env: Any, learner: Any, episodes: int, seed: int, policies: tuple[str, ...]
) -> dict[str, list[dict[str, Any]]]:
    """Per-episode rows for the learner and each heuristic on the same seeded days."""
    import agents
    from agents.evaluate import evaluate

    results = {}
    if learner is not None:
        results[learner.name] = evaluate(learner_env, learner, episodes, seed)
    for policy in policies:
        single = isinstance(learner_env, CPSSGymEnv)
        env = make_env(scenario, not single, learner_env.others if single else None)
        results[f"heuristic:{policy}"] = evaluate(env, agents.make("heuristic", env, policy=policy), episodes, seed)
    return results


@dataclasses.dataclass
class TrainSettings:
    """What ``cpss train`` was asked to do."""

    algo: str
    steps: int
    seed: int
    hyperparams: dict[str, Any]
    eval_every: int = 0
    eval_episodes: int = 3
    checkpoint_every: int = 1
    tensorboard: bool = False
    time_limit: float | None = None
    """Stop at the first episode boundary after this many seconds of training (None: no limit)."""
    engine: str = "per-agent"
    """``per-agent`` (the PettingZoo env, one day at a time) or ``batched`` (the scenario's batched engine)."""
    days: int = 64
    """Batched engine: days stepped together."""
    device: str = "cpu"
    """Batched engine: torch device of the world."""
    threads: int = 1
    """torch intra-op threads. The learners' networks are small: one thread is fastest, and several
    trainings side by side on one machine thrash badly with more (10-35x slower measured here)."""


def learning_curve(folder: Path, history: pd.DataFrame, evals: pd.DataFrame, baselines: dict) -> None:
    """Write ``folder/learning_curve.png``: training and evaluation returns, baselines as lines.

    Args:
        folder: The run folder.
        history: Rows of metrics.csv (``env_steps``, ``return``).
        evals: Rows of eval.csv (``env_steps``, ``return``).
        baselines: Heuristic name -> mean evaluation return.
    """
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if not history.empty and "return" in history:
        ax.plot(history["env_steps"], history["return"], alpha=0.35, label="training return")
        smooth = history["return"].rolling(10, min_periods=1).mean()
        ax.plot(history["env_steps"], smooth, label="training return (mean of 10)")
    if not evals.empty:
        ax.plot(evals["env_steps"], evals["return"], "o-", label="evaluation return")
    for name, value in baselines.items():
        ax.axhline(value, ls="--", lw=1, color="0.4")
        ax.annotate(name, (ax.get_xlim()[0], value), fontsize=7, va="bottom")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "learning_curve.png")
    plt.close(fig)


def train(
    scenario: Scenario,
    settings: TrainSettings,
    folder: Path,
    *,
    resume: bool = False,
    on_progress: Callable[[int, dict], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a learner and keep the run folder up to date.

    Args:
        scenario: The scenario with its config.
        settings: Algorithm, budget, seed and logging cadence.
        folder: The run folder (created or, with ``resume``, reused).
        resume: Continue from ``folder/checkpoints/last.pt``.
        on_progress: Called with (env_steps, history row) after each logged row.

    Returns:
        The final summary (steps, wall time, last evaluation, baselines).
    """
    import torch

    import agents

    torch.set_num_threads(settings.threads)
    cls = agents.get(settings.algo)
    multi = cls.capabilities.multi_agent
    others = scenario.default_policy()
    env = make_env(scenario, multi, others)
    eval_env = make_env(scenario, multi, others)
    ckpt = folder / CHECKPOINT
    if resume:
        if not ckpt.is_file():
            raise ConfigError(f"--resume {folder}: no checkpoint at {ckpt}")
        learner = agents.load(ckpt, env)
    else:
        learner = agents.make(settings.algo, env, seed=settings.seed, **settings.hyperparams)
        write_json(
            folder / "config.json",
            {
                "scenario": scenario.name,
                "algo": settings.algo,
                "seed": settings.seed,
                "steps": settings.steps,
                "hyperparams": settings.hyperparams,
                "multi_agent": multi,
                "others": None if multi else others,
                "config": scenario.config.model_dump(mode="json"),
                "versions": versions(),
            },
        )
    write_status(folder, "running", env_steps=learner.env_steps)
    history = read_rows(folder / "metrics.csv", learner.env_steps)
    evals = read_rows(folder / "eval.csv", learner.env_steps)
    baselines_path = folder / "baselines.json"
    if settings.eval_every and not baselines_path.is_file():
        base = evaluate_policies(
            scenario, eval_env, None, settings.eval_episodes, settings.seed + 10_000, scenario.heuristic_policies
        )
        write_json(baselines_path, {k: float(np.mean([r["return"] for r in v])) for k, v in base.items()})
    baselines = json.loads(baselines_path.read_text()) if baselines_path.is_file() else {}
    writer = _tensorboard(folder) if settings.tensorboard else None
    state = {"rows": 0, "next_eval": next_multiple(learner.env_steps, settings.eval_every)}
    t0 = time.perf_counter()

    def callback(lrn: Any, row: dict[str, Any]) -> bool:
        history.append(dict(row))
        state["rows"] += 1
        if writer is not None:
            writer.add_scalar("train/return", float(row.get("return", 0.0)), lrn.env_steps)
        if settings.eval_every and lrn.env_steps >= state["next_eval"]:
            rows = evaluate_policies(scenario, eval_env, lrn, settings.eval_episodes, settings.seed + 10_000, ())
            score = float(np.mean([r["return"] for r in rows[lrn.name]]))
            evals.append({"env_steps": lrn.env_steps, "return": score})
            state["next_eval"] = next_multiple(lrn.env_steps, settings.eval_every)
            if writer is not None:
                writer.add_scalar("eval/return", score, lrn.env_steps)
        if state["rows"] % settings.checkpoint_every == 0:
            _checkpoint(folder, lrn, history, evals)
        if on_progress is not None:
            on_progress(lrn.env_steps, row)
        return settings.time_limit is None or time.perf_counter() - t0 < settings.time_limit

    if settings.engine == "batched":
        from cpss.runs.batched_training import learn

        learn(scenario, learner, settings.steps, settings.days, settings.device, callback)
    else:
        learner.learn(settings.steps, callback=callback)
    _checkpoint(folder, learner, history, evals)
    learning_curve(folder, pd.DataFrame(history), pd.DataFrame(evals), baselines)
    summary = {
        "algo": settings.algo,
        "env_steps": learner.env_steps,
        "episodes": learner.episodes,
        "stopped_by_time_limit": learner.env_steps < settings.steps,
        "wall_seconds": time.perf_counter() - t0,
        "last_eval_return": evals[-1]["return"] if evals else None,
        "baselines": baselines,
    }
    write_json(folder / "summary.json", summary)
    write_status(folder, "done", env_steps=learner.env_steps)
    if writer is not None:
        writer.close()
    return summary


def next_multiple(steps: int, every: int) -> int:
    """The first multiple of ``every`` after ``steps`` (the next evaluation); 0 when ``every`` is 0."""
    return (steps // every + 1) * every if every else 0


def read_rows(path: Path, upto: int) -> list[dict[str, Any]]:
    """Rows of a run's CSV logged up to env step ``upto`` (a resumed run drops the later ones)."""
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    return frame[frame["env_steps"] <= upto].to_dict("records")


def _checkpoint(folder: Path, learner: Any, history: list, evals: list) -> None:
    learner.save(folder / CHECKPOINT)
    atomic_write_text(folder / "metrics.csv", pd.DataFrame(history).to_csv(index=False))
    if evals:
        atomic_write_text(folder / "eval.csv", pd.DataFrame(evals).to_csv(index=False))


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("--tensorboard: install the 'rl' extra (pip install -e '.[rl]')") from None
    return SummaryWriter(log_dir=str(folder / "tensorboard"))


def resolve_run(
    scenario_name: str,
    *,
    algo: str | None,
    steps: int | None,
    seed: int | None,
    config: str | None,
    sets: list[str] | None,
    hyper: dict[str, Any],
    out: Path | None,
    resume: Path | None,
    make_scenario: Callable[..., Any],
    out_name: str,
    **extra: Any,
) -> tuple[Scenario, TrainSettings, Path, dict[str, Any] | None]:
    """Scenario, settings and folder of a new training run, or of the run being resumed.

    Shared by the native and the RLlib ``cpss train``. A resumed run takes its scenario, config,
    algorithm, seed and hyperparameters from its ``config.json`` (returned as the last item, None for
    a new run); ``extra`` are the remaining :class:`TrainSettings` fields. A new run's folder is
    checked (not created).
    """
    if resume is not None:
        if not (resume / "config.json").is_file():
            raise ConfigError(f"--resume {resume}: not a training run folder (no config.json)")
        saved = read_run_config(resume, TRAIN_KEYS)
        given = {"scenario": scenario_name, "algo": algo, "seed": seed, "config": config, "sets": sets, "out": out}
        check_resume(resume, saved, hyper=hyper, **given)
        scen, _ = make_scenario(saved["scenario"], None, None, None)
        scen = type(scen)(type(scen.config).model_validate(saved["config"]))
        settings = TrainSettings(
            algo=saved["algo"],
            steps=steps or saved["steps"],
            seed=saved["seed"],
            hyperparams=saved["hyperparams"],
            **extra,
        )
        return scen, settings, resume, saved
    if algo is None:
        raise ConfigError("--algo: required for a new run (see cpss train --help)")
    scen, root = make_scenario(scenario_name, config, sets, seed)
    settings = TrainSettings(algo=algo, steps=steps or 20_000, seed=root, hyperparams=hyper, **extra)
    folder = out or default_out("train", f"{scenario_name}-{out_name}")
    check_out(folder)
    return scen, settings, folder, None


def native_train_command(
    scenario_name: str,
    *,
    algo: str | None,
    steps: int | None,
    seed: int | None,
    config: str | None,
    sets: list[str] | None,
    hyper: dict[str, Any],
    out: Path | None,
    device: str,
    resume: Path | None,
    eval_every: int,
    eval_episodes: int,
    tensorboard: bool,
    time_limit: float | None,
    threads: int,
    engine: str,
    days: int,
    make_scenario: Callable[..., Any],
    progress: Callable[[], Any],
    console: Any,
) -> None:
    """The body of ``cpss train`` for the native learners: resolve, train with a progress bar, report.

    Everything is checked (arguments, hyperparameters, the learner against the env) before a new
    run's folder is created; a new run that fails before its first checkpoint leaves no folder.
    """
    import shutil

    import agents
    from agents.hyperparams import check

    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device: must be cpu or cuda (got {device!r})")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
    from cpss.runs.batched_training import check_engine

    check_engine(engine, scenario_name, algo, days)
    if algo is not None and resume is None:
        cls = agents.get(algo)
        if "device" in {f.name for f in dataclasses.fields(cls.config_cls)}:
            hyper.setdefault("device", device)
        hyper = check(algo, cls.config_cls, hyper)
    scen, settings, folder, saved = resolve_run(
        scenario_name,
        algo=algo,
        steps=steps,
        seed=seed,
        config=config,
        sets=sets,
        hyper=hyper,
        out=out,
        resume=resume,
        make_scenario=make_scenario,
        out_name=algo or "",
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        tensorboard=tensorboard,
        time_limit=time_limit,
        threads=threads,
        engine=engine,
        days=days,
        device=device,
    )
    if saved is None:
        cls = agents.get(settings.algo)
        fields = {f.name for f in dataclasses.fields(cls.config_cls)}
        for key, value in scen.learner_hints().items():
            if key in fields:
                settings.hyperparams.setdefault(key, value)
        probe = make_env(scen, cls.capabilities.multi_agent, scen.default_policy())
        agents.make(settings.algo, probe, seed=settings.seed, **settings.hyperparams)  # refuses a wrong env kind
        folder.mkdir(parents=True, exist_ok=True)
    try:
        _train_with_progress(scen, settings, folder, saved is not None, progress, console)
    except BaseException:
        if saved is None and not (folder / CHECKPOINT).is_file():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _train_with_progress(
    scen: Scenario, settings: TrainSettings, folder: Path, resume: bool, progress: Callable[[], Any], console: Any
) -> None:
    t0 = time.perf_counter()
    recent: list[float] = []
    with progress() as bar:
        task = bar.add_task(f"{settings.algo} on {scen.name}", total=settings.steps)

        def on_progress(done: int, row: dict) -> None:
            recent.append(float(row.get("return", 0.0)))
            rate = done / max(1e-9, time.perf_counter() - t0)
            bar.update(
                task,
                completed=min(done, settings.steps),
                description=f"{settings.algo} on {scen.name}  {rate:,.0f} steps/s  return {np.mean(recent[-20:]):.3f}",
            )

        summary = train(scen, settings, folder, resume=resume, on_progress=on_progress)
    console.print(
        f"trained {settings.algo} for {summary['env_steps']} env steps in "
        f"{summary['wall_seconds']:.1f} s; last evaluation return: {summary['last_eval_return']}"
    )
    console.print(f"run folder: {folder}")
