"""The museum page: floor plan with rooms, exhibits, visitors and guides' recommendations.

:class:`MuseumDashboard` maps the sliders (visitors, share with a guide, cooperation, the five
term weights of ``f``, the guide policy, the seed) onto the museum config. :func:`floor_figure`
draws the plan at the rooms' ``pos`` coordinates: rooms coloured by occupancy / comfortable
capacity, exhibits (stars as gold stars), visitors as dots coloured by visiting style and
jittered inside their room, and one arrow per guide from its visitor to the recommended exhibit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from cpss.kit.config import ConfigError
from cpss.kit.dashboard import Dashboard, Page, policy_select
from cpss.venue.model import VenueModel
from cpss.venue.users import Activity
from scenarios import registry

STYLE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:cyan")
"""Colours of the visiting styles, in the config's style order."""
RATIO_MAX = 2.0
"""Occupancy / comfortable capacity at which a room reaches the darkest colour."""
PLOTS = {
    "mean_satisfaction": "tab:green",
    "peak_occupancy_ratio": "tab:red",
    "mean_wait": "tab:orange",
    "acceptance_rate": "tab:blue",
}
"""DataCollector columns shown as live plots, with their colours."""
WEIGHTS = ("user", "personaliser", "crowd", "context", "environment")
"""Terms of f, each with a weight slider ``w_<term>``."""


