"""Configuration of the smart workshop (cobots personalising collaboration with workers).

One section per argument of ``f``: ``floor`` (env: stations, buffers, machines), ``workers``
(u), ``team`` (cr), ``context`` (cx), ``cobots`` (x_pa), ``f`` (term weights and constants),
plus ``world`` (clock, seed) and ``rewards``. Defaults come from
shared/reference/calibration-workshop.md; a field description ending in ``[A]`` marks a
default that is a modelling assumption rather than a published figure.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cpss.kit.config import FTerms, SensorConfig, StrictModel
from cpss.kit.limits import MAX_TICKS_PER_DAY, check_ticks


class WorldSection(StrictModel):
    """Clock and seed. One episode is one shift."""

    seed: int = Field(0, ge=0, description="root seed of the model RNG")
    day_minutes: int = Field(480, ge=10, le=24 * 60, description="shift length (calibration §9.1)")
    shifts: int = Field(
        1, ge=1, le=30, description="shifts per episode; the roster carries skill and trust between them"
    )
    minutes_per_step: float = Field(
        1.0, gt=0.0, le=1.0, description="minutes per tick; at most 1 (a station completes at most one job a tick)"
    )

    @model_validator(mode="after")
    def _check(self) -> WorldSection:
        check_ticks(
            self.shifts * self.day_minutes / self.minutes_per_step,
            f"world.day_minutes / world.minutes_per_step: {self.day_minutes} / {self.minutes_per_step:g}"
            + (f" × {self.shifts} shifts" if self.shifts > 1 else ""),
            f"use minutes_per_step >= {self.day_minutes / MAX_TICKS_PER_DAY:.4g}",
        )
        return self


class FloorSection(StrictModel):
    """The shop floor: stations in one line or several cells, buffers, machines."""

    stations: int = Field(6, ge=1, le=500, description="stations in all (calibration §9.1)")
    cells: int = Field(1, ge=1, le=100, description="1 = a single line; else parallel cells")
    buffer_capacity: int = Field(2, ge=1, le=50, description="jobs per buffer (Koren)")
    initial_wip: int = Field(1, ge=0, le=50, description="jobs in each buffer at shift start [A]")
    task_types: int = Field(3, ge=1, le=16, description="station task types (station i: i mod T)")
    cycle_time: float = Field(2.0, gt=0.0, le=60.0, description="nominal manual minutes per job (70–150 s range, §9.1)")
    cycle_time_cv: float = Field(0.1, ge=0.0, le=1.0, description="station spread (σ = 0.1·mean)")
    layout_seed: int | None = Field(None, ge=0, description="fixes cycle times across days; None: from the root seed")

    @model_validator(mode="after")
    def _check(self) -> FloorSection:
        if self.stations % self.cells:
            raise ValueError(f"stations ({self.stations}) must be a multiple of cells ({self.cells})")
        if self.initial_wip > self.buffer_capacity:
            raise ValueError(f"initial_wip ({self.initial_wip}) exceeds buffer_capacity ({self.buffer_capacity})")
        return self


class MachinesSection(StrictModel):
    """Failure and repair process of the station machines (operation-dependent failures)."""

    availability: float = Field(0.9, gt=0.0, le=1.0, description="target A (Nakajima 90%)")
    mttr: float = Field(30.0, gt=0.0, description="mean repair minutes (calibration §9.4)")
    repair_shape: int = Field(2, ge=1, le=20, description="Erlang shape of repair time (CV 0.71)")
    response: float = Field(
        10.0, ge=0.0, le=120.0, description="minutes to reach, diagnose and sign off a failed machine [A]"
    )
    max_failures: int = Field(64, ge=1, le=10_000, description="failure clocks drawn per station in advance")
    process_fault_share: float = Field(
        0.2, ge=0.0, le=1.0, description="faults an engineer clears instead of a technician [A]"
    )


class WorkersSection(StrictModel):
    """The users: one operator per station, with skills, fatigue, preferences and trust."""

    roster_seed: int | None = Field(None, ge=0, description="fixes the team across days; None: from the root seed")
    pace_cv: float = Field(0.1, ge=0.0, le=1.0, description="spread of natural pace [A]")
    prior_jobs: float = Field(60.0, ge=0.0, description="median prior jobs per task type [A]")
    prior_sigma: float = Field(1.0, ge=0.0, le=3.0, description="lognormal σ of prior jobs [A]")
    learning_rate: float = Field(0.85, gt=0.5, lt=1.0, description="Wright progress ratio (85%)")
    plateau: float = Field(0.7, gt=0.0, le=1.0, description="asymptotic unit time / T₁ [A]")
    forgetting: float = Field(
        0.03, ge=0.0, le=1.0, description="share of experience lost overnight (Globerson et al.: a few points a day)"
    )
    mental_rate: float = Field(0.006, ge=0.0, description="mental F per minute at drive 1 [A]")
    mental_recovery: float = Field(0.008, gt=0.0, description="mental R per minute [A]")
    mental_rest_multiplier: float = Field(4.0, ge=1.0, le=50.0, description="[A]")
    fatigue_cv: float = Field(0.3, ge=0.0, le=1.0, description="worker spread of F and R (§9.2)")
    heat_load: float = Field(0.3, ge=0.0, description="extra share of every region's load at full heat [A]")
    mental_slowdown: float = Field(0.2, ge=0.0, le=0.9, description="pace lost at mental 1 [A]")
    error_base: float = Field(0.005, ge=0.0, le=0.5, description="p₀ of p_err = p₀ + (0.6F)⁶")
    pref_speed: float = Field(0.35, ge=0.0, le=1.0, description="mean preferred speed (≈0.5 m/s)")
    pref_assistance: float = Field(0.35, ge=0.0, le=1.0, description="mean preferred share")
    pref_sd: float = Field(0.15, ge=0.0, le=1.0, description="spread of preferences [A]")
    stated_noise: float = Field(0.1, ge=0.0, le=1.0, description="questionnaire noise [A]")
    speed_sensitivity_cv: float = Field(0.4, ge=0.0, le=2.0, description="lognormal CV (§9.2)")
    trust_mean: float = Field(0.6, ge=0.0, le=1.0, description="initial trust [A]")
    trust_lr: float = Field(0.01, ge=0.0, le=1.0, description="trust update per minute [A]")
    stop_trust_drop: float = Field(0.003, ge=0.0, le=1.0, description="trust lost per protective stop [A]")
    violation_trust_drop: float = Field(0.15, ge=0.0, le=1.0, description="trust lost per real violation [A]")
    error_trust_drop: float = Field(0.05, ge=0.0, le=1.0, description="trust lost per cobot error [A]")
    success_trust_gain: float = Field(0.002, ge=0.0, le=1.0, description="trust gained per assisted job done [A]")
    stop_startle: float = Field(
        0.005, ge=0.0, le=1.0, description="mental jump per stop (Lu et al.: stops raise GSR) [A]"
    )
    violation_startle: float = Field(0.1, ge=0.0, le=1.0, description="mental jump per real violation [A]")
    reliance_trust: float = Field(
        0.5, gt=0.0, le=1.0, description="trust at which offered help is fully accepted; below, in proportion [A]"
    )
    keep_away: float = Field(0.4, ge=0.0, le=2.0, description="m kept farther from a full-speed cobot at trust 0 [A]")
    pref_adapt: float = Field(
        0.1, ge=0.0, le=10.0, description="per hour: preferred setting drifts toward the one experienced [A]"
    )
    near_share: float = Field(0.5, ge=0.0, le=1.0, description="mean share of minutes near [A]")
    near_persistence: float = Field(
        0.8, ge=0.0, lt=1.0, description="mean chance a proximity phase carries on a minute [A]"
    )


class FatigueSection(StrictModel):
    """Local muscle fatigue, 3CC-r per body region (shoulder, grip, trunk; calibration §1.1)."""

    F: list[float] = Field(
        default_factory=lambda: [0.01820, 0.00980, 0.00755],
        min_length=3,
        max_length=3,
        description="fatigue rate per second, shoulder/grip/trunk (Frey-Law et al. 2012, Table 1)",
    )
    R: list[float] = Field(
        default_factory=lambda: [0.00168, 0.00064, 0.00075],
        min_length=3,
        max_length=3,
        description="recovery rate per second, shoulder/grip/trunk (Frey-Law et al. 2012, Table 1)",
    )
    rest_multiplier: float = Field(15.0, ge=1.0, le=50.0, description="r of 3CC-r (Looft et al. 2018; MyoSuite 15)")
    micro_pause: float = Field(20.0, ge=0.0, le=60.0, description="s of rest a failed worker takes in a minute [A]")
    failure_error: float = Field(
        0.05, ge=0.0, le=1.0, description="extra chance of rework for a job ended while failed [A]"
    )
    share: list[float] = Field(
        default_factory=lambda: [0.5, 0.3, 0.2],
        min_length=3,
        max_length=3,
        description="time shares of fit/fasten/lift in task type 0 (type t rolls them by t) [A]",
    )
    loads: list[list[float]] = Field(
        default_factory=lambda: [[0.25, 0.20, 0.05], [0.05, 0.15, 0.0], [0.05, 0.10, 0.30]],
        min_length=3,
        max_length=3,
        description="target load (fraction of MVC) of fit/fasten/lift on shoulder/grip/trunk [A]",
    )
    cobot_factor: list[float] = Field(
        default_factory=lambda: [1.6, 0.6, 1.0],
        min_length=3,
        max_length=3,
        description="cobot time on fit/fasten/lift relative to its average per job [A]",
    )

    @model_validator(mode="after")
    def _check(self) -> FatigueSection:
        if any(f <= 0 for f in self.F) or any(r <= 0 for r in self.R):
            raise ValueError("F and R must be > 0")
        if abs(sum(self.share) - 1.0) > 1e-6 or min(self.share) < 0:
            raise ValueError(f"share must be >= 0 and sum to 1 (got {sum(self.share):g})")
        if any(len(row) != 3 or min(row) < 0 or max(row) >= 1 for row in self.loads):
            raise ValueError("loads: three rows of three loads in [0, 1)")
        if min(self.cobot_factor) <= 0:
            raise ValueError("cobot_factor must be > 0")
        return self


class TeamSection(StrictModel):
    """Direct influence of the team (the crowd)."""

    technicians: int = Field(2, ge=1, le=1000, description="pooled maintenance technicians")
    engineers: int = Field(1, ge=0, le=1000, description="engineers clearing process faults")
    help_probability: float = Field(
        0.1, ge=0.0, le=1.0, description="idle worker helps an overloaded neighbour, per minute"
    )
    help_share: float = Field(0.3, ge=0.0, le=1.0, description="human rate a helper adds [A]")
    peer_effect: float = Field(
        0.17,
        ge=0.0,
        le=1.0,
        description="effort gained per unit of visible coworkers' productivity above one's own (Mas & Moretti)",
    )
    rotation: bool = Field(False, description="workers move one station down their cell at each break and shift start")
    starve_boost: float = Field(0.05, ge=0.0, le=0.5, description="speed-up when next starves")
    shared_tools: int = Field(2, ge=0, le=1000, description="shared tool kits per cell [A]")
    tool_need: float = Field(0.15, ge=0.0, le=1.0, description="chance a job minute needs one [A]")
    tool_wait: float = Field(0.5, ge=0.0, le=1.0, description="minutes lost when none is free [A]")


class WindowSection(StrictModel):
    """A window of the shift from ``start`` to ``end`` minutes."""

    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)


class PeakSection(WindowSection):
    """A demand peak: the order rate is multiplied by ``factor``."""

    factor: float = Field(1.4, gt=0.0, le=10.0)


class SensorsSection(StrictModel):
    """Noisy sensors of the CPS side (reused cpss.kit.context.OccupancySensors)."""

    machine: SensorConfig = Field(
        default_factory=lambda: SensorConfig(relative_noise=0.0, absolute_noise=0.1, dropout=0.02)
    )
    proximity: SensorConfig = Field(
        default_factory=lambda: SensorConfig(relative_noise=0.0, absolute_noise=0.05, dropout=0.02)
    )
    wearable: SensorConfig = Field(
        default_factory=lambda: SensorConfig(relative_noise=0.1, absolute_noise=0.05, dropout=0.05)
    )


def _default_breaks() -> list[WindowSection]:
    return [WindowSection(start=120, end=130), WindowSection(start=240, end=270), WindowSection(start=360, end=370)]


def _default_peaks() -> list[PeakSection]:
    return [PeakSection(start=90, end=150, factor=1.4), PeakSection(start=330, end=390, factor=1.4)]


class ContextSection(StrictModel):
    """Indirect influence: shift clock and breaks, order book, noise and temperature, sensors."""

    breaks: list[WindowSection] = Field(default_factory=_default_breaks, description="10/30/10 min (net 430 min, §9.1)")
    order_load: float = Field(0.9, ge=0.0, le=5.0, description="base orders / manual line capacity (§9.1: 0.9)")
    peaks: list[PeakSection] = Field(default_factory=_default_peaks, description="two 60-min peaks at 1.4× [A]")
    base_noise: float = Field(0.3, ge=0.0, le=1.0, description="ambient noise level [A]")
    machine_noise: float = Field(0.3, ge=0.0, le=1.0, description="added with all machines on [A]")
    temperature: float = Field(20.0, ge=-20.0, le=50.0, description="°C at shift start [A]")
    temperature_rise: float = Field(6.0, ge=0.0, le=30.0, description="°C peak rise [A]")
    comfort_temperature: float = Field(24.0, description="°C above which heat hurts [A]")
    sensors: SensorsSection = Field(default_factory=SensorsSection)

    @model_validator(mode="after")
    def _check(self) -> ContextSection:
        for name, windows in (("breaks", self.breaks), ("peaks", self.peaks)):
            for i, w in enumerate(windows):
                if w.end <= w.start:
                    raise ValueError(f"{name}[{i}]: end must be > start")
        return self


class CobotsSection(StrictModel):
    """The personalisers: cobots with speed-and-separation safety parameters."""

    count: int | None = Field(None, ge=1, le=500, description="None: one per station")
    stations: list[int] | None = Field(None, description="where they stand; None: spread evenly")
    v_max: float = Field(1.5, gt=0.0, le=5.0, description="TCP m/s at speed 1 (UR 1.5 m/s)")
    v_reduced: float = Field(0.25, ge=0.0, description="ISO 10218-1 reduced speed, m/s")
    speed_limit: float | Literal["pfl"] | None = Field(
        None,
        description=(
            "safety-rated speed limit the controller enforces on every setting, m/s; "
            "'pfl': the lowest body region's force-limited speed (no contact can exceed its limit); "
            "None: v_max"
        ),
    )
    t_react: float = Field(0.1, ge=0.0, description="robot reaction time, s (SSM configuration, §9.3)")
    t_stop_min: float = Field(0.15, ge=0.0, description="stopping time at rest speed, s (UR3/UR5 category-0 data)")
    t_stop_max: float = Field(0.5, ge=0.0, description="stopping time at v_max, s (UR5 at 1.5 m/s, §3.2)")
    intrusion: float = Field(0.3, ge=0.0, description="C + Z_d + Z_r, m (§9.3)")
    robot_mass: float = Field(25.0, gt=0.0, description="moving mass M of the robot, kg (18–34 kg, §3.3) [A]")
    payload: float = Field(2.0, ge=0.0, description="payload plus tool, kg (§3.3)")
    restart: float = Field(1.5, ge=0.0, le=60.0, description="s to resume after a protective stop [A]")
    dwell: float = Field(4.0, ge=0.0, le=60.0, description="s a worker stays in the workspace per entry [A]")
    reach_rate: float = Field(2.0, ge=0.0, le=30.0, description="workspace entries per minute of work, worker near [A]")
    walk_rate: float = Field(0.2, ge=0.0, le=30.0, description="workspace entries per minute of work, worker far [A]")
    lean_share: float = Field(
        0.3, ge=0.0, le=1.0, description="chance a near worker's entries expose the chest, not the arm [A]"
    )
    miss_rate: float = Field(
        0.02, ge=0.0, le=1.0, description="chance the monitor misses an entry (as the proximity dropout) [A]"
    )
    error_rate: float = Field(
        0.01, ge=0.0, le=1.0, description="chance a cobot's part of a job fails and is redone [A]"
    )
    time_ratio: float = Field(1.5, gt=0.0, description="cobot minutes per whole job / cycle_time, at speed 1 [A]")
    speed_half: float = Field(0.2, gt=0.0, description="speed at which motion = rest of cycle [A]")
    fixed_speed: float | None = Field(None, ge=0.0, le=1.0, description="None: reduced speed")
    fixed_assistance: float = Field(0.3, ge=0.0, le=1.0, description="calibration §9.3 [A]")
    fixed_focus: float = Field(
        0.0, ge=0.0, le=1.0, description="fixed: ergonomic focus (0 quickest sub-tasks first) [A]"
    )
    adaptive_gain: float = Field(1.0, ge=0.0, le=5.0, description="fatigue_adaptive: assist gain")
    adaptive_onset: float = Field(
        0.5, ge=0.0, le=1.0, description="fatigue_adaptive: fatigue at which help ramps up [A]"
    )
    guard_margin: float = Field(0.2, ge=0.0, description="heuristics: m added to S_p [A]")

    @model_validator(mode="after")
    def _check(self) -> CobotsSection:
        if self.v_reduced > self.v_max:
            raise ValueError("v_reduced must be <= v_max")
        if self.t_stop_max < self.t_stop_min:
            raise ValueError("t_stop_max must be >= t_stop_min")
        if isinstance(self.speed_limit, float | int) and not 0.0 < self.speed_limit <= self.v_max:
            raise ValueError("speed_limit must be in (0, v_max] m/s, 'pfl' or unset")
        return self


class FSection(FTerms):
    """Term weights of f plus the constants inside the terms, with workshop meanings."""

    monotony_hours: float = Field(3.0, gt=0.0, description="n_sat: hours since a break [A]")
    assist_value: float = Field(0.3, ge=0.0, description="content_bonus: value of trusted help")
    support: float = Field(0.1, ge=0.0, description="social_proof: value of helping colleagues")
    support_scale: float = Field(1.0, gt=0.0, description="helpers at 63% of the support")
    pressure_fill: float = Field(0.75, ge=0.0, description="rho_star: input fill that pressures")
    pressure_penalty: float = Field(0.4, ge=0.0, description="per unit of fill above it")
    wait_cost: float = Field(0.1, ge=0.0, description="per minute starved or blocked")
    noise_sensitivity: float = Field(0.3, ge=0.0, description="at full noise and heat")
    break_bonus: float = Field(0.2, ge=0.0, description="event_bonus: during a break")
    machine_weight: float = Field(0.2, ge=0.0, description="attraction_weight: machine up")
    walk_cost: float = Field(0.1, ge=0.0, description="per minute fetching tools or helping")


class RewardsSection(StrictModel):
    """How cobots are rewarded, per tick."""

    cooperation: float = Field(0.0, ge=0.0, le=1.0, description="0 own station .. 1 line output")
    output: float = Field(1.0, ge=0.0, description="per job completed")
    wellbeing: float = Field(0.5, ge=0.0, description="per unit of f's utility")
    fatigue: float = Field(0.5, ge=0.0, description="per unit of mean fatigue")
    safety: float = Field(3.0, ge=0.0, description="per safety violation (human-robot-gym scale)")


class WorkshopConfig(StrictModel):
    """A whole smart workshop."""

    world: WorldSection = Field(default_factory=WorldSection)
    floor: FloorSection = Field(default_factory=FloorSection)
    machines: MachinesSection = Field(default_factory=MachinesSection)
    workers: WorkersSection = Field(default_factory=WorkersSection)
    fatigue: FatigueSection = Field(default_factory=FatigueSection)
    team: TeamSection = Field(default_factory=TeamSection)
    context: ContextSection = Field(default_factory=ContextSection)
    cobots: CobotsSection = Field(default_factory=CobotsSection)
    f: FSection = Field(default_factory=FSection)
    rewards: RewardsSection = Field(default_factory=RewardsSection)

    @model_validator(mode="after")
    def _check(self) -> WorkshopConfig:
        n, c = self.floor.stations, self.cobots
        if c.count is not None and c.count > n:
            raise ValueError(f"cobots.count: {c.count} cobots but only {n} stations")
        if c.stations is not None:
            if len(c.stations) != self.n_cobots:
                raise ValueError(f"cobots.stations: {len(c.stations)} entries for {self.n_cobots} cobots")
            if len(set(c.stations)) != len(c.stations) or not all(0 <= i < n for i in c.stations):
                raise ValueError(f"cobots.stations: must be distinct stations in 0..{n - 1}")
        day = self.world.day_minutes
        for name, windows in (("breaks", self.context.breaks), ("peaks", self.context.peaks)):
            for i, w in enumerate(windows):
                if w.start >= day:
                    raise ValueError(f"context.{name}[{i}]: starts after the shift ({day} min)")
        return self

    @property
    def n_cobots(self) -> int:
        """Number of cobots (one per station unless ``cobots.count`` says otherwise)."""
        return self.cobots.count if self.cobots.count is not None else self.floor.stations
