"""Configuration of a venue world (users visiting items on a floor plan, with guides).

One section per argument of ``f``: ``floor`` (env), ``visitors`` (u), ``crowd`` (cr),
``context`` (cx), ``guides`` (x_pa), ``f`` (term weights), plus ``world`` (clock, seed) and
``rewards``. Defaults come from shared/reference/calibration-museum.md; docs/model.md marks
which are measured and which are assumptions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cpss.kit.config import FTerms, SensorConfig, StrictModel
from cpss.kit.context import MUSEUM_HOURLY_PROFILE
from cpss.kit.limits import MAX_TICKS_PER_DAY, check_memory, check_ticks

POLICIES = ("none", "random", "nearest", "interest", "crowd_aware", "popular", "crowd_coordinated")
PolicyName = Literal["none", "random", "nearest", "interest", "crowd_aware", "popular", "crowd_coordinated"]


class WorldSection(StrictModel):
    """Clock and seed."""

    seed: int = Field(0, ge=0, description="root seed of the model RNG")
    day_minutes: int = Field(240, ge=1, le=24 * 60, description="opening hours in minutes")
    minutes_per_step: float = Field(1.0, gt=0.0, le=60.0, description="minutes per tick")
    last_entry_before_close: float = Field(60.0, ge=0.0, description="minutes")


class FloorSection(StrictModel):
    """The floor plan: a file, or the generator's parameters."""

    file: str | None = Field(None, description="JSON or GraphML floor plan (else generated)")
    layout_seed: int | None = Field(
        None, ge=0, description="fixes the generated layout across days; None: from the root seed"
    )
    rooms: int = Field(12, ge=2, le=5000)
    exhibits: int = Field(40, ge=1, le=20000)
    topics: int = Field(6, ge=1, le=64)
    room_area: float = Field(40.0, gt=0.0, description="m² per generated room")
    comfort_m2: float = Field(5.0, gt=0.0, description="m² per person, comfortable")
    hard_m2: float = Field(1.4, gt=0.0, description="m² per person at the safety cap (NFPA)")
    extra_doors: float = Field(0.3, ge=0.0, le=1.0, description="share of extra grid doors")
    stars: int = Field(1, ge=0, description="star exhibits")
    dwell_median: float = Field(1.0, gt=0.0, description="median minutes per stop")
    blockbuster_attraction: float | None = Field(
        None, ge=0.0, le=5.0, description="the most attractive exhibit becomes a blockbuster of this attraction"
    )
    blockbuster_dwell: float | None = Field(None, gt=0.0, description="median minutes per stop at the blockbuster")


class StyleSection(StrictModel):
    """One visiting style (see cpss.venue.users.Style)."""

    share: float = Field(ge=0.0, le=1.0)
    stop_bias: float = 0.0
    selectivity: float = Field(1.0, ge=0.0)
    walk_sensitivity: float = Field(1.0, ge=0.0)
    dwell_mult: float = Field(1.0, gt=0.0)
    order_bonus: float = 0.0


DEFAULT_STYLES = {
    # Véron & Levasseur's archetypes; shares and parameters are assumptions tuned toward
    # ~0.35 stops per element and ~30% diligent visitors (calibration-museum.md §1, §9).
    "ant": StyleSection(
        share=0.25, stop_bias=2.0, selectivity=3.0, walk_sensitivity=2.0, dwell_mult=1.3, order_bonus=0.6
    ),
    "butterfly": StyleSection(
        share=0.30, stop_bias=1.5, selectivity=3.0, walk_sensitivity=0.5, dwell_mult=1.0, order_bonus=0.0
    ),
    "fish": StyleSection(
        share=0.25, stop_bias=-0.8, selectivity=2.0, walk_sensitivity=1.0, dwell_mult=0.5, order_bonus=0.3
    ),
    "grasshopper": StyleSection(
        share=0.20, stop_bias=0.2, selectivity=8.0, walk_sensitivity=0.3, dwell_mult=2.0, order_bonus=0.0
    ),
}


