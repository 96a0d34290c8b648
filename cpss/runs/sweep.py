"""Parameter sweeps: a grid of config values x seeds, run in parallel, one tidy row per run.

Used by ``cpss sweep``. A sweep folder holds ``sweep.json`` (every invocation with its grid and
the resolved base configs) and ``results.csv``: one row per run with ``run_id``, ``status``
(``done`` / ``failed``), ``policy``, one column per grid key, ``seed``, the episode ``return``
and ``length``, every summary metric of the day, ``wall_seconds``, ``host`` and ``error``.
A run with seed ``s`` plays the day ``env.reset(seed=s)``: the day of ``cpss simulate --seed s``.
The table is rewritten atomically as runs finish (at most once a second, and at the end), so
an interrupted sweep resumes: the same command skips finished runs and retries failed ones.
``cpss sweep`` exits 0 when at least one run is done and 1 when every run failed.
Rerunning into the same folder with more grid values or another ``--checkpoint`` extends it.

Runs execute through :func:`cpss.runs.backends.map_unordered`: ``local`` (a process pool on this
machine; one worker runs in-process) or ``ray`` (Ray tasks on a local Ray instance, or on a
cluster with ``address``). Workers receive plain dicts and import :func:`run_one` by module path.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cpss.kit.config import ConfigError, parse_override
from cpss.runs.backends import check_backend, map_unordered
from cpss.runs.grid import check_points, grid_overrides, parse_grid
from cpss.runs.runio import atomic_write_text, versions, write_json

RESULTS = "results.csv"
SPEC = "sweep.json"
FRONT = ("run_id", "status", "policy")
BACK = ("seed", "return", "length")
TAIL = ("wall_seconds", "host", "config_id", "checkpoint", "error")
FLUSH_SECONDS = 1.0


def _digest(data: Any, n: int) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:n]


def plan(
    scenario: str,
    config: str | None,
    sets: list[str] | None,
    grid: dict[str, list[Any]],
    seeds: int,
    policy: str | None = None,
    checkpoint: Path | None = None,
    trust_checkpoint: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Expand a sweep into run specs (plain dicts) and describe it for ``sweep.json``.

    Args:
        scenario: Scenario name.
        config: Shipped config name or TOML path (ignored with ``checkpoint``: its run's config is the base).
        sets: ``--set`` overrides applied to the base config.
        grid: Parsed ``--grid`` axes; the key ``policy`` varies the heuristic.
        seeds: Runs per grid point, with seeds ``0..seeds-1``.
        policy: Heuristic of every run (default: the scenario's default heuristic for the config).
        checkpoint: A training run folder or checkpoint; its learner acts instead of a heuristic.
            It is read and checked here (:func:`cpss.runs.learners.check_checkpoint`).
        trust_checkpoint: Load an RLlib run's raw checkpoint (unpickles: runs code from the folder).

    Returns:
        The run specs and the invocation record.
    """
    import scenarios
    from cpss.kit.config import build_config

    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1 (got {seeds})")
    grid = dict(grid)
    cls = scenarios.scenario_class(scenario)
    if cls.seed_key in grid:
        raise ConfigError(f"--grid {cls.seed_key}: use --seeds N for seeds")
    overrides = {".".join(k): v for k, v in (parse_override(s) for s in sets or [])}
    label, ckpt_path = None, None
    if checkpoint is not None:
        from cpss.runs.training import locate_checkpoint

        if policy is not None or "policy" in grid or config is not None:
            raise ConfigError(
                "--checkpoint: not with --policy, --grid policy=... or --config (the run's config is the base)"
            )
        ckpt, saved = locate_checkpoint(checkpoint)
        if saved["scenario"] != scenario:
            raise ConfigError(f"--checkpoint {checkpoint}: trained on {saved['scenario']}, not {scenario}")
        from cpss.runs.learners import check_checkpoint

        check_checkpoint(ckpt, saved, trust=trust_checkpoint)
        base = build_config(cls.config_cls, saved["config"], overrides=overrides, source=str(checkpoint))
        label = ("rllib-" if saved.get("backend") == "rllib" else "") + str(saved["algo"])
        ckpt_path = str(ckpt.resolve())
    else:
        base = scenarios.load_config(scenario, config, overrides)
    base_dict = base.model_dump(mode="json")
    policies = grid.pop("policy", None)
    if policies is None:
        policies = [label or policy or cls(base).default_policy()]
    if ckpt_path is None:
        for name in policies:
            if name not in cls.heuristic_policies:
                raise ConfigError(
                    f"--policy: unknown policy {name!r} for {scenario}; choose from {', '.join(cls.heuristic_policies)}"
                )
    check_points(cls.config_cls, grid, base_dict)
    config_id = _digest(base_dict, 8)
    specs = []
    for pol, values in itertools.product(policies, itertools.product(*grid.values())):
        params = dict(zip(grid, values, strict=True))
        for seed in range(seeds):
            ident = {"config_id": config_id, "policy": pol, "checkpoint": ckpt_path, "params": params, "seed": seed}
            specs.append({**ident, "run_id": _digest(ident, 16), "scenario": scenario, "base": base_dict})
            specs[-1]["trust_checkpoint"] = bool(trust_checkpoint)
    invocation = {
        "scenario": scenario,
        "config": config,
        "set": list(sets or []),
        "seeds": seeds,
        "policies": policies,
        "grid": grid,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "config_id": config_id,
        "runs": len(specs),
    }
    return specs, {"invocation": invocation, "config": base_dict}


