"""The workshop page: stations and buffers, machines, workers, cobots and safety events.

:class:`WorkshopDashboard` maps the sliders (stations, order load, machine availability,
cooperation, the five term weights of ``f``, the cobot policy, the seed) onto the workshop config.
:func:`floor_figure` draws each line left to right: jobs waiting in the buffer before each
station, the station coloured by its state (busy, idle, blocked, machine down with the crew
member repairing it), the worker below it coloured by fatigue (hollow while away), the cobot's
speed and assistance as two bars above it and a red mark for a safety violation this minute.
:func:`stations_figure` compares fatigue, comfort, trust, speed and assistance per station.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Rectangle

from cpss.kit.dashboard import Dashboard, Page, policy_select
from scenarios import registry
from scenarios.workshop.world import WorkshopModel

DX, DY = 3.4, 2.6
"""Drawing distance between neighbouring stations of a row, and between rows."""
STATE_COLOURS = {"busy": "#b7e4c7", "idle": "#e9ecef", "blocked": "#ffe8a1", "down": "#f1948a"}
"""Station fill per state."""
WEIGHTS = ("user", "personaliser", "crowd", "context", "environment")
"""Terms of f, each with a weight slider ``w_<term>``."""


class WorkshopDashboard(Dashboard):
    """The workshop world as the dashboard's Mesa model (keyword arguments = sliders).

    Args:
        n_stations: Stations in all (``floor.stations``, a multiple of ``floor.cells``).
        order_load: Base orders per nominal capacity (``context.order_load``).
        availability: Target machine availability (``machines.availability``).
        cooperation: 0 own station .. 1 line output (``rewards.cooperation``).
        w_user: Weight of the user term of f (``f.user``).
        w_personaliser: Weight of the personaliser term (``f.personaliser``).
        w_crowd: Weight of the crowd term (``f.crowd``).
        w_context: Weight of the context term (``f.context``).
        w_environment: Weight of the environment term (``f.environment``).
        policy: A heuristic cobot policy or ``"trained"`` (None: the first heuristic).
        seed: Seed of the shift (None: ``world.seed``).
        config: Shipped config name or TOML path (None: workshop-small, or the checkpoint's).
        checkpoint: Training run folder or checkpoint of a workshop learner.

    A None slider value keeps the config's value.
    """

    scenario_name = "workshop"
    registry = registry

    def __init__(
        self,
        *,
        n_stations: int | None = None,
        order_load: float | None = None,
        availability: float | None = None,
        cooperation: float | None = None,
        w_user: float | None = None,
        w_personaliser: float | None = None,
        w_crowd: float | None = None,
        w_context: float | None = None,
        w_environment: float | None = None,
        policy: str | None = None,
        seed: int | None = None,
        config: str | None = None,
        checkpoint: str | None = None,
    ) -> None:
        values = {
            "floor.stations": n_stations,
            "context.order_load": order_load,
            "machines.availability": availability,
            "rewards.cooperation": cooperation,
            "f.user": w_user,
            "f.personaliser": w_personaliser,
            "f.crowd": w_crowd,
            "f.context": w_context,
            "f.environment": w_environment,
        }
        super().__init__(
            overrides={k: v for k, v in values.items() if v is not None},
            policy=policy,
            seed=seed,
            config=config,
            checkpoint=checkpoint,
        )


def model_params(config: str | None = None, checkpoint: str | None = None) -> dict[str, Any]:
    """SolaraViz ``model_params``: sliders at the config's values, plus fixed values.

    With a checkpoint the number of stations is fixed (the learner has one agent per cobot).
    """
    from mesa.visualization import Slider

    scen, _, _ = WorkshopDashboard.build_scenario(config, checkpoint, {})
    cfg = scen.config
    cells, stations = cfg.floor.cells, cfg.floor.stations
    fixed_size = checkpoint is not None or cfg.cobots.stations is not None or cfg.cobots.count is not None
    params: dict[str, Any] = {
        "n_stations": stations if fixed_size else Slider("Stations", stations, cells, max(48, stations), cells),
        "order_load": Slider("Order load", float(cfg.context.order_load), 0.1, 2.0, 0.05),
        "availability": Slider("Machine availability", float(cfg.machines.availability), 0.5, 1.0, 0.01),
        "cooperation": Slider("Cobot cooperation", float(cfg.rewards.cooperation), 0.0, 1.0, 0.05),
    }
    for term in WEIGHTS:
        params[f"w_{term}"] = Slider(f"f weight: {term}", float(getattr(cfg.f, term)), 0.0, 3.0, 0.1)
    params["policy"] = policy_select(scen, "Cobot policy", trained=checkpoint is not None)
    params["seed"] = Slider("Seed of the shift", scen.seed, 0, 99, 1)
    params["config"] = config
    params["checkpoint"] = checkpoint
    return params


def station_states(world: WorkshopModel) -> list[str]:
    """State of each station: ``down``, ``blocked``, ``busy`` or ``idle``."""
    return [
        "down" if not up else "blocked" if blocked else "busy" if busy else "idle"
        for up, blocked, busy in zip(world.up, world.blocked, world.busy, strict=True)
    ]


def station_layout(world: WorkshopModel) -> tuple[np.ndarray, np.ndarray]:
    """Drawing positions of the stations and the side (-1 left, +1 right) their jobs come from.

    Each cell's line is folded into rows (a U- or S-shaped line, flow reversing on every other
    row) so that the whole floor is about 4:3; cells lie below one another.
    """
    lay, cells = world.layout, world.n_cells
    per = lay.n_stations // cells

    def misfit(k: int) -> float:
        return abs(np.log(k * DX / (cells * int(np.ceil(per / k)) * DY) / (4 / 3)))

    width = min(range(1, per + 1), key=misfit)
    rows = int(np.ceil(per / width))
    row, col = lay.position // width, lay.position % width
    forward = row % 2 == 0
    col = np.where(forward, col, width - 1 - col)
    xy = np.stack([col * DX, -(lay.cell * rows + row) * DY - lay.cell * 0.6], axis=1).astype(float)
    return xy, np.where(forward, -1, 1)


def floor_figure(world: WorkshopModel) -> Figure:
    """The shop floor now (see the module docstring); a pyplot-free Figure."""
    lay, cap = world.layout, world.config.floor.buffer_capacity
    xy, upside = station_layout(world)
    xlim = (xy[:, 0].min() - 2.0, xy[:, 0].max() + 2.0)
    ylim = (xy[:, 1].min() - 1.4, xy[:, 1].max() + 1.2)
    fig = Figure(figsize=(7.5, 7.5 * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0]) + 1.0), dpi=90)
    ax = fig.subplots()
    norm, cmap = Normalize(0.0, 1.0), colormaps["RdYlGn_r"]
    fatigue, states = world.combined_fatigue, station_states(world)
    big, small = (7, 6) if xlim[1] - xlim[0] <= 16 else (5.5, 4.5)
    crew = {
        int(s): "engineer" if k else "technician"
        for s, k in zip(world.crew_station, world.crew_kind, strict=True)
        if s >= 0
    }
    for i in range(lay.n_stations):
        (x, y), side = xy[i], upside[i]
        ax.add_patch(
            Rectangle(
                (x - 0.8, y - 0.45),
                1.6,
                0.9,
                facecolor=STATE_COLOURS[states[i]],
                edgecolor="red" if world.violation[i] else "k",
                lw=2.5 if world.violation[i] else 1,
            )
        )
        label = f"S{i} {states[i]}" + (f"\n{crew[i]}" if i in crew else "")
        ax.text(x, y, label, ha="center", va="center", fontsize=big)
        nxt = lay.downstream[i]
        if nxt >= 0:
            (nx_, ny_), nside = xy[nxt], upside[nxt]
            start = (x - side * 0.8, y) if ny_ == y else (x - side * 0.8, y - 0.3)
            ax.annotate(
                "",
                xy=(nx_ + nside * 1.0, ny_ + (0.0 if ny_ == y else 0.45)),
                xytext=start,
                arrowprops={"arrowstyle": "->", "color": "0.5"},
            )
        waiting = int(world.input_level[i])
        if world.first[i]:
            ax.text(
                x + side * 1.0, y, f"orders\n{waiting}", ha="right" if side < 0 else "left", va="center", fontsize=big
            )
        else:
            for j in range(cap):
                ax.add_patch(
                    Rectangle(
                        (x + side * 1.25 - 0.2, y - 0.45 + j * 0.9 / cap),
                        0.4,
                        0.8 / cap,
                        facecolor="tab:blue" if j < waiting else "white",
                        edgecolor="0.4",
                        lw=0.6,
                    )
                )
        present = bool(world.present[i])
        ax.add_patch(
            Circle(
                (x - 0.55, y - 0.78),
                0.2,
                facecolor=cmap(norm(fatigue[i])) if present else "white",
                edgecolor="k",
                ls="-" if present else "--",
            )
        )
        away = "" if present else ("break" if world.on_break else f"helps S{world.helping[i]}")
        ax.text(
            x - 0.28,
            y - 0.78,
            away or f"F {fatigue[i]:.2f} C {1.0 - world.mismatch[i]:.2f}",
            va="center",
            fontsize=small,
        )
        if world.has_cobot[i]:
            for row, (value, colour, tag) in enumerate(
                ((world.speed[i], "tab:purple", "v"), (world.assist[i], "tab:cyan", "a"))
            ):
                top = y + 0.55 + 0.2 * row
                ax.add_patch(Rectangle((x - 0.8, top), 1.1, 0.15, facecolor="white", edgecolor="0.6", lw=0.5))
                ax.add_patch(Rectangle((x - 0.8, top), 1.1 * float(value), 0.15, facecolor=colour))
                ax.text(x + 0.35, top + 0.07, f"{tag} {value:.2f}", va="center", fontsize=small)
        if world.violation[i]:
            ax.plot(x + 0.8, y + 0.45, marker="X", ms=12, color="red", mec="k")
    handles = [Patch(facecolor=c, edgecolor="k", label=f"station {state}") for state, c in STATE_COLOURS.items()]
    handles += [
        Patch(facecolor="tab:blue", edgecolor="0.4", label="job waiting"),
        Patch(facecolor="tab:purple", label="cobot speed (v)"),
        Patch(facecolor="tab:cyan", label="cobot assistance (a)"),
        Line2D([], [], ls="", marker="X", color="red", mec="k", label="safety violation"),
        Line2D([], [], ls="", marker="o", color=cmap(0.1), mec="k", label="worker, fresh (F = fatigue)"),
        Line2D([], [], ls="", marker="o", color=cmap(0.9), mec="k", label="worker, fatigued (C = comfort)"),
        Line2D([], [], ls="", marker="o", color="white", mec="k", label="worker away"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=7, frameon=False)
    ax.set_title(
        f"minute {world.minute:.0f} of {world.day_minutes:.0f}{' (break)' if world.on_break else ''}: "
        f"{int(world.done.sum())} jobs done, WIP {world.wip}, {int(world.violations)} safety violations, "
        f"{world.temp:.1f} °C",
        fontsize=8,
    )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def stations_figure(world: WorkshopModel) -> Figure:
    """Grouped bars per station: worker fatigue, comfort and trust; cobot speed and assistance."""
    n = world.layout.n_stations
    series = {
        "fatigue": (world.combined_fatigue, "tab:red"),
        "comfort (1 - mismatch)": (1.0 - world.mismatch, "tab:green"),
        "trust": (world.trust, "tab:olive"),
        "cobot speed": (np.where(world.has_cobot, world.speed, 0.0), "tab:purple"),
        "cobot assistance": (np.where(world.has_cobot, world.assist, 0.0), "tab:cyan"),
    }
    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.subplots()
    width = 0.8 / len(series)
    for j, (label, (values, colour)) in enumerate(series.items()):
        ax.bar(np.arange(n) + (j - (len(series) - 1) / 2) * width, values, width, label=label, color=colour)
    ax.set_xticks(np.arange(n), [f"S{i}" for i in range(n)], fontsize=7 if n > 12 else 9)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("value in [0, 1]")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.set_title("workers and cobots per station", fontsize=9)
    fig.tight_layout()
    return fig


def components() -> list:
    """SolaraViz components of the workshop page."""
    from mesa.visualization import make_plot_component

    from cpss.kit.widgets import figure_component, returns_plot

    return [
        figure_component(lambda m: floor_figure(m.world), "ShopFloor"),
        figure_component(lambda m: stations_figure(m.world), "Stations"),
        make_plot_component({"throughput": "tab:green", "wip": "tab:blue"}),
        make_plot_component({"throughput_per_hour": "tab:green"}),
        make_plot_component({"fatigue_now": "tab:red", "mean_fatigue": "tab:orange", "peak_fatigue": "tab:brown"}),
        make_plot_component({"safety_violations": "tab:red"}),
        figure_component(lambda m: returns_plot(m, "mean cobot return so far", _returns_title(m)), "CobotReturn"),
    ]


def _returns_title(model: WorkshopDashboard) -> str:
    return f"policy {model.policy}, cooperation {model.scenario.config.rewards.cooperation:.2f}"


PAGE = Page(title="cpss-sim: workshop", model_cls=WorkshopDashboard, model_params=model_params, components=components)
"""The workshop page (named by the scenario's ``dashboard_page``)."""