class VisitorsSection(StrictModel):
    """The users: population, styles, time budget, fatigue, groups."""

    count: int = Field(200, ge=0, le=200_000, description="visitors over the day")
    styles: dict[str, StyleSection] = Field(default_factory=lambda: dict(DEFAULT_STYLES))
    budget_median: float = Field(60.0, gt=0.0, description="minutes (lognormal)")
    budget_sigma: float = Field(0.6, ge=0.0)
    fatigue_onset: float = Field(30.0, ge=0.0, description="minutes (Falk et al. 1985)")
    fatigue_tau: float = Field(45.0, gt=0.0, description="minutes (assumption)")
    walk_fatigue: float = Field(1.0, ge=0.0, description="fatigue per walking minute")
    attention_floor: float = Field(0.15, ge=0.0, le=1.0, description="leave below this")
    satiation_n: float = Field(10.0, gt=0.0, description="n_sat (exhibits)")
    group_sizes: list[float] = Field(default_factory=lambda: [0.25, 0.40, 0.15, 0.12, 0.08])
    interest_concentration: float = Field(0.3, gt=0.0)
    leave_bias: float = Field(-1.5, description="utility of leaving when fresh")
    leave_fatigue: float = Field(4.0, ge=0.0, description="added utility of leaving at fatigue 1")
    browse_bias: float = Field(-1.5, description="utility of wandering to a neighbouring room")
    consideration_hops: int | None = Field(
        2, ge=0, description="users consider items within this many doors (None: all items)"
    )

    @model_validator(mode="after")
    def _check(self) -> VisitorsSection:
        if not self.styles or sum(s.share for s in self.styles.values()) <= 0:
            raise ValueError("styles: at least one style with share > 0 is needed")
        if not self.group_sizes or min(self.group_sizes) < 0 or sum(self.group_sizes) <= 0:
            raise ValueError("group_sizes: probabilities must be >= 0 and not all 0")
        return self


class CrowdSection(StrictModel):
    """Direct influence of the crowd: everything other visitors cause (the term ``cr`` of ``f``)."""

    rho_star: float = Field(0.5, gt=0.0, description="p/m² at which a room feels crowded")
    congestion_penalty: float = Field(0.5, ge=0.0, description="per p/m² above rho_star")
    rho_view: float = Field(1.0, gt=0.0, description="p/m² in a viewing zone above which others block the view")
    view_penalty: float = Field(0.5, ge=0.0, description="per p/m² of viewing-zone density above rho_view")
    view_m2: float = Field(1.2, gt=0.0, description="m² of viewing zone per viewing place of an exhibit")
    view_quality_rate: float = Field(0.5, ge=0.0, description="fall of viewing quality per p/m² above rho_view")
    skip_quality: float = Field(0.5, ge=0.0, le=1.0, description="viewing quality below which visitors skip")
    balk_excess: float = Field(0.15, ge=0.0, description="p/m² above rho_star at which visitors balk at a room")
    crowd_memory: float = Field(1.0, ge=0.0, description="weight of the crowding remembered (peak-end)")
    crowd_noise: float = Field(0.3, ge=0.0, le=1.0, description="noise occupancy makes at comfort capacity")
    social_proof: float = Field(0.2, ge=0.0)
    social_scale: float = Field(3.0, gt=0.0)
    wait_cost: float = Field(0.02, ge=0.0, description="per minute queueing")
    queue_patience: float = Field(10.0, gt=0.0, description="minutes before leaving a queue")
    cohesion: float = Field(0.8, ge=0.0, le=1.0, description="chance companions follow")


class WindowSection(StrictModel):
    """A closure or an event in a zone from ``start`` to ``end`` (minutes after opening)."""

    zone: int = Field(ge=0)
    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)


class VenueSensorConfig(SensorConfig):
    """Occupancy sensors of the venue: noise, dropout and the delay of what personalisers see."""

    delay: float = Field(
        0.0, ge=0.0, le=60.0, description="minutes the readings guides and learners see lag behind the rooms"
    )


class ContextSection(StrictModel):
    """Indirect influence, what no visitor causes: arrivals, ambient noise, closures, events, sensors."""

    arrival_profile: list[float] = Field(default_factory=lambda: list(MUSEUM_HOURLY_PROFILE))
    entry_interval: float = Field(
        0.0, ge=0.0, description="timed entry: minutes between entry waves (0: continuous arrivals)"
    )
    base_noise: float = Field(0.1, ge=0.0, le=1.0, description="ambient noise of a room")
    noise_sensitivity: float = Field(0.2, ge=0.0, description="utility lost at full noise (ambient or crowd)")
    closures: list[WindowSection] = Field(default_factory=list)
    events: list[WindowSection] = Field(default_factory=list)
    event_bonus: float = Field(0.2, ge=0.0)
    sensors: VenueSensorConfig = Field(default_factory=VenueSensorConfig)

    @model_validator(mode="after")
    def _check(self) -> ContextSection:
        if not self.arrival_profile or min(self.arrival_profile) < 0 or sum(self.arrival_profile) <= 0:
            raise ValueError("arrival_profile: weights must be >= 0 and not all 0")
        return self


