"""The browser dashboard (`cpss viz`): dashboard models and headless renders of its pages.

The headless tests render the SolaraViz pages with ``solara.render`` as Mesa's own tests do.
The command line, the guarded server and the real-browser test are in test_viz_server.py.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import pytest
from conftest import TINY_MUSEUM_GUIDED, untrained_run_folder
from typer.testing import CliRunner

pytest.importorskip("solara", reason="the dashboard needs the viz extra: pip install -e '.[viz]'")
warnings.filterwarnings("ignore", message=".*`use_state` found despite early return")  # Mesa 3.3.1, harmless

import ipyvuetify as v  # noqa: E402
import ipywidgets  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.solara_viz import _check_model_params, split_model_params  # noqa: E402

import cpss.viz  # noqa: E402
from cpss.kit.config import ConfigError  # noqa: E402
from cpss.viz import page_spec  # noqa: E402
from scenarios.museum import dashboard as museum  # noqa: E402
from scenarios.museum.dashboard import MuseumDashboard  # noqa: E402
from scenarios.workshop import dashboard as workshop  # noqa: E402
from scenarios.workshop.dashboard import WorkshopDashboard  # noqa: E402

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
LINUX = sys.platform.startswith("linux")  # the process checks read /proc


SMALL_MUSEUM = TINY_MUSEUM_GUIDED
GUIDES = SMALL_MUSEUM["guides"]["count"]


# ---------------------------------------------------------------- dashboard models
@pytest.mark.parametrize("scenario", ["museum", "workshop"])
def test_every_slider_value_range_is_accepted(scenario):
    spec = page_spec(scenario)
    _check_model_params(spec.model_cls.__init__, spec.model_params)  # what SolaraViz checks
    adjustable, fixed = split_model_params(spec.model_params)
    for name, param in adjustable.items():
        values = [param.min, param.max] if isinstance(param, Slider) else param["values"]
        for value in values:
            model = spec.model_cls(**fixed, **{name: value})
            model.step()
            assert model.steps == 1 and len(model.datacollector.get_model_vars_dataframe()) == 2


def test_sliders_reach_the_config():
    m = MuseumDashboard(
        n_visitors=50, guide_share=0.5, cooperation=0.7, w_crowd=0.0, w_user=2.0, policy="interest", seed=4
    )
    cfg = m.scenario.config
    assert (cfg.visitors.count, cfg.guides.device_share, cfg.rewards.cooperation) == (50, 0.5, 0.7)
    assert (cfg.f.crowd, cfg.f.user, m.policy, m.world.root_seed, m.world.pop.size) == (0.0, 2.0, "interest", 4, 50)
    w = WorkshopDashboard(n_stations=4, order_load=1.2, availability=0.8, policy="preference")
    assert (w.world.layout.n_stations, w.scenario.config.context.order_load, w.policy) == (4, 1.2, "preference")


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (MuseumDashboard, {"n_visitors": -5}, "visitors.count"),
        (MuseumDashboard, {"n_visitors": 0}, "at least one visitor"),
        (MuseumDashboard, {"guide_share": 1.5}, "guides.device_share"),
        (MuseumDashboard, {"w_crowd": -1.0}, "f.crowd"),
        (MuseumDashboard, {"policy": "magic"}, "unknown policy 'magic'"),
        (MuseumDashboard, {"policy": "trained"}, "--checkpoint"),
        (MuseumDashboard, {"seed": -1}, "seed: must be an integer >= 0"),
        (MuseumDashboard, {"config": "museum-huge"}, "unknown config 'museum-huge'"),
        (WorkshopDashboard, {"n_stations": 0}, "floor.stations"),
        (WorkshopDashboard, {"availability": 0.0}, "machines.availability"),
    ],
)
def test_bad_parameter_values_give_clear_errors(cls, kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        cls(**kwargs)


def test_day_ends_and_model_stops(tmp_path):
    toml = tmp_path / "short.toml"
    toml.write_text("[world]\nday_minutes = 12\nlast_entry_before_close = 2\n[visitors]\ncount = 30\n")
    m = MuseumDashboard(config=str(toml))
    while m.running:
        m.step()
    assert m.steps == 12 and m.env.day_over and len(m.returns) == 13
    m.step()  # a step after closing changes nothing
    assert len(m.returns) == 13


@pytest.mark.parametrize("algo", ["dqn", "ippo"])  # single-agent (others follow a heuristic) and multi-agent
def test_trained_checkpoint_drives_the_guides(tmp_path, algo):
    run = untrained_run_folder(tmp_path / algo, "museum", algo, **SMALL_MUSEUM)
    params = museum.model_params(None, str(run))
    assert params["policy"]["value"] == "trained" and "trained" in params["policy"]["values"]
    m = MuseumDashboard(checkpoint=str(run), policy="trained", n_visitors=60)
    assert m.learner.name == algo and m.scenario.config.guides.count == GUIDES  # the run's config is the base
    for _ in range(40):
        m.step()
    assert m.steps == 40 and m.world.pop.size == 60
    heuristic = MuseumDashboard(checkpoint=str(run), policy="nearest")  # a checkpoint does not force its use
    assert heuristic.learner is None and heuristic.scenario.config.guides.count == GUIDES


def test_checkpoint_must_fit(tmp_path):
    run = untrained_run_folder(tmp_path / "run", "museum", "dqn", **SMALL_MUSEUM)
    with pytest.raises(ConfigError, match="trained on 'museum', not 'workshop'"):
        WorkshopDashboard(checkpoint=str(run), policy="trained")
    with pytest.raises(ConfigError, match="does not fit this museum config"):
        MuseumDashboard(checkpoint=str(run), policy="trained", config="museum-large")
    (run / "checkpoints" / "last.pt").write_bytes(b"\x00" * 64)  # corrupt, not a misfit: said as such
    with pytest.raises(ConfigError, match=r"last\.pt: not a readable checkpoint") as err:
        MuseumDashboard(checkpoint=str(run), policy="trained")
    assert "does not fit" not in str(err.value)


def test_workshop_drawings_show_every_station():
    m = WorkshopDashboard(policy="fatigue_adaptive")
    for _ in range(30):
        m.step()
    assert workshop.station_states(m.world) and len(workshop.station_states(m.world)) == 6
    fig = workshop.floor_figure(m.world)
    assert "jobs done" in fig.axes[0].get_title()
    bars = workshop.stations_figure(m.world)
    assert len(bars.axes[0].patches) == 5 * 6


def test_museum_drawing_uses_plan_coordinates():
    m = MuseumDashboard()
    for _ in range(45):
        m.step()
    fig = museum.floor_figure(m.world)
    ax = fig.axes[0]
    pos = [m.world.floor.positions[z] for z in range(m.world.floor.n_zones)]
    rooms = [p for p in ax.patches if p.get_width() == p.get_height()]
    centres = {(round(r.get_x() + r.get_width() / 2, 6), round(r.get_y() + r.get_height() / 2, 6)) for r in rooms}
    assert {(round(x, 6), round(y, 6)) for x, y in pos} <= centres
    assert "visitors inside" in ax.get_title()


# ---------------------------------------------------------------- headless render (as Mesa's tests do)
def _render(scenario):
    spec = page_spec(scenario)
    model = solara.reactive(spec.make_model())

    @solara.component
    def Page():
        with solara.AppLayout():
            SolaraViz(model, components=spec.components, model_params=spec.model_params, name=spec.title)

    _, rc = solara.render(Page(), handle_error=False)
    return spec, model, rc


@pytest.mark.slow  # a whole page rendered and stepped twice: 2-5 s
@pytest.mark.parametrize(
    ("scenario", "n_images", "labels"),
    [
        (
            "museum",
            6,
            {"Visitors over the day", "Share of groups with a guide", "Guide cooperation", "f weight: crowd"},
        ),
        ("workshop", 7, {"Stations", "Order load", "Machine availability", "Cobot cooperation", "f weight: user"}),
    ],
)
def test_page_renders_headless_and_steps(scenario, n_images, labels):
    _, model, rc = _render(scenario)
    assert labels <= {s.label for s in rc.find(v.Slider).widgets}
    assert {s.label for s in rc.find(v.Select).widgets} == {"Guide policy" if scenario == "museum" else "Cobot policy"}
    images = rc.find(ipywidgets.Image).widgets
    assert len(images) == n_images
    before = [bytes(i.value) for i in images]
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(2):
        step.click()
    rc.find(v.Html, children=["Step: 2"]).assert_single()
    after = [bytes(i.value) for i in rc.find(ipywidgets.Image).widgets]
    assert all(a != b for a, b in zip(before, after, strict=True))  # every view and plot redrew
    first = model.value
    slider = next(s for s in rc.find(v.Slider).widgets if s.label.startswith("f weight: user"))
    slider.v_model = 2.0
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert model.value is not first and model.value.steps == 0 and model.value.scenario.config.f.user == 2.0


def test_app_page_reads_the_environment(monkeypatch):
    from cpss.viz import app as viz_app

    monkeypatch.setenv(cpss.viz.ENV_SCENARIO, "workshop")
    monkeypatch.setenv(cpss.viz.ENV_CONFIG, "workshop-small")
    monkeypatch.delenv(cpss.viz.ENV_CHECKPOINT, raising=False)

    @solara.component
    def Page():
        with solara.AppLayout():
            viz_app.Page()

    _, rc = solara.render(Page(), handle_error=False)
    rc.find(v.Html, children=["Step: 0"]).assert_single()
    assert "Cobot policy" in {s.label for s in rc.find(v.Select).widgets}
