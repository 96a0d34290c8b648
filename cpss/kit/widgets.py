"""Solara pieces shared by the dashboard pages: live matplotlib views and the return plot.

Needs the ``viz`` extra (solara); the pages import it in their ``components()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter


@solara.component
def FigureView(model: Any, draw: Callable[[Any], Figure]) -> None:
    """A matplotlib figure of ``model``, redrawn when the model steps or is replaced (Reset).

    Args:
        model: The dashboard model.
        draw: Builds a pyplot-free Figure of the model.
    """
    counter = update_counter.get()
    deps = [model, model.steps, counter]
    figure = solara.use_memo(lambda: draw(model), deps)
    solara.FigureMatplotlib(figure, format="png", bbox_inches="tight", dependencies=deps)


def figure_component(draw: Callable[[Any], Figure], name: str) -> Callable[[Any], Any]:
    """A SolaraViz component (a function of the model) showing ``draw(model)``.

    Args:
        draw: Builds a pyplot-free Figure of the dashboard model.
        name: Name of the component (shown in logs, used by tests).
    """

    def component(model: Any) -> Any:
        return FigureView(model=model, draw=draw)

    component.__name__ = component.__qualname__ = name
    return component


def returns_plot(model: Any, label: str, title: str) -> Figure:
    """Line plot of the mean personaliser return so far, per step (``model.returns``).

    Args:
        model: The dashboard model.
        label: Label of the y axis.
        title: Title of the plot (e.g. the policy and the cooperation weight).
    """
    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.subplots()
    ax.plot(range(len(model.returns)), model.returns, color="tab:purple")
    ax.set_xlabel("Step")
    ax.set_ylabel(label)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return fig
