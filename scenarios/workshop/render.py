"""Rendering of a workshop shift: a text line per station and a floor picture.

Used by :meth:`scenarios.workshop.WorkshopScenario.render_text` and ``render_rgb``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cpss.kit.render import figure_to_rgb

if TYPE_CHECKING:
    from scenarios.workshop.world import WorkshopModel


def text(model: WorkshopModel) -> str:
    """One line per station: jobs waiting, state, machine, worker, cobot."""
    m = model
    lines = [
        f"workshop — minute {m.minute:.0f} of {m.day_minutes:.0f}"
        f"{' (break)' if m.on_break else ''}; done {int(m.done.sum())}, WIP {m.wip}, "
        f"order book {int(m.backlog.sum())}"
    ]
    for i in range(m.layout.n_stations):
        state = "blocked" if m.blocked[i] else "busy" if m.busy[i] else "idle"
        machine = "up" if m.up[i] else "DOWN"
        cobot = f"cobot v={m.speed[i]:.2f} a={m.assist[i]:.2f}" if m.has_cobot[i] else "no cobot"
        warn = " VIOLATION" if m.violation[i] else ""
        lines.append(
            f"station {i:>2} [{int(m.input_level[i]):>3}] {state:<7} {machine:<4} "
            f"fatigue {m.combined_fatigue[i]:.2f} dist {m.distance[i]:.1f} m "
            f"{cobot}{warn}"
        )
    return "\n".join(lines)


def rgb(model: WorkshopModel) -> np.ndarray:
    """Stations coloured by worker fatigue, down machines crossed, jobs waiting before each."""
    import matplotlib.pyplot as plt  # after cpss.kit.render selected the Agg backend

    m = model
    xy = m.layout.xy
    fig, ax = plt.subplots(figsize=(7, 1.2 + 1.0 * m.n_cells), dpi=80)
    for u, v in m.layout.graph.edges:
        ax.plot(xy[[u, v], 0], xy[[u, v], 1], color="0.8", lw=2, zorder=1)
    sc = ax.scatter(
        xy[:, 0],
        xy[:, 1],
        c=m.combined_fatigue,
        cmap="RdYlGn_r",
        vmin=0,
        vmax=1,
        s=400,
        marker="s",
        edgecolors="k",
        zorder=2,
    )
    down = ~m.up
    ax.scatter(xy[down, 0], xy[down, 1], marker="x", s=250, c="k", zorder=3)
    for i in range(m.layout.n_stations):
        ax.annotate(
            str(int(m.input_level[i])),
            xy[i] + np.array([-0.45, 0.0]),
            ha="center",
            va="center",
            fontsize=7,
            zorder=3,
        )
    ax.set_xlim(-0.9, xy[:, 0].max() + 0.5)
    ax.set_ylim(xy[:, 1].min() - 0.5, 0.5)
    fig.colorbar(sc, ax=ax, label="fatigue")
    ax.set_title(f"minute {m.minute:.0f}: done {int(m.done.sum())}, WIP {m.wip}")
    ax.set_axis_off()
    fig.tight_layout()
    return figure_to_rgb(fig)
