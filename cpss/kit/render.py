"""Pictures of a venue world: the floor plan with occupancy, and run plots.

Headless (matplotlib's Agg backend); used by the env's ``rgb_array`` rendering and by the
CLI's run folders.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def floor_figure(model, title: str | None = None) -> Figure:
    """Draw zones coloured by occupancy / comfortable capacity, doors, and guide arrows.

    Args:
        model: A :class:`cpss.venue.model.VenueModel`.
        title: Figure title (default: the minute).

    Returns:
        The matplotlib figure (close it when done).
    """
    fl = model.floor
    pos = np.array([fl.positions[z] for z in range(fl.n_zones)])
    ratio = model.occupancy / model.comfort
    fig, ax = plt.subplots(figsize=(6, 5), dpi=80)
    for u, v in fl.graph.edges:
        ax.plot(pos[[u, v], 0], pos[[u, v], 1], color="0.75", lw=2, zorder=1)
    sc = ax.scatter(
        pos[:, 0], pos[:, 1], c=np.minimum(ratio, 3.0), cmap="YlOrRd", vmin=0, vmax=3, s=500, edgecolors="k", zorder=2
    )
    for z in range(fl.n_zones):
        ax.annotate(str(int(model.occupancy[z])), pos[z], ha="center", va="center", fontsize=8, zorder=3)
    g, p = model.guides, model.pop
    for k in np.flatnonzero((g.visitor >= 0) & (g.recommendation >= 0)):
        a = pos[p.zone[g.visitor[k]]]
        b = pos[fl.item_zone[g.recommendation[k]]]
        ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "color": "tab:blue"}, zorder=4)
    fig.colorbar(sc, ax=ax, label="occupancy / comfortable capacity")
    ax.set_title(title or f"minute {model.minute:.0f}")
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Rasterise a figure into an (H, W, 3) uint8 array and close it."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return np.ascontiguousarray(rgba[:, :, :3])


def plot_series(frames: dict[str, pd.DataFrame], column: str, path: Path, ylabel: str) -> None:
    """Line plot of one metric over minutes for several runs (one line per label)."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for label, df in frames.items():
        ax.plot(df["minute"], df[column], label=label)
    ax.set_xlabel("minutes since opening")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_heatmap(occupancy: np.ndarray, names: list[str], path: Path, dt: float) -> None:
    """Heatmap of occupancy per zone (rows) over time (columns)."""
    fig, ax = plt.subplots(figsize=(8, max(3, 0.25 * len(names))), dpi=100)
    im = ax.imshow(
        occupancy.T,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(0, occupancy.shape[0] * dt, len(names) - 0.5, -0.5),
    )
    if len(names) <= 40:
        ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("minutes since opening")
    fig.colorbar(im, ax=ax, label="occupants")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
