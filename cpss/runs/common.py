"""Shared pieces of the ``cpss`` command line: consoles, option types, error handling, tables."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cpss.kit.config import ConfigError

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[str | None, typer.Option("--config", "-c", help="shipped config name or TOML path")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override KEY.SUB=VALUE (repeatable)")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="root seed (default: the config's)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="run folder (default: runs/...)")]


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad input into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ValueError, FileNotFoundError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


def scenario_from_cli(name: str, config: str | None, sets: list[str] | None, seed: int | None):
    """The scenario with its config (``--config``, ``--set``, ``--seed`` applied) and its root seed."""
    import scenarios
    from cpss.kit.config import parse_override

    if seed is not None and seed < 0:
        raise ConfigError(f"--seed: must be >= 0 (got {seed})")
    overrides: dict[str, Any] = {}
    for text in sets or []:
        keys, value = parse_override(text)
        overrides[".".join(keys)] = value
    cls = scenarios.scenario_class(name)
    if seed is not None:
        overrides[cls.seed_key] = seed
    scen = cls(scenarios.load_config(name, config, overrides))
    return scen, scen.seed


def progress() -> Progress:
    """A transient progress bar on stderr."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def summary_table(summaries: dict[str, dict[str, float]], title: str) -> Table:
    """One column per run, one row per metric (instantaneous metrics left out)."""
    table = Table(title=title)
    table.add_column("metric")
    for label in summaries:
        table.add_column(label, justify="right")
    for key in next(iter(summaries.values())):
        if key in ("minute", "present", "served", "occupancy_ratio"):  # instantaneous: zero at closing
            continue
        table.add_row(key, *(f"{s[key]:.3f}" for s in summaries.values()))
    return table
