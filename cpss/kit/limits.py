"""Resource bounds every config is checked against when it loads: ticks per day and table memory.

Each field of a config has its own range, yet values in range can still imply a day that never
ends (``world.minutes_per_step=1e-300``: 2.4e302 ticks) or tables that do not fit in memory
(200 000 visitors x 20 000 exhibits). Every world's config validator estimates from its own
values what a day will cost and calls :func:`check_ticks` and :func:`check_memory`, so such a
config fails at load, with one line naming its fields, before anything is allocated. The floor
plan checks the tables of a plan loaded from a file the same way (:mod:`cpss.kit.floorplan`).
"""

from __future__ import annotations

from collections.abc import Mapping

from cpss.kit.config import ConfigError

MAX_TICKS_PER_DAY = 100_000
"""Most ticks (or metric rows) a day may have.

A 24-hour day at one-second ticks is 86 400 ticks, so every meaningful clock fits. A tick costs
at least tens of microseconds of Python plus a metrics row (and, in the venue, a row of the
occupancy history), so the cap keeps a day to minutes of compute and its history to
``100 000 x rows``, while ``1e-300`` minutes per tick would run for ever with memory climbing.
"""

MEMORY_BUDGET_BYTES = 4 * 2**30
"""Most bytes (4 GiB) that the per-pair tables of one world may take, as estimated from its config.

Per-pair tables grow with the product of two sizes: zones x zones walking minutes, zones x items,
users x items (``visited``), guides x items (the decision view), ticks x zones (the occupancy
history). 4 GiB holds every shipped config thousands of times over and still leaves room on an
ordinary 8–16 GiB machine for a sweep's worker or a batch.
"""


def check_ticks(ticks: float, fields: str, hint: str = "", unit: str = "ticks per day") -> None:
    """Raise :class:`ConfigError` if a day of ``ticks`` ticks exceeds :data:`MAX_TICKS_PER_DAY`.

    Args:
        ticks: Ticks (or metric rows) one day implies; ``inf`` and ``nan`` are refused too.
        fields: The config fields that imply it, named in the message (``world.day_minutes / ...``).
        hint: An optional way out, appended to the message.
        unit: What is counted, for the message.
    """
    if not ticks <= MAX_TICKS_PER_DAY * (1 + 1e-9):  # 240 / (240 / cap) rounds to cap + 1e-11
        tail = f"; {hint}" if hint else ""
        raise ConfigError(f"{fields} = {ticks:.4g} {unit}, more than the {MAX_TICKS_PER_DAY:,} allowed{tail}")


def check_memory(tables: Mapping[str, float], what: str = "") -> None:
    """Raise :class:`ConfigError` if the estimated tables exceed :data:`MEMORY_BUDGET_BYTES`.

    Args:
        tables: Estimated bytes of each per-pair table, keyed by a name that says which config
            fields size it (``"visitors.count x floor.exhibits (visited)"``).
        what: What the tables belong to, put before the message (a file name, say).
    """
    total = float(sum(tables.values()))
    if total > MEMORY_BUDGET_BYTES:
        name, size = max(tables.items(), key=lambda kv: kv[1])
        head = f"{what}: " if what else ""
        raise ConfigError(
            f"{head}{name}: the per-pair tables would take {_gib(total)} (this one {_gib(size)}), "
            f"more than the {_gib(MEMORY_BUDGET_BYTES)} budget; make it smaller"
        )


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"
