"""Validated configuration: pydantic models, TOML loading and ``--set`` overrides.

Every user-facing config is a :class:`StrictModel` (unknown keys are errors, values are
range-checked). Errors surface as :class:`ConfigError`, whose message is one line naming the
file and the field, which the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A bad configuration value, file or override; the message is a single line."""


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are rejected, instances are frozen.

    Values are not coerced (pydantic strict mode): ``true`` is no integer or number, ``3.5``
    and ``"3"`` are no integer; an integer is still accepted where a number is expected. A
    string may not be empty (``floor.file=`` names no file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, str_min_length=1)


Probability = Field(ge=0.0, le=1.0)


class FTerms(StrictModel):
    """Weights of the five terms of the personalisation function ``f``.

    Each weight multiplies one term; 0 switches the term off (ablation). Used for
    recommendation acceptance, for users' own choices and for the satisfaction a visit yields.
    """

    user: float = Field(1.0, ge=0.0, description="weight of the user term (interest match)")
    personaliser: float = Field(1.0, ge=0.0, description="weight of the personaliser term")
    crowd: float = Field(1.0, ge=0.0, description="weight of the crowd term")
    context: float = Field(1.0, ge=0.0, description="weight of the context term")
    environment: float = Field(1.0, ge=0.0, description="weight of the environment term")


class SensorConfig(StrictModel):
    """Occupancy sensors: what personalisers see instead of the ground truth."""

    relative_noise: float = Field(0.1, ge=0.0, le=2.0, description="sd of multiplicative noise")
    absolute_noise: float = Field(0.5, ge=0.0, description="sd of additive noise (persons)")
    dropout: float = Field(0.02, ge=0.0, le=1.0, description="chance a reading is stale")


def format_validation_error(err: ValidationError, source: str) -> str:
    """Turn a pydantic error into one line: ``source: field.path: message (got value)``."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<root>"
    msg = first["msg"]
    extra = ""
    if "input" in first and first["type"] != "missing" and not isinstance(first["input"], dict):
        extra = f" (got {first['input']!r})"
    more = len(err.errors()) - 1
    tail = f" [+{more} more]" if more else ""
    return f"{source}: {loc}: {msg}{extra}{tail}"


def file_error(path: str | Path, exc: Exception, kind: str) -> ConfigError:
    """A one-line :class:`ConfigError` naming ``path`` for a file that cannot be read or parsed.

    Args:
        path: The file.
        exc: What reading or parsing it raised: an ``OSError``, a ``UnicodeDecodeError``, or the
            parser's ``ValueError`` (a number with more digits than Python converts).
        kind: The format the file should have ("TOML", "JSON").

    Returns:
        The error to raise (``from None``).
    """
    if isinstance(exc, UnicodeDecodeError):
        return ConfigError(f"{path}: not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}")
    if isinstance(exc, OSError):
        return ConfigError(f"{path}: cannot read: {exc.strerror or exc}")
    if "integer string conversion" in str(exc):
        return ConfigError(f"{path}: invalid {kind}: a number has more than {sys.get_int_max_str_digits()} digits")
    return ConfigError(f"{path}: invalid {kind}: {' '.join(str(exc).split())}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, raising :class:`ConfigError` (naming the file) for missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise file_error(path, exc, "TOML") from None


def parse_override(text: str, option: str = "--set") -> tuple[list[str], Any]:
    """Parse ``key.sub=value``; the value is read as a TOML literal, else kept as a string.

    Args:
        text: One override as typed on the command line.
        option: The option it came from, for error messages.

    Returns:
        The key path and the parsed value.
    """
    if "=" not in text:
        raise ConfigError(
            f"{option} {text!r}: expected KEY=VALUE (e.g. {'gamma=0.9' if option == '--hp' else 'visitors.count=300'})"
        )
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"{option} {text!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ConfigError(f"{option} {key}: value nested too deeply") from None
    return key.split("."), value


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted-key overrides applied (``{"a.b": 1}``).

    A section that ``data`` lacks is first filled from ``defaults`` (the model's default
    values), so ``visitors.styles.ant.stop_bias=1`` changes one field of a default style.
    """
    out = _deep_copy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".") if isinstance(dotted, str) else list(dotted)
        node, dnode = out, defaults or {}
        for part in parts[:-1]:
            dnode = dnode.get(part, {}) if isinstance(dnode, dict) else {}
            child = node.get(part)
            if child is None:
                child = node[part] = _deep_copy(dnode) if isinstance(dnode, dict) else {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {dotted}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def flatten(data: Any, prefix: str = "", *, keep_empty: bool = False) -> dict[str, Any]:
    """Dotted keys of a nested dict (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``).

    Args:
        data: A nested dict (or a leaf value when ``prefix`` names it).
        prefix: The dotted key of ``data`` itself.
        keep_empty: Keep an empty table as a value (``{"a": {}}`` -> ``{"a": {}}``) instead of
            dropping it.
    """
    out: dict[str, Any] = {}
    if isinstance(data, dict) and (data or not keep_empty or not prefix):
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k), keep_empty=keep_empty))
    elif prefix:
        out[prefix] = data
    return out


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}


def build_config(
    model_cls: type[M],
    data: dict[str, Any] | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    source: str = "config",
) -> M:
    """Validate raw data (plus overrides) into ``model_cls`` or raise :class:`ConfigError`.

    Args:
        model_cls: The pydantic model to build.
        data: Raw nested dict, e.g. from TOML.
        overrides: Dotted-key overrides (``{"visitors.count": 300}``).
        source: Name used in error messages (a file path or "override").

    Returns:
        The validated config.
    """
    try:
        defaults = model_cls().model_dump() if overrides else {}
    except ValidationError:
        defaults = {}
    merged = apply_overrides(data or {}, overrides or {}, defaults)
    try:
        return model_cls.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_config(model_cls: type[M], path: str | Path | None = None, overrides: list[str] | None = None) -> M:
    """Load a TOML file into ``model_cls`` with ``--set``-style overrides.

    Args:
        model_cls: The pydantic model to build.
        path: A TOML file, or None for the defaults.
        overrides: Strings ``key.sub=value``.

    Returns:
        The validated config.
    """
    data = read_toml(path) if path is not None else {}
    parsed: dict[str, Any] = {}
    for text in overrides or []:
        keys, value = parse_override(text)
        parsed[".".join(keys)] = value
    return build_config(model_cls, data, overrides=parsed, source=str(path or "config"))
