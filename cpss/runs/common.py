"""Shared pieces of the ``cpss`` command line: consoles, option types, error handling, tables."""

from __future__ import annotations

import functools
import os
import sys
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


DEBUG_ENV = "CPSS_DEBUG"


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` (its first line) on stderr; return the exit to raise."""
    line = message.splitlines()[0] if message.strip() else "unknown error"
    err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code=code)


def os_error_message(exc: OSError) -> str:
    """One line for an ``OSError``: the path(s) it names and the system's reason."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or type(exc).__name__
    return f"{paths}: {reason}" if paths else reason


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn bad input into one line on stderr and exit code 2.

    Bad input is a :class:`ConfigError`, a ``ValueError`` (learners, envs and checkpoints raise
    them), a file that cannot be read or written (``OSError``) and input nested too deeply for
    Python to parse (``RecursionError``). Anything else is a bug: one line too, exit code 1, and
    the traceback only when the environment variable ``CPSS_DEBUG`` is set.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
            raise
        except (ConfigError, ValueError) as exc:
            raise fail(str(exc) or type(exc).__name__) from None
        except OSError as exc:
            raise fail(os_error_message(exc)) from None
        except RecursionError:
            raise fail("input nested too deeply to read") from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug: rerun with {DEBUG_ENV}=1 and report it",
                code=1,
            ) from None

    return wrapper


class OneLineErrors(typer.core.TyperGroup):
    """A command group whose usage errors (unknown option, value out of range) are one line.

    Click prints a usage block and Typer a boxed panel; here the message alone goes to stderr as
    ``error: ...`` with exit code 2, like every other bad input.
    """

    def main(
        self,
        args: Any = None,
        prog_name: Any = None,
        complete_var: Any = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; usage errors become one line and exit code 2."""
        from typer._click import exceptions as click_exc  # Typer 0.2x vendors its own Click

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exc.UsageError as exc:
            command = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            fail(f"{command}{exc.format_message()}")
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)
        except click_exc.ClickException as exc:
            fail(exc.format_message())
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)
        except (getattr(click_exc, "Abort", typer.Abort), typer.Abort):
            fail("aborted", code=1)
            if not standalone_mode:
                raise
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


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
