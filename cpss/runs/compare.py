"""``cpss compare LOG_A LOG_B``: two visitor logs' statistics side by side, with distances and a figure.

Either log may be an event log or a room log, CSV or Parquet (:mod:`cpss.data`); statistics that
need views (dwell per exhibit, stops per exhibit) appear when both logs have them. The run
folder holds ``comparison.json`` (every row), ``comparison.md`` (the table) and
``comparison.png`` (the distributions and profiles).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cpss.runs.common import OutOpt, console

if TYPE_CHECKING:
    from cpss.data.stats import LogStats

FloorOpt = Annotated[
    Path | None, typer.Option("--floor", help="floor plan (JSON or GraphML): rooms outside it are errors")
]


def floor_names(path: Path | None) -> tuple[list[str] | None, int | None, int | None]:
    """(room names, exhibit count, room count) of a floor plan file, or Nones without one."""
    if path is None:
        return None, None, None
    from cpss.kit.floorplan import load_floor

    plan = load_floor(path)
    names = [str(plan.graph.nodes[z].get("name", z)) for z in range(plan.n_zones)]
    return names, plan.n_items, plan.n_zones


def rows_markdown(rows: list[dict[str, Any]], label_a: str, label_b: str) -> str:
    """The comparison rows as a Markdown table."""
    lines = [f"| statistic | {label_a} | {label_b} | distance |", "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['statistic']} | {r['a']:.3g} | {r['b']:.3g} | {r['measure']} {r['distance']:.3f} |")
    return "\n".join(lines) + "\n"


def plot_comparison(a: LogStats, b: LogStats, labels: tuple[str, str], path: Path) -> None:
    """Six panels: visit durations, arrivals, room dwell, exhibit dwell, occupancy over the day, transition TV."""
    import numpy as np

    from cpss.data.stats import transition_tv
    from cpss.kit.render import plt

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), dpi=100)
    panels = [
        ("visit duration (min)", a.visit_minutes, b.visit_minutes),
        ("arrival (min after opening)", a.arrivals, b.arrivals),
        ("room dwell (min)", a.room_dwell["dwell"].to_numpy(), b.room_dwell["dwell"].to_numpy()),
    ]
    if a.exhibit_dwell is not None and b.exhibit_dwell is not None:
        panels.append(("view dwell (min)", a.exhibit_dwell["dwell"].to_numpy(), b.exhibit_dwell["dwell"].to_numpy()))
    for ax, (title, xa, xb) in zip(axes.flat, panels, strict=False):
        top = float(np.quantile(np.concatenate([xa, xb]), 0.99)) if len(xa) + len(xb) else 1.0
        bins = np.linspace(0.0, max(top, 1e-6), 30)
        ax.hist(xa, bins=bins, density=True, alpha=0.5, label=labels[0])
        ax.hist(xb, bins=bins, density=True, alpha=0.5, label=labels[1])
        ax.set_title(title)
        ax.legend()
    ax = axes.flat[4]
    for stats, label in ((a, labels[0]), (b, labels[1])):
        total = stats.occupancy.sum(axis=1)
        ax.plot(total.index, total.to_numpy(), label=label)
    ax.set_title("visitors present (mean per bin)")
    ax.set_xlabel("minute")
    ax.legend()
    ax = axes.flat[5]
    row_tv = transition_tv(a.transitions, b.transitions)
    ax.bar(range(len(row_tv)), row_tv.to_numpy())
    ax.set_xticks(range(len(row_tv)), [str(r) for r in row_tv.index], rotation=90, fontsize=6)
    ax.set_title("room transitions: TV per room left")
    if len(panels) < 4:
        axes.flat[3].axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def compare_command(
    log_a: Annotated[Path, typer.Argument(help="first log (event or room log, .csv or .parquet)")],
    log_b: Annotated[Path, typer.Argument(help="second log")],
    floor: FloorOpt = None,
    bin_minutes: Annotated[float, typer.Option("--bin-minutes", min=0.1, help="occupancy profile bins")] = 15.0,
    out: OutOpt = None,
) -> None:
    """Compare two visitor logs: statistics side by side with KS and total-variation distances, and a figure."""
    from rich.table import Table

    from cpss.data.readers import read_log
    from cpss.data.stats import distances, summarize
    from cpss.runs.runio import atomic_write_text, check_out, default_out, run_folder, write_json

    rooms, n_exhibits, n_rooms = floor_names(floor)
    logs = [read_log(p, rooms) for p in (log_a, log_b)]
    out = out or default_out("compare", f"{log_a.stem}-vs-{log_b.stem}")
    check_out(out)
    stats = [summarize(lg, n_exhibits=n_exhibits, n_rooms=n_rooms, bin_minutes=bin_minutes) for lg in logs]
    labels = ("A", "B")
    rows = distances(stats[0], stats[1])
    table = Table(title=f"A = {log_a}, B = {log_b}")
    for col in ("statistic", *labels, "distance"):
        table.add_column(col, justify="left" if col == "statistic" else "right")
    for r in rows:
        table.add_row(str(r["statistic"]), f"{r['a']:.3g}", f"{r['b']:.3g}", f"{r['measure']} {r['distance']:.3f}")
    with run_folder(out) as tmp:
        write_json(tmp / "comparison.json", {"a": str(log_a), "b": str(log_b), "rows": rows})
        atomic_write_text(tmp / "comparison.md", f"A = `{log_a}`, B = `{log_b}`\n\n" + rows_markdown(rows, *labels))
        plot_comparison(stats[0], stats[1], labels, tmp / "comparison.png")
    console.print(table)
    console.print(f"run folder: {out}")
