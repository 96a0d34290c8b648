"""The ``--grid`` axes of a sweep: parsing, dotted overrides of a grid point, and up-front checks.

``--grid KEY=V1,V2,...`` takes TOML literals (``0.25``, ``true``, ``[1, 2]``, ``{crowd=0}``) or
plain strings (``interest``); an inline table sets several keys of a section at once (``{}`` is
the unchanged base), which makes one-at-a-time designs such as ablations. Before any run starts,
:func:`check_points` builds the config of every grid point, so an unknown key or an out-of-range
value stops the sweep with a one-line error naming the key and the value instead of becoming a
column of failed runs.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from typing import Any

from cpss.kit.config import ConfigError, StrictModel, build_config, flatten, parse_override


def _split_top(raw: str) -> list[str]:
    """Split on the commas that are outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return [p.strip() for p in parts]


def parse_grid(items: list[str] | None) -> dict[str, list[Any]]:
    """Parse ``--grid KEY=V1,V2,...`` options into ``{key: [values]}``.

    If any value of an axis is a float, the integers of that axis become floats
    (``0,0.5,1`` -> 0.0, 0.5, 1.0).

    Raises:
        ConfigError: A malformed option, an empty value or a repeated key.
    """
    grid: dict[str, list[Any]] = {}
    for text in items or []:
        if "=" not in text or not text.split("=", 1)[1].strip():
            raise ConfigError(f"--grid {text!r}: expected KEY=V1,V2,... (e.g. guides.device_share=0,0.5,1)")
        key, raw = (s.strip() for s in text.split("=", 1))
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--grid {text!r}: empty key")
        if key in grid:
            raise ConfigError(f"--grid {key}: given twice; list all its values in one option")
        if key == "seed":
            raise ConfigError(f"--grid {key}: use --seeds N for seeds")
        try:
            values = tomllib.loads(f"v = [{raw}]")["v"]
        except tomllib.TOMLDecodeError:
            parts = _split_top(raw)
            if any(not p for p in parts):
                raise ConfigError(f"--grid {text!r}: empty value in the list") from None
            values = [parse_override(f"v={p}")[1] for p in parts]
        except RecursionError:
            raise ConfigError(f"--grid {key}: value nested too deeply") from None
        if any(isinstance(v, float) for v in values):
            values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
        seen = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(seen)) < len(seen):
            raise ConfigError(f"--grid {key}: a value is listed twice")
        grid[key] = values
    return grid


def grid_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """Dotted overrides of one grid point (inline tables merged into their section)."""
    return flatten(params, keep_empty=True)


def check_points(config_cls: type[StrictModel], grid: dict[str, list[Any]], base: dict[str, Any]) -> None:
    """Check every grid axis names config keys and every grid point builds a valid config.

    Args:
        config_cls: The scenario's config model.
        grid: Parsed axes (without ``policy``).
        base: The base config as plain data.

    Raises:
        ConfigError: ``--grid KEY: unknown config key ...`` or ``--grid KEY=VALUE: <why>`` for
            the first grid point that does not validate.
    """
    known = flatten(base)
    for key, values in grid.items():
        for value in values:
            for dotted in grid_overrides({key: value}) or {key: None}:
                if dotted not in known and not any(k.startswith(dotted + ".") for k in known):
                    raise ConfigError(f"--grid {key}: unknown config key {dotted!r}")
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        try:
            build_config(config_cls, base, overrides=grid_overrides(point), source="grid")
        except ConfigError as exc:
            where = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in point.items())
            raise ConfigError(f"--grid {where}: {exc}") from None