class GuidesSection(StrictModel):
    """The personalisers (mobile guides)."""

    count: int = Field(8, ge=0, le=10_000, description="guide slots (devices in service)")
    device_share: float = Field(0.2, ge=0.0, le=1.0, description="share of groups with a guide")
    policy: PolicyName = Field("crowd_aware", description="heuristic used when no learner acts")
    profile_noise: float = Field(0.3, ge=0.0, description="noise of the entry questionnaire")
    trust_mean: float = Field(0.6, ge=0.0, le=1.0)
    content_bonus: float = Field(0.3, ge=0.0)
    estimate_lr: float = Field(0.3, ge=0.0, le=1.0, description="learning rate of interests")
    trust_lr: float = Field(0.1, ge=0.0, le=1.0)
    crowd_weight: float = Field(1.0, ge=0.0, description="crowd_aware, crowd_coordinated: weight of congestion")
    spread_temperature: float = Field(
        0.0, ge=0.0, le=10.0, description="crowd_coordinated: softmax temperature of the assignment (0: the best item)"
    )
    observation: Literal["flat", "items"] = Field(
        "flat",
        description="learners' observation: the flat layout, or per-item rows (scenarios.museum.items)",
    )


class FSection(FTerms):
    """Term weights of f plus the acceptance model and the environment term's constants."""

    accept_bias: float = -1.5
    accept_sharpness: float = Field(4.0, ge=0.0)
    attraction_weight: float = Field(0.4, ge=0.0)
    walk_cost: float = Field(0.03, ge=0.0, description="per walking minute")


class RewardsSection(StrictModel):
    """How guides are rewarded (used by the multi-agent env)."""

    cooperation: float = Field(0.0, ge=0.0, le=1.0, description="0 selfish .. 1 cooperative")


class VenueConfig(StrictModel):
    """A whole venue world."""

    world: WorldSection = Field(default_factory=WorldSection)
    floor: FloorSection = Field(default_factory=FloorSection)
    visitors: VisitorsSection = Field(default_factory=VisitorsSection)
    crowd: CrowdSection = Field(default_factory=CrowdSection)
    context: ContextSection = Field(default_factory=ContextSection)
    guides: GuidesSection = Field(default_factory=GuidesSection)
    f: FSection = Field(default_factory=FSection)
    rewards: RewardsSection = Field(default_factory=RewardsSection)

    @model_validator(mode="after")
    def _bounds(self) -> VenueConfig:
        w = self.world
        check_ticks(
            w.day_minutes / w.minutes_per_step,
            f"world.day_minutes / world.minutes_per_step: {w.day_minutes} / {w.minutes_per_step:g}",
            f"use minutes_per_step >= {w.day_minutes / MAX_TICKS_PER_DAY:.4g}",
        )
        check_memory(self.table_bytes())
        return self

    def table_bytes(self) -> dict[str, float]:
        """Estimated bytes of the per-pair tables a day allocates, keyed by the fields that size them.

        The tables are those of ``VenueModel`` and its population: zones x zones walking minutes
        and reachability, zones x exhibits walking minutes, the zones x considered-exhibits choice
        tables (x topics for the features), visitors x exhibits (the ranking of each visitor's
        top items, ``visited``), visitors x topics (interests, satiation), guides x exhibits
        (decision views) and ticks x zones (the occupancy history). The sizes of a floor loaded
        from ``floor.file`` are unknown here, so its estimate is empty; the plan checks its own
        tables when it loads (:func:`cpss.kit.floorplan.make_floor`).
        """
        fl, v, g = self.floor, self.visitors, self.guides
        if fl.file:
            return {}
        ticks = self.world.day_minutes / self.world.minutes_per_step
        n, m, t = fl.rooms, fl.exhibits, fl.topics
        hops = v.consideration_hops
        # A generated floor is a part of a grid, so at most 2h(h+1)+1 rooms lie within h doors;
        # exhibits sit in rooms 1..N-1 uniformly: a consideration set holds about m·rooms/(n-1)
        # of them, and the fullest one (which sizes the table) up to 1.5 times as many.
        near = m if hops is None else min(m, -(-3 * m * min(n, 2 * hops * (hops + 1) + 1) // (2 * (n - 1))))
        return {
            "floor.rooms x floor.rooms (walking minutes)": 9.0 * n * n,
            "floor.rooms x floor.exhibits (walking minutes)": 8.0 * n * m,
            "floor.rooms x floor.exhibits x floor.topics (choice tables)": (17.0 + 8.0 * t) * n * near,
            # interest @ features.T, its negation and the argsort of each user's top items; then visited
            "visitors.count x floor.exhibits (top items, visited)": 25.0 * v.count * m,
            "guides.count x floor.exhibits (decision view)": 33.0 * g.count * m,
            "visitors.count x floor.topics (interest, satiation)": 24.0 * v.count * t,
            "world.day_minutes / world.minutes_per_step x floor.rooms (occupancy history)": 8.0 * ticks * n,
        }