class MuseumDashboard(Dashboard):
    """The museum world as the dashboard's Mesa model (keyword arguments = sliders).

    Args:
        n_visitors: Visitors over the day (``visitors.count``).
        guide_share: Share of groups with a guide device (``guides.device_share``).
        cooperation: 0 selfish .. 1 cooperative guide rewards (``rewards.cooperation``).
        w_user: Weight of the user term of f (``f.user``).
        w_personaliser: Weight of the personaliser term (``f.personaliser``).
        w_crowd: Weight of the crowd term (``f.crowd``).
        w_context: Weight of the context term (``f.context``).
        w_environment: Weight of the environment term (``f.environment``).
        policy: A heuristic guide policy or ``"trained"`` (None: ``guides.policy``).
        seed: Seed of the day (None: ``world.seed``).
        config: Shipped config name or TOML path (None: museum-small, or the checkpoint's).
        checkpoint: Training run folder or checkpoint of a museum learner.

    A None slider value keeps the config's value.

    Raises:
        ConfigError: A value outside its config range, an unknown policy, ``n_visitors`` 0 (a
            day without visitors has nothing to show) or a checkpoint that does not fit.
    """

    scenario_name = "museum"
    registry = registry

    def __init__(
        self,
        *,
        n_visitors: int | None = None,
        guide_share: float | None = None,
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
        if n_visitors == 0:
            raise ConfigError("n_visitors: the dashboard needs at least one visitor")
        values = {
            "visitors.count": n_visitors,
            "guides.device_share": guide_share,
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
    """SolaraViz ``model_params``: sliders starting at the config's values, plus fixed values."""
    from mesa.visualization import Slider

    scen, _, _ = MuseumDashboard.build_scenario(config, checkpoint, {})
    cfg = scen.config
    params: dict[str, Any] = {
        "n_visitors": Slider("Visitors over the day", cfg.visitors.count, 10, max(1000, cfg.visitors.count), 10),
        "guide_share": Slider("Share of groups with a guide", float(cfg.guides.device_share), 0.0, 1.0, 0.05),
        "cooperation": Slider("Guide cooperation", float(cfg.rewards.cooperation), 0.0, 1.0, 0.05),
    }
    for term in WEIGHTS:
        params[f"w_{term}"] = Slider(f"f weight: {term}", float(getattr(cfg.f, term)), 0.0, 3.0, 0.1)
    params["policy"] = policy_select(scen, "Guide policy", trained=checkpoint is not None)
    params["seed"] = Slider("Seed of the day", scen.seed, 0, 99, 1)
    params["config"] = config
    params["checkpoint"] = checkpoint
    return params


def _room_side(pos: np.ndarray) -> float:
    """Side of a room square: 80% of the smallest distance between room centres."""
    diff = pos[:, None, :] - pos[None, :, :]
    dist = np.sqrt((diff**2).sum(axis=-1))
    dist[np.eye(len(pos), dtype=bool)] = np.inf
    smallest = float(dist.min()) if np.isfinite(dist).any() else 1.0
    return 0.8 * (smallest if smallest > 0 else 1.0)


def exhibit_positions(world: VenueModel, pos: np.ndarray, side: float) -> np.ndarray:
    """(M, 2) drawing positions: each room's exhibits on a ring near its walls."""
    fl = world.floor
    out = np.zeros((fl.n_items, 2))
    for z in range(fl.n_zones):
        items = np.flatnonzero(fl.item_zone == z)
        angle = 2 * np.pi * (np.arange(items.size) + 0.5) / max(1, items.size) + np.pi / 4
        out[items] = pos[z] + 0.38 * side * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return out


def visitor_positions(world: VenueModel, pos: np.ndarray, side: float) -> np.ndarray:
    """(V, 2) drawing positions: room centre plus a fixed per-visitor jitter (no model RNG)."""
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, size=(world.pop.size, 2))
    return pos[np.maximum(world.pop.zone, 0)] + side * jitter


def floor_figure(world: VenueModel) -> Figure:
    """The floor plan now (see the module docstring); a pyplot-free Figure."""
    fl, p, g = world.floor, world.pop, world.guides
    pos = np.array([fl.positions[z] for z in range(fl.n_zones)], dtype=float)
    side = _room_side(pos)
    fig = Figure(figsize=(7.5, 6.0), dpi=90)
    ax = fig.subplots()
    for u, v in fl.graph.edges:
        ax.plot(pos[[u, v], 0], pos[[u, v], 1], color="0.55", lw=3, zorder=1)
    norm, cmap = Normalize(0.0, RATIO_MAX), colormaps["YlOrRd"]
    ratio = world.occupancy / world.comfort
    for z, name in enumerate(fl.zone_names):
        closed = bool(world.zone_closed[z])
        ax.add_patch(
            Rectangle(
                pos[z] - side / 2,
                side,
                side,
                facecolor=cmap(norm(min(ratio[z], RATIO_MAX))),
                edgecolor="k",
                lw=1.0,
                hatch="//" if closed else None,
                zorder=2,
            )
        )
        label = f"{name}\n{int(world.occupancy[z])}/{int(world.capacity[z])}" + (" closed" if closed else "")
        ax.text(pos[z, 0] - 0.46 * side, pos[z, 1] + 0.46 * side, label, fontsize=6, va="top", zorder=6)
    items = exhibit_positions(world, pos, side)
    star = fl.item_attraction >= 0.95
    ax.scatter(items[~star, 0], items[~star, 1], marker="s", s=18, c="0.25", zorder=3)
    ax.scatter(items[star, 0], items[star, 1], marker="*", s=120, c="gold", edgecolors="k", zorder=3)
    xy = visitor_positions(world, pos, side)
    here = np.flatnonzero(p.present)
    ax.scatter(
        xy[here, 0],
        xy[here, 1],
        s=16,
        zorder=4,
        c=[STYLE_COLOURS[s % len(STYLE_COLOURS)] for s in p.style[here]],
        edgecolors=np.where(p.state[here] == Activity.VIEWING, "k", "none"),
        linewidths=0.5,
    )
    active = np.flatnonzero((g.visitor >= 0) & (g.recommendation >= 0))
    for k in active:
        ax.annotate(
            "",
            xy=items[g.recommendation[k]],
            xytext=xy[g.visitor[k]],
            zorder=5,
            arrowprops={"arrowstyle": "-|>", "color": "tab:blue", "lw": 1.4},
        )
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.7, label="occupancy / comfortable capacity")
    handles = [
        Line2D([], [], ls="", marker="o", color=STYLE_COLOURS[i % len(STYLE_COLOURS)], label=name)
        for i, name in enumerate(world.style_names)
    ]
    handles += [
        Line2D([], [], ls="", marker="s", color="0.25", label="exhibit"),
        Line2D([], [], ls="", marker="*", color="gold", markeredgecolor="k", label="star exhibit"),
        Line2D([], [], color="tab:blue", marker=">", label="guide recommendation"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=4, fontsize=7, frameon=False)
    ax.set_title(
        f"minute {world.minute:.0f} of {world.day_minutes:.0f}: {here.size} visitors inside, "
        f"{int((g.visitor >= 0).sum())} guided, {active.size} recommendations",
        fontsize=9,
    )
    pad = 0.6 * side
    ax.set_xlim(pos[:, 0].min() - pad, pos[:, 0].max() + pad)
    ax.set_ylim(pos[:, 1].min() - pad, pos[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def components() -> list:
    """SolaraViz components of the museum page: the floor plan, four metric plots, the return."""
    from mesa.visualization import make_plot_component

    from cpss.kit.widgets import figure_component, returns_plot

    return [
        figure_component(lambda m: floor_figure(m.world), "FloorPlan"),
        *(make_plot_component({name: colour}) for name, colour in PLOTS.items()),
        figure_component(lambda m: returns_plot(m, "mean guide return so far", _returns_title(m)), "GuideReturn"),
    ]


def _returns_title(model: MuseumDashboard) -> str:
    return f"policy {model.policy}, cooperation {model.scenario.config.rewards.cooperation:.2f}"


PAGE = Page(title="cpss-sim: museum", model_cls=MuseumDashboard, model_params=model_params, components=components)
"""The museum page (named by the scenario's ``dashboard_page``)."""