# ---- one run ----------------------------------------------------------------------------
def cell(value: Any) -> Any:
    """A grid value as stored in results.csv (tables and arrays as JSON)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one day of a sweep and return its tidy row; errors are recorded, not raised.

    Args:
        spec: A run spec from :func:`plan` (plain data; picklable for process pools and Ray).

    Returns:
        The row: identity, parameters, seed, return, length, summary metrics, wall time,
        ``status`` (``done`` or ``failed``) and ``error``.
    """
    t0 = time.perf_counter()
    row = _identity(spec)
    try:
        import agents
        import scenarios
        from agents.evaluate import evaluate
        from cpss.kit.config import build_config
        from cpss.runs.learners import load_learner
        from cpss.runs.training import locate_checkpoint, make_env

        t0 = time.perf_counter()  # imports (once per worker) are not part of a run's wall time
        cls = scenarios.scenario_class(spec["scenario"])
        cfg = build_config(cls.config_cls, spec["base"], overrides=grid_overrides(spec["params"]), source="grid")
        scen = cls(cfg)
        if spec.get("checkpoint"):
            ckpt, saved = locate_checkpoint(Path(spec["checkpoint"]))
            env = make_env(scen, saved["multi_agent"], saved.get("others"))
            learner = load_learner(ckpt, env, saved, trust=bool(spec.get("trust_checkpoint")))
        else:
            env = make_env(scen, True)
            learner = agents.make("heuristic", env, policy=spec["policy"])
        result = evaluate(env, learner, 1, seeds=[spec["seed"]])[0]  # the day of `cpss simulate --seed`
        result.pop("episode", None)
        row.update(status="done", error="", **result)
    except Exception as exc:  # a failed run is data, not a crash of the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" [{Path(last[0].filename).name}:{last[0].lineno}]" if last else ""
        text = " ".join(str(exc).split())
        text = text if len(text) <= 300 else text[:297] + "..."
        row.update(status="failed", error=f"{type(exc).__name__}: {text}{where}")
    row["wall_seconds"] = time.perf_counter() - t0
    row["host"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def _identity(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": spec["run_id"],
        "policy": spec["policy"],
        "seed": spec["seed"],
        "config_id": spec["config_id"],
        "checkpoint": spec.get("checkpoint"),
        **{k: cell(v) for k, v in spec["params"].items()},
    }


def failed_row(spec: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """The row of a run whose worker died (the run itself could not record its error)."""
    return {**_identity(spec), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


# ---- the results table ------------------------------------------------------------------
def read_results(folder: Path) -> list[dict[str, Any]]:
    """Rows of ``folder/results.csv`` (empty if there is none)."""
    path = folder / RESULTS
    if not path.is_file():
        return []
    return pd.read_csv(path).to_dict("records")


def grid_keys(folder: Path) -> list[str]:
    """The grid keys of every invocation recorded in ``folder/sweep.json``, in order."""
    path = folder / SPEC
    keys: list[str] = []
    for inv in json.loads(path.read_text())["invocations"] if path.is_file() else []:
        keys += [k for k in inv["grid"] if k not in keys]
    return keys


def write_results(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Atomically write the rows as ``results.csv``: identity, parameters, seed, metrics, provenance."""
    frame = pd.DataFrame(rows)
    front = [c for c in (*FRONT, *grid_keys(folder), *BACK) if c in frame]
    tail = [c for c in TAIL if c in frame]
    metrics = [c for c in frame if c not in front and c not in tail]
    atomic_write_text(folder / RESULTS, frame[front + metrics + tail].to_csv(index=False))


def update_spec(folder: Path, record: dict[str, Any]) -> None:
    """Add an invocation (and its base config) to ``folder/sweep.json``."""
    path = folder / SPEC
    data = json.loads(path.read_text()) if path.is_file() else {"invocations": [], "configs": {}}
    if data["invocations"] and data["invocations"][0]["scenario"] != record["invocation"]["scenario"]:
        raise ConfigError(f"--out {folder}: holds a sweep of {data['invocations'][0]['scenario']}")
    data["invocations"].append({**record["invocation"], "versions": versions()})
    data["configs"][record["invocation"]["config_id"]] = record["config"]
    write_json(path, data)


def run_sweep(
    specs: list[dict[str, Any]],
    folder: Path,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the specs not yet done in ``folder`` and keep ``results.csv`` up to date.

    Args:
        specs: Run specs from :func:`plan`.
        folder: The sweep folder (existing rows are kept; failed rows of these specs are retried).
        backend: ``local`` or ``ray``.
        workers: Parallel runs (default: the number of CPUs).
        address: Ray cluster address (``ray://host:10001``); None starts a local Ray.
        on_row: Called with each finished row.

    Returns:
        The rows of this call's runs.
    """
    check_backend(backend, workers, address)
    wanted = {s["run_id"] for s in specs}
    rows = [r for r in read_results(folder) if r.get("status") == "done" or r.get("run_id") not in wanted]
    finished = {r["run_id"] for r in rows if r.get("status") == "done"}
    todo = [s for s in specs if s["run_id"] not in finished]
    source = map_unordered(run_one, todo, backend=backend, workers=workers, address=address, on_error=failed_row)
    new: list[dict[str, Any]] = []
    last = time.monotonic()
    try:
        for row in source:
            new.append(row)
            if on_row is not None:
                on_row(row)
            if time.monotonic() - last >= FLUSH_SECONDS:
                write_results(folder, rows + new)
                last = time.monotonic()
    finally:
        if rows or new:
            write_results(folder, rows + new)
    return new


def sweep_command(
    scenario: str,
    *,
    config: str | None,
    sets: list[str] | None,
    grid: list[str] | None,
    seeds: int,
    policy: str | None,
    checkpoint: Path | None,
    backend: str,
    workers: int | None,
    address: str | None,
    out: Path | None,
    console: Any,
    err_console: Any,
    trust_checkpoint: bool = False,
) -> int:
    """The body of ``cpss sweep``: plan, run with a progress bar, report; returns the exit code.

    The code is 0 when at least one run of the sweep is done (failed runs are rows with status
    ``failed``, retried by the same command), 1 with a one-line message when every run failed,
    and 130 on Ctrl-C.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cpss.runs.runio import check_out, default_out

    check_backend(backend, workers, address)
    specs, record = plan(scenario, config, sets, parse_grid(grid), seeds, policy, checkpoint, trust_checkpoint)
    folder = out or default_out("sweep", scenario)
    if not (folder / SPEC).is_file():
        check_out(folder)
    folder.mkdir(parents=True, exist_ok=True)
    update_spec(folder, record)
    finished = {r["run_id"] for r in read_results(folder) if r.get("status") == "done"}
    todo = sum(s["run_id"] not in finished for s in specs)
    if todo < len(specs):
        err_console.print(f"resuming {folder}: {len(specs) - todo} of {len(specs)} runs already done")
    counts = {"done": 0, "failed": 0}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(f"sweep {scenario} ({backend})", total=todo)

            def on_row(row: dict[str, Any]) -> None:
                counts[row["status"]] += 1
                bar.update(
                    task,
                    advance=1,
                    description=f"sweep {scenario} ({backend}): {counts['done']} done, {counts['failed']} failed",
                )

            new = run_sweep(specs, folder, backend=backend, workers=workers, address=address, on_row=on_row)
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted after {counts['done'] + counts['failed']} runs; rerun the same command to resume"
        )
        return 130
    failed = [r["error"] for r in new if r["status"] == "failed"]
    console.print(
        f"{counts['done']} runs done, {counts['failed']} failed, {len(specs) - todo} skipped "
        f"(already done); results: {folder / RESULTS}"
    )
    errors = sorted(set(failed))
    for error in errors[:5]:
        console.print(f"  failed: {error}", highlight=False, markup=False, soft_wrap=True)
    if len(errors) > 5:
        console.print(f"  ... and {len(errors) - 5} more distinct errors in {RESULTS}", highlight=False, markup=False)
    if failed and len(failed) == len(specs):  # nothing of the sweep is done: not a result, an error
        err_console.print(
            f"all {len(failed)} runs failed; first error: {failed[0]}", highlight=False, markup=False, soft_wrap=True
        )
        return 1
    if failed:
        console.print(f"{len(failed)} of {len(new)} runs failed (status failed); the same command retries them")
    return 0
