"""Museum: mobile guides personalising visits against the crowd.

The seed's exhibition case, ``pa^Exhib = g(vs, mg, cr^vis, ex)``: a visitor ``vs``, a mobile
guide ``mg``, the crowd of visitors ``cr^vis`` and the exhibition area ``ex``.

| | |
|---|---|
| Import | `scenarios.make("museum")`, `scenarios.museum.parallel_env()`, `.env()` (AEC) |
| Configs | `museum-small` (12 rooms, 40 exhibits, 200 visitors, 8 guides, 4 h), `museum-busy` (the same building on a peak day: 800 visitors in half-hourly entry waves, a blockbuster, 40 guides), `museum-large` (60 rooms, 300 exhibits, 2400 visitors, 32 guides, 8 h) |
| Agents | `guide_0` … `guide_{K-1}` (one slot each; rebound to the next waiting visitor with a device) |
| Actions | `Discrete(n_exhibits + 1)`: 0 = no recommendation, `j + 1` = recommend exhibit `j` |
| Mask | `infos[agent]["action_mask"]` (int8): exhibit `j` valid when the visitor stands at a decision point and `j` is open and unseen; 0 always valid |
| Observation | `Box(0, 1, (4N + T + M + 5,), float32)`, layout below; with `guides.observation = "items"`, `Box(-1, 1, (10 + 13·M,))`: an agent block and one row per exhibit (`scenarios.museum.items`, docs/envs.md) |
| State | `Box(0, 1)`: true occupancy per room, every slot's visitor (zone, time left, fatigue, deciding, idle, true interests, visited), context; in items mode a pooled 7-value summary |
| Reward | `(1 - cooperation) · own visitor's satisfaction gain + cooperation · mean gain of all visitors present`, per tick |
| Episode | one opening day; truncation at closing time (`terminations` are always False) |

## Entities
* **Users** (`cpss.venue.users.User`) — visitors with interests over topics, one of four visiting
  styles (Véron & Levasseur's ant, butterfly, fish, grasshopper), a time budget, museum
  fatigue (attention falls after ~30 min and with walking), per-topic satiation, trust in the
  guide, accumulated satisfaction and a state machine (outside, deciding, walking, queuing,
  viewing, left). Groups (companions on a social graph) follow their leader.
* **Guides** (`cpss.venue.guides.Guide`) — one visitor at a time, seeing an *estimate* of
  interests (entry questionnaire with noise, refined after each visit) and noisy occupancy
  sensors, never the ground truth.
* **Exhibits** (`cpss.kit.floorplan.Item`) — fixed in rooms, with topic features, attraction,
  viewing capacity and median dwell; each has a viewing zone (its places of `crowd.view_m2` m²)
  where viewers and those waiting stand; star exhibits draw queues.

## Crowding
Everything other visitors cause is in the crowd term of `f` (`f.crowd`): room crowding above
0.5 p/m², sight lines blocked in a viewing zone above 1 p/m² (views cut short, an exhibit that
cannot be seen skipped), queues, the noise occupancy makes, social proof, companions, visitors
balking at a room above 0.65 p/m², and the crowding remembered of the whole visit (peak-end).
The context term (`f.context`) holds only what no visitor causes: ambient noise and events.
Walkers occupy the rooms they pass through. docs/model.md maps every effect to its term.

## museum-busy: a peak day
The `museum-small` building with four times the visitors (800), timed tickets (everyone of a
half-hour slot enters at its start: `context.entry_interval = 30`), a blockbuster (the most
attractive exhibit gets attraction 2.0 and a 2-minute median stop: `floor.blockbuster_*`) and 40
guides with a device for half the groups. Visitors spend about half of their visit in rooms
above 0.5 p/m²; over 100 paired days `crowd_aware` guides cut congestion in the rooms by about
4% against `interest` guides but hold more visitors outside a full entrance, and
`crowd_coordinated` guides hold the fewest (docs/experiments/herding.md).

## Visiting styles (defaults; shares are an assumption, see docs/model.md)
| style | share | stop bias | selectivity | walk sensitivity | dwell × | stays in room |
|---|---|---|---|---|---|---|
| ant | 0.25 | +2.0 | 3 | 2.0 | 1.3 | +0.6 |
| butterfly | 0.30 | +1.5 | 3 | 0.5 | 1.0 | 0 |
| fish | 0.25 | −0.8 | 2 | 1.0 | 0.5 | +0.3 |
| grasshopper | 0.20 | +0.2 | 8 | 0.3 | 2.0 | 0 |

## Observation layout (N rooms, T topics, M exhibits), all in [0, 1]
| slice | content |
|---|---|
| `[0, N)` | one-hot room of the served visitor |
| `N` | visitor's time left / budget |
| `N + 1` | visitor's fatigue (1 − attention) |
| `[N + 2, N + 2 + T)` | guide's estimate of the visitor's interests |
| `[N + 2 + T, N + 2 + T + M)` | exhibits the visitor has seen |
| `N + 2 + T + M` | 1 if the visitor stands at a decision point |
| next N | sensed occupancy / comfortable capacity / 4 (clipped) per room |
| next 1 | time of day (fraction of the opening hours) |
| next N | room closed (1) |
| next N | noise level per room |
| last | 1 if the slot is idle |

## Metrics
mean / median satisfaction, satisfaction Gini, visitors arrived / present / left / served,
exhibits per visitor, coverage of top-5 interests, mean queue wait, occupancy ratio and its
peak, visitor-minutes in congestion (rooms), held at a full entrance, and both together
(`crowded_minutes`), recommendation acceptance rate (`cpss.venue.metrics`). The day's summary
adds what guidance does to others: guided vs unguided visitors' satisfaction, waits and welfare,
outcomes per visiting style and group size, and the Gini of views over exhibits (docs/metrics.md).

## Heuristic guides
`none`, `random`, `nearest`, `interest` (crowd-blind best match), `crowd_aware` (match plus
attraction minus sensed congestion and walking), `popular`, `crowd_coordinated` (as `crowd_aware`,
but the cost of a move is the crowding it adds to the room it enters minus what it takes from the
room it leaves, on occupancy predicted from the sensors and the moves the guides have already
made; docs/experiments/herding.md).

Equations of `f` and the dynamics: docs/model.md. Env contract: docs/envs.md.

## Version history
* v2: items-mode observations (`guides.observation`), for per-item policies (`item_mappo`).
* v1: crowd physics of issue 14 (viewing zones, balking, skipping, peak-end crowding, walkers in
  the rooms they pass, occupancy noise in the crowd term); fish and grasshopper stop less
  (recalibrated); `museum-busy` config.
* v0: initial release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from cpss.kit.env import CPSSParallelEnv, aec_from_parallel
from cpss.kit.render import figure_to_rgb, floor_figure
from cpss.kit.scenario import Scenario
from cpss.venue.config import POLICIES, VenueConfig
from cpss.venue.equations import attention
from cpss.venue.guides import POLICY_FUNCTIONS
from cpss.venue.model import VenueModel
from cpss.venue.users import Activity
from scenarios.museum.observations import action_mask_rows, museum_actions, museum_observations, museum_rewards

OCC_SCALE = 4.0
"""Occupancy ratios are divided by this (and clipped) to fit observations into [0, 1]."""

from scenarios.museum import items  # noqa: E402  (items reads OCC_SCALE's users: none; placed after it)


class MuseumConfig(VenueConfig):
    """Configuration of the museum (sections as in :class:`cpss.venue.config.VenueConfig`)."""


class MuseumScenario(Scenario):
    """Mobile guides recommending exhibits (see the module docstring)."""

    name = "museum"
    config_cls = MuseumConfig
    agent_prefix = "guide"
    heuristic_policies = POLICIES
    seed_key = "world.seed"
    batched_env = "scenarios.museum.batched:BatchedMuseumEnv"
    dashboard_page = "scenarios.museum.dashboard:PAGE"
    plot_metrics = ("mean_satisfaction", "occupancy_ratio", "mean_wait", "acceptance_rate")
    headline_metrics = (
        "mean_satisfaction",
        "peak_occupancy_ratio",
        "crowded_minutes",
        "congestion_minutes",
        "mean_wait",
        "acceptance_rate",
        "top_interest_coverage",
    )

    def default_policy(self) -> str:
        """The config's heuristic guide policy (``guides.policy``)."""
        return self.config.guides.policy

    def learner_hints(self) -> dict[str, Any]:
        """In items mode: the item-row layout and the prior column (``crowd_aware``) of ``item_mappo``."""
        if not self._items():
            return {}
        return {
            "agent_dim": items.A_DIM,
            "item_dim": items.I_DIM,
            "prior_feature": items.ITEM_FEATURES.index("crowd_aware"),
        }

    def build_world(self, seed: int) -> VenueModel:
        """A fresh museum day."""
        return VenueModel(self.config, seed=seed)

    def n_agents(self) -> int:
        """One agent per guide slot."""
        return self.config.guides.count

    def _dims(self, m: VenueModel) -> tuple[int, int, int]:
        return m.floor.n_zones, len(m.floor.topics), m.floor.n_items

    def _items(self) -> bool:
        return self.config.guides.observation == "items"

    def observation_space(self, model: VenueModel) -> spaces.Box:
        """Box(0, 1, (4N + T + M + 5,)), or Box(-1, 1, (A + M·I,)) in items mode."""
        n, t, m = self._dims(model)
        if self._items():
            return spaces.Box(-1.0, 1.0, shape=(items.A_DIM + m * items.I_DIM,), dtype=np.float32)
        return spaces.Box(0.0, 1.0, shape=(4 * n + t + m + 5,), dtype=np.float32)

    def action_space(self, model: VenueModel) -> spaces.Discrete:
        """Discrete(M + 1): 0 = no recommendation."""
        return spaces.Discrete(model.floor.n_items + 1)

    def state_space(self, model: VenueModel) -> spaces.Box:
        """Box(0, 1) of the global state."""
        n, t, m = self._dims(model)
        k = self.n_agents()
        if self._items():
            return spaces.Box(0.0, 1.0, shape=(items.S_DIM,), dtype=np.float32)
        return spaces.Box(0.0, 1.0, shape=(n + k * (n + 4 + t + m) + 1 + 2 * n,), dtype=np.float32)

    def _visitor_block(self, model: VenueModel) -> tuple[np.ndarray, ...]:
        p, g = model.pop, model.guides
        idle = g.visitor < 0
        live = (~idle)[:, None]
        zone = np.eye(model.floor.n_zones)[np.maximum(model.slot_rows(p.zone), 0)] * live
        entered = model.slot_rows(p.entered)
        elapsed = np.where(np.isnan(entered), 0.0, model.minute - entered)
        budget = np.maximum(model.slot_rows(p.budget), 1e-9)
        time_left = np.clip((budget - elapsed) / budget, 0.0, 1.0) * ~idle
        walked = model.slot_rows(p.walked)
        fatigue = np.where(idle, 0.0, 1.0 - attention(elapsed, walked, model.params.fatigue))
        deciding = ((model.slot_rows(p.state) == Activity.DECIDING) & ~idle).astype(float)
        return idle, live, zone, time_left, fatigue, deciding

    def _context(self, model: VenueModel) -> np.ndarray:
        return np.concatenate([[min(1.0, model.minute / model.day_minutes)], model.zone_closed, model.noise])

    def observe(self, model: VenueModel) -> np.ndarray:
        """(K, obs_dim) per the layout table in the module docstring (one compiled pass)."""
        p = model.pop
        flat = museum_observations(
            model.guides.visitor,
            model.guides.estimate,
            (p.state, p.zone, p.entered, p.budget, p.walked, p.visited),
            model.sensed,
            model.comfort,
            model.zone_closed,
            model.noise,
            model.minute,
            model.day_minutes,
            model.kernel_params,
            OCC_SCALE,
        )
        return items.from_model(model, flat) if self._items() else flat

    def state(self, model: VenueModel) -> np.ndarray:
        """True occupancy, every slot's visitor (with true interests), context (items mode: pooled)."""
        if self._items():
            return items.model_state(model)
        idle, live, zone, time_left, fatigue, deciding = self._visitor_block(model)
        occ = np.clip(model.occupancy / model.comfort / OCC_SCALE, 0.0, 1.0)
        slots = np.concatenate(
            [
                zone,
                time_left[:, None],
                fatigue[:, None],
                deciding[:, None],
                idle[:, None].astype(float),
                model.slot_rows(model.pop.interest) * live,
                model.slot_rows(model.pop.visited) * live,
            ],
            axis=1,
        )
        out = np.concatenate([occ, slots.ravel(), self._context(model)])
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    def action_masks(self, model: VenueModel) -> np.ndarray:
        """(K, M + 1) int8; column 0 (no recommendation) is always valid."""
        return action_mask_rows(model.decision_mask()[1])

    def idle(self, model: VenueModel) -> np.ndarray:
        """Slots serving nobody."""
        return model.guides.visitor < 0

    def default_action(self) -> int:
        """A missing action means "no recommendation"."""
        return 0

    def apply_actions(self, model: VenueModel, actions: list[Any]) -> np.ndarray:
        """Recommendations for the next decisions; invalid ones become 0 and are flagged."""
        acts = np.asarray(actions, dtype=np.int64)
        k = model.guides.size
        recs, invalid = model.buffers("actions", lambda: (np.zeros(k, dtype=np.int64), np.zeros(k, dtype=bool)))
        museum_actions(acts, model.decision_mask()[1], model.guides.visitor, recs, invalid)
        model.set_recommendations(recs)
        return invalid

    def rewards(self, model: VenueModel) -> np.ndarray:
        """Own visitor's gain this tick mixed with the museum-wide mean gain."""
        return museum_rewards(model.guides.visitor, model.pop.state, model.pop.gain, self.config.rewards.cooperation)

    def heuristic_actions(self, model: VenueModel, policy: str, rng: np.random.Generator) -> list[int]:
        """Actions of a heuristic guide policy (exhibit + 1, or 0)."""
        recs = POLICY_FUNCTIONS[policy](model.decision_view(), rng)
        return (recs + 1).astype(int).tolist()

    def summary(self, model: VenueModel) -> dict[str, float]:
        """The day's metrics (cpss.venue.metrics.summary)."""
        from cpss.venue.metrics import summary

        return summary(model)

    def occupancy(self, model: VenueModel) -> tuple[np.ndarray, list[str]]:
        """Occupancy per room per tick."""
        return np.array(model.occupancy_history), model.floor.zone_names

    def render_text(self, model: VenueModel) -> str:
        """Rooms with occupancy bars, then guides and their recommendations."""
        lines = [f"museum — minute {model.minute:.0f} of {model.day_minutes:.0f}"]
        for z, name in enumerate(model.floor.zone_names):
            occ, cap = int(model.occupancy[z]), int(model.capacity[z])
            bar = "#" * min(40, occ)
            closed = " (closed)" if model.zone_closed[z] else ""
            lines.append(f"{name[:16]:<16} {occ:>4}/{cap:<4} {bar}{closed}")
        for k in range(model.guides.size):
            v, r = int(model.guides.visitor[k]), int(model.guides.recommendation[k])
            who = "idle" if v < 0 else f"visitor {v}"
            rec = "-" if r < 0 else model.floor.item_names[r]
            lines.append(f"guide_{k}: {who}, recommends {rec}")
        return "\n".join(lines)

    def render_rgb(self, model: VenueModel) -> np.ndarray:
        """Floor plan coloured by occupancy, with recommendation arrows."""
        return figure_to_rgb(floor_figure(model))


def _load_step_kernels() -> None:
    """Load the env kernels that ``step`` uses first (numba's on-disk cache) now, at import.

    Otherwise the first step of the first env in a process pays it (a few ms), which is not the
    cost of a step. ``reset`` already loads the observation and mask kernels.
    """
    nobody = np.zeros(0, dtype=np.int64)
    museum_actions(nobody, np.zeros((0, 0), dtype=bool), nobody, nobody.copy(), np.zeros(0, dtype=bool))
    museum_rewards(nobody, np.zeros(0, dtype=np.int8), np.zeros(0), 0.0)


_load_step_kernels()


def parallel_env(**kwargs: Any) -> CPSSParallelEnv:
    """The museum as a PettingZoo ParallelEnv (kwargs as for ``scenarios.make``)."""
    from scenarios.registry import make

    return make("museum", **kwargs)


def env(**kwargs: Any):
    """The museum as a PettingZoo AEC env, with the order-enforcing and bounds wrappers."""
    return aec_from_parallel(parallel_env(**kwargs))
