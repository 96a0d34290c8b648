"""The ``crowd_coordinated`` guides and the sensor delay: numpy against torch, and what they are for.

* exactly, on the same state (numpy days imported with ``from_models``): the occupancy board
  (late readings, predicted load) and the recommendations of ``crowd_coordinated``, both the
  best-item form and the softmax form fed the same uniforms;
* the assignment accounts for the parties already sent this tick: two identical users in an
  empty museum are not both sent to a room that the first one fills past crowding;
* herding: with delayed sensors, crowd-aware guides make room occupancy swing at the period of
  the delay (negative autocorrelation of its changes at lag delay + 1), and coordinated guides
  damp the swing (docs/experiments/herding.md);
* the new config fields refuse bad values with one line.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from cpss.batched.decisions import coordinated_picks, decision_view, heuristic
from cpss.batched.io import from_models
from cpss.kit.config import ConfigError
from cpss.kit.personalisation import FParams
from cpss.venue.guides import POLICY_FUNCTIONS, DecisionView, policy_crowd_coordinated
from cpss.venue.model import VenueModel
from cpss.venue.params import GuideParams
from scenarios import load_config

HERDING = Path(__file__).resolve().parents[1] / "docs" / "experiments" / "herding.py"


def _models(overrides: dict, ticks: int, seeds=(0, 1, 2)) -> list[VenueModel]:
    cfg = load_config("museum", "museum-busy", overrides)
    models = []
    for seed in seeds:
        m = VenueModel(cfg, seed=seed, policy="crowd_coordinated")
        for _ in range(ticks):
            m.step()
        models.append(m)
    return models


@pytest.fixture(scope="module")
def delayed_days() -> list[VenueModel]:
    return _models({"context": {"sensors": {"delay": 3.0}}, "guides": {"crowd_weight": 3.0}}, ticks=100)


def test_board_and_recommendations_match_numpy_on_imported_state(delayed_days):
    w = from_models(delayed_days)
    np.testing.assert_array_equal(w.board.load().numpy(), np.stack([m.board.load() for m in delayed_days]))
    view = decision_view(w)
    got = coordinated_picks(w, view).view(w.B, w.K).numpy()
    assert (got >= 0).sum() >= 5  # enough guides decide at this tick for the check to mean something
    for b, m in enumerate(delayed_days):
        np.testing.assert_array_equal(got[b], POLICY_FUNCTIONS["crowd_coordinated"](m.decision_view(), None))
    # The same fresh reading pushed into both boards gives the same late reading and load.
    fresh = np.stack([m.occupancy * 1.1 for m in delayed_days])
    late_t = w.board.push(w, torch.as_tensor(fresh)).numpy()
    for b, m in enumerate(delayed_days):
        board = copy.deepcopy(m.board)  # the fixture's models stay as they were
        np.testing.assert_array_equal(late_t[b], board.push(fresh[b], m.guides.visitor, m.pop.zone))
        np.testing.assert_array_equal(w.board.load()[b].numpy(), board.load())


def test_softmax_draws_match_numpy_given_the_same_uniforms(delayed_days):
    w = from_models(delayed_days)
    view = decision_view(w)
    hot = dataclasses.replace(view, guide=view.guide._replace(spread_temperature=0.3))
    uniforms = np.random.default_rng(7).random((w.B, w.K))
    got = coordinated_picks(w, hot, torch.as_tensor(uniforms.reshape(-1))).view(w.B, w.K).numpy()
    cold = coordinated_picks(w, view).view(w.B, w.K).numpy()
    assert (got != cold).any()  # the temperature does spread the picks
    for b, m in enumerate(delayed_days):
        v = dataclasses.replace(m.decision_view(), guide=m.params.guide._replace(spread_temperature=0.3))

        np.testing.assert_array_equal(got[b], policy_crowd_coordinated(v, _Fixed(uniforms[b])))


class _Fixed:
    """A stand-in generator whose ``random(n)`` hands out given uniforms."""

    def __init__(self, uniforms: np.ndarray) -> None:
        self.uniforms = uniforms

    def random(self, n: int) -> np.ndarray:
        assert n == self.uniforms.size
        return self.uniforms


def test_guides_count_the_parties_they_already_sent():
    # Two rooms of 10 m² with one item each; both users stand in room 0 (no items) and prefer item 0.
    # Room 1 is empty, so the first party of 4 fills it to 0.4 p/m²; the second party of 4 would
    # push it to 0.8 p/m² (crowded from 0.5), so it goes to room 2 instead.
    k = 2
    view = DecisionView(
        active=np.ones(k, bool),
        mask=np.ones((k, 2), bool),
        match=np.array([[0.9, 0.7], [0.9, 0.7]]),
        novelty=np.ones((k, 2)),
        walk=np.zeros((k, 2)),
        crowd_density=np.zeros(2),
        attraction=np.zeros(2),
        popularity=np.zeros(2),
        f=FParams(),
        guide=GuideParams(crowd_weight=4.0),
        zone_load=np.zeros(3),
        zone_area=np.array([10.0, 10.0, 10.0]),
        item_zone=np.array([1, 2]),
        user_zone=np.zeros(k, np.int64),
        party=np.array([4.0, 4.0]),
    )
    np.testing.assert_array_equal(policy_crowd_coordinated(view, np.random.default_rng(0)), [0, 1])
    np.testing.assert_array_equal(POLICY_FUNCTIONS["crowd_aware"](view, np.random.default_rng(0)), [0, 0])


def test_delayed_sensors_make_crowd_aware_guides_swing_and_coordinated_ones_damp_it():
    spec = importlib.util.spec_from_file_location("herding", HERDING)
    herding = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(herding)
    torch.set_num_threads(1)
    delay = 5
    overrides = {"context": {"sensors": {"delay": float(delay)}}, "guides": {"crowd_weight": 10.0}}
    cfg = load_config("museum", "museum-busy", overrides)
    rooms = herding.exhibit_rooms(cfg)
    swing = {}
    for policy in ("crowd_aware", "crowd_coordinated"):
        occupancy, _ = herding.run_days(cfg, policy, days=16, seed=0)
        swing[policy] = herding.swing(occupancy, lag=delay + 1, rooms=rooms)
    diff = swing["crowd_coordinated"] - swing["crowd_aware"]
    assert swing["crowd_aware"].mean() < -0.04  # the swing: changes reverse one loop later
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(diff.size)  # damped, beyond sampling error


def test_heuristic_actions_of_the_batched_env_include_the_new_policy():
    from scenarios.museum.batched import BatchedMuseumEnv

    env = BatchedMuseumEnv("museum-small", num_days=2, seed=0)
    env.reset()
    for _ in range(30):
        actions = env.heuristic_actions("crowd_coordinated")
        assert env.action_masks().gather(2, actions[..., None]).all()
        env.step(actions)
    assert env.summary()["recommendations"].sum() > 0
    w = env.world
    assert torch.equal(heuristic(w, "interest", decision_view(w)), heuristic(w, "interest", decision_view(w)))


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"context": {"sensors": {"delay": -1}}}, "context.sensors.delay"),
        ({"context": {"sensors": {"delay": 120}}}, "context.sensors.delay"),
        ({"guides": {"spread_temperature": -0.5}}, "guides.spread_temperature"),
        ({"guides": {"policy": "coordinated"}}, "guides.policy"),
    ],
)
def test_bad_values_of_the_new_fields_give_one_line(overrides, needle):
    with pytest.raises(ConfigError) as err:
        load_config("museum", "museum-small", overrides)
    assert needle in str(err.value) and "\n" not in str(err.value)
