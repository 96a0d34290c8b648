"""``cpss calibrate museum --log FILE``: fit the museum to a visitor log and write a validated config.

The fit itself is :func:`cpss.runs.fitting.fit`. The run folder holds:

* ``config.toml`` — the base config with the fitted values, their standard errors in comments
  at its top; it is read back and validated before the folder is finished, so
  ``cpss simulate museum --config DIR/config.toml`` runs it;
* ``fit.json`` — every fitted parameter with its standard error and method, the observed and
  fitted moments, the parameters left alone and why, the wall-clock and the simulated days;
* ``report.md`` — the same as tables, plus the statistics of the log against a simulated day
  at the fit (:func:`cpss.data.stats.distances`), and ``comparison.png``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from cpss.kit.config import ConfigError
from cpss.runs.common import ConfigOpt, OutOpt, SeedOpt, SetOpt, console, progress
from cpss.runs.compare import FloorOpt


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """``data`` (nested dicts of scalars, lists and tables; None left out) as TOML."""
    lines, tables = [], []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        out += f"\n[{name}]\n" + toml_text(value, name)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _report(fit: Any, log_path: Path, rows: list[dict[str, Any]], not_identified: dict[str, str]) -> str:
    from cpss.runs.compare import rows_markdown

    lines = [
        f"# Calibration of the museum to {log_path.name}",
        "",
        f"Fit: {fit.seconds:.1f} s wall-clock, {fit.simulated_days} simulated days "
        f"({len(fit.fit_seeds)} per trial, seeds {fit.fit_seeds[0]}..{fit.fit_seeds[-1]}).",
        "",
        "## Fitted parameters",
        "",
        "| parameter | value | standard error | method |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| `{p.path}` | {p.value:.4g} | {p.se:.2g} | {p.method} |" for p in fit.parameters]
    lines += [
        "",
        "## Moments matched (observed vs fresh simulated days at the fit)",
        "",
        "| moment | observed | fitted |",
    ]
    lines += ["|---|---:|---:|"] + [f"| {k} | {v:.4g} | {fit.fitted[k]:.4g} |" for k, v in fit.observed.items()]
    lines += [
        "",
        "## Statistics: the log vs one simulated day at the fit",
        "",
        rows_markdown(rows, "observed", "fitted"),
    ]
    lines += ["![comparison](comparison.png)", "", "## Not fitted (left at the base config)", ""]
    lines += [f"* `{k}`: {v}" for k, v in not_identified.items()]
    return "\n".join(lines) + "\n"


def calibrate_command(
    scenario: Annotated[str, typer.Argument(help="scenario to fit (museum)")],
    log: Annotated[Path, typer.Option("--log", help="visitor log: event or room log, .csv or .parquet")],
    floor: FloorOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, max=64, help="simulated days per trial")] = 4,
    max_evals: Annotated[
        int, typer.Option("--max-evals", min=1, help="most steps of the fit (each: 1 + one trial per parameter)")
    ] = 30,
    seed: SeedOpt = None,
    out: OutOpt = None,
) -> None:
    """Fit the museum's behavioural parameters to a visitor log; write a validated config and a report."""
    from cpss.data.readers import read_log
    from cpss.data.stats import distances, summarize
    from cpss.kit.config import build_config, read_toml
    from cpss.runs.common import scenario_from_cli
    from cpss.runs.compare import plot_comparison
    from cpss.runs.fitting import NOT_IDENTIFIED, fit, floor_of
    from cpss.runs.logs import simulate_log
    from cpss.runs.runio import atomic_write_text, check_out, default_out, run_folder, write_json

    if scenario != "museum":
        raise ConfigError(f"calibrate: scenario {scenario!r} cannot be fitted yet (only museum)")
    sets = [*(set_ or []), *([f"floor.file={json.dumps(str(floor.resolve()))}"] if floor is not None else [])]
    scen, root = scenario_from_cli(scenario, config, sets, seed)
    out = out or default_out("calibrate", f"{scenario}-{log.stem}")
    check_out(out)
    rooms, n_exhibits, n_rooms = floor_of(scen.config, root)
    observed = read_log(log, rooms)
    with progress() as bar:
        task = bar.add_task("calibrating (simulated days)", total=None)
        result = fit(observed, scen.config, days=days, seed=root, max_evals=max_evals,
                     on_eval=lambda n: bar.update(task, completed=n))  # fmt: skip
    fitted_log = simulate_log(result.config, root + 10_000, "fitted")
    stats = [summarize(lg, n_exhibits=n_exhibits, n_rooms=n_rooms) for lg in (observed, fitted_log)]
    rows = distances(stats[0], stats[1])
    text = f"# {scenario} fitted by `cpss calibrate` to {log.name} (see fit.json and report.md)\n"
    text += "# fitted value ± standard error (method):\n"
    text += "".join(f"#   {p.path} = {p.value:.4g} ± {p.se:.2g} ({p.method})\n" for p in result.parameters) + "\n"
    text += toml_text(result.config.model_dump(mode="json"))
    with run_folder(out) as tmp:
        atomic_write_text(tmp / "config.toml", text)
        build_config(type(scen.config), read_toml(tmp / "config.toml"), source=str(out / "config.toml"))
        write_json(
            tmp / "fit.json",
            {
                "log": str(log),
                "seconds": result.seconds,
                "simulated_days": result.simulated_days,
                "fit_seeds": result.fit_seeds,
                "parameters": [vars(p) for p in result.parameters],
                "observed_moments": result.observed,
                "fitted_moments": result.fitted,
                "not_identified": NOT_IDENTIFIED,
                "statistics": rows,
            },
        )
        atomic_write_text(tmp / "report.md", _report(result, log, rows, NOT_IDENTIFIED))
        plot_comparison(stats[0], stats[1], ("observed", "fitted"), tmp / "comparison.png")
    console.print(f"fitted in {result.seconds:.1f} s over {result.simulated_days} simulated days")
    for p in result.parameters:
        if p.method == "simulated moments":
            console.print(f"  {p.path} = {p.value:.4g} ± {p.se:.2g}")
    console.print(f"run folder: {out}")
