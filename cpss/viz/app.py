"""The Solara app ``cpss viz`` serves (``SOLARA_APP=cpss.viz.app``, run by :mod:`cpss.viz.server`).

The scenario, config and checkpoint come from the environment variables set by
:func:`cpss.viz.serve` (``CPSS_VIZ_SCENARIO``, default the first scenario with a page; ``CPSS_VIZ_CONFIG``;
``CPSS_VIZ_CHECKPOINT``). Each browser session gets its own dashboard model.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz

import scenarios
from cpss.viz import ENV_CHECKPOINT, ENV_CONFIG, ENV_SCENARIO, PageSpec, page_spec


def spec_from_environment() -> PageSpec:
    """The page named by the ``CPSS_VIZ_*`` environment variables."""
    return page_spec(
        os.environ.get(ENV_SCENARIO) or scenarios.page_names()[0],
        os.environ.get(ENV_CONFIG) or None,
        os.environ.get(ENV_CHECKPOINT) or None,
    )


@solara.component
def Page() -> None:
    """The dashboard: controls and sliders in the sidebar, the world and live plots in the main area."""
    spec = solara.use_memo(spec_from_environment, [])
    model = solara.use_memo(spec.make_model, [])
    SolaraViz(model, components=spec.components, model_params=spec.model_params, name=spec.title)
