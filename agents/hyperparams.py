"""Validation of hyperparameters before a learner is built.

A learner's config is a dataclass; :func:`check` reads each value given by name against the
field's type and a range (by field name, :data:`RANGES`), so ``--hp hidden=0`` or
``--hp gamma=abc`` is refused with one line naming the learner and the field, instead of a
``TypeError`` deep inside a network constructor.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

#: Allowed interval per field name: (low, high, low inclusive, high inclusive); None is unbounded.
RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    **dict.fromkeys(
        (
            "batch_size",
            "bins",
            "buffer_size",
            "epsilon_decay_steps",
            "gradient_steps",
            "n_steps",
            "num_minibatches",
            "rollout_steps",
            "target_update_interval",
            "train_every",
            "train_frequency",
            "update_epochs",
            "hidden",
        ),
        (1, None, True, False),
    ),
    "learning_starts": (0, None, True, False),
    **dict.fromkeys(
        ("gamma", "gae_lambda", "epsilon", "epsilon_min", "epsilon_start", "epsilon_end"), (0, 1, True, True)
    ),
    "tau": (0, 1, False, True),
    **dict.fromkeys(
        (
            "actor_lr",
            "critic_lr",
            "learning_rate",
            "max_grad_norm",
            "gumbel_temperature",
            "ridge",
            "prior_std",
            "prior_alpha",
            "prior_beta",
            "clip_coef",
        ),
        (0, None, False, False),
    ),
    **dict.fromkeys(
        (
            "alpha",
            "c",
            "ent_coef",
            "entropy_coef",
            "value_coef",
            "exploration_noise",
            "noise_std",
            "logit_penalty",
            "ou_theta",
            "epsilon_decay",  # a rate (epsilon-greedy) or a factor (Q-learning): the configs check the rest
        ),
        (0, None, True, False),
    ),
}


def _in_range(name: str, value: float) -> str | None:
    if name not in RANGES:
        return None
    low, high, low_in, high_in = RANGES[name]
    ok = (low is None or (value >= low if low_in else value > low)) and (
        high is None or (value <= high if high_in else value < high)
    )
    if ok:
        return None
    left = "[" if low_in else "("
    right = "]" if high_in else ")"
    return f"must be in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """``value`` as the field's type, or raise ``ValueError`` saying what was expected."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false (got {value!r})")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer (got {value!r})")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number (got {value!r})")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"must be finite (got {value!r})")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string (got {value!r})")
        return value
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))} (got {value!r})")
        return value
    if origin is tuple:  # tuple[int, ...]: layer sizes; a single integer means one layer
        items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(items, list | tuple) or not items:
            raise ValueError(f"must be a non-empty list of integers, e.g. [64, 64] (got {value!r})")
        item_type = typing.get_args(annotation)[0]
        return tuple(_coerce(name, item_type, item) for item in items)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None and len(args) < len(typing.get_args(annotation)):
            return None
        for arg in args:
            try:
                return _coerce(name, arg, value)
            except ValueError:
                continue
        raise ValueError(f"has the wrong type (got {value!r})")
    return value


def check(learner: str, config_cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Validate hyperparameters for ``config_cls`` by name and return them coerced to the field types.

    Args:
        learner: The learner's registry name (for messages).
        config_cls: The learner's config dataclass.
        values: Field name -> value, as typed by the user (TOML literals).

    Returns:
        The values, ints widened to floats where the field is a float and lists made tuples.

    Raises:
        ValueError: An unknown field, a value of the wrong type or out of its range; one line
            naming the learner and the field.
    """
    hints = typing.get_type_hints(config_cls)
    fields = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        valid = ", ".join(fields) if fields else "(none)"
        raise ValueError(f"{learner}: unknown hyperparameter(s) {', '.join(unknown)}; valid: {valid}")
    out = {}
    for name, value in values.items():
        try:
            coerced = _coerce(name, hints[name], value)
            items = coerced if isinstance(coerced, tuple) else (coerced,)
            for item in items:
                if isinstance(item, int | float) and not isinstance(item, bool):
                    problem = _in_range(name, item)
                    if problem:
                        raise ValueError(f"{problem} (got {value!r})")
        except ValueError as exc:
            raise ValueError(f"{learner}: hyperparameter {name} {exc}") from None
        out[name] = coerced
    return out
