"""Metrics of a workshop shift: module-level DataCollector reporters and the shift summary.

Reporters are plain functions of a :class:`scenarios.workshop.world.WorkshopModel` that read
its arrays and counters (no lambdas, no per-agent loops). Figures "so far" accumulate from the
start of the shift; fatigue is the mean of physical and mental fatigue of each operator.
"""

from __future__ import annotations

from typing import Any

from cpss.kit.stats import gini


def minute(m: Any) -> float:
    """Minutes since the shift started."""
    return float(m.minute)


def throughput(m: Any) -> int:
    """Jobs finished by the last station of a cell, so far."""
    return int(m.done.sum())


def throughput_per_hour(m: Any) -> float:
    """Finished jobs per hour so far."""
    return float(m.done.sum() / m.elapsed * 60.0) if m.elapsed else 0.0


def jobs_in(m: Any) -> int:
    """Jobs that entered the line: the initial work in progress plus released orders."""
    return int(m.initial_wip.sum() + m.released.sum())


def wip(m: Any) -> int:
    """Jobs in the line now (buffers, in process, finished but blocked)."""
    return int(m.wip)


def backlog(m: Any) -> int:
    """Orders waiting in the order book now."""
    return int(m.backlog.sum())


def lead_time(m: Any) -> float:
    """Mean minutes from order arrival to finish over jobs finished so far."""
    done = int(m.done.sum())
    return float(m.lead_sum / done) if done else 0.0


def mean_fatigue(m: Any) -> float:
    """Mean fatigue over operators and minutes so far."""
    return float(m.fatigue_sum / m.elapsed) if m.elapsed else float(m.combined_fatigue.mean())


def fatigue_now(m: Any) -> float:
    """Mean fatigue of the operators now."""
    return float(m.combined_fatigue.mean())


def peak_fatigue(m: Any) -> float:
    """Highest fatigue of any operator so far."""
    return float(max(m.peak_fatigue, float(m.combined_fatigue.max(initial=0.0))))


def physical_fatigue(m: Any) -> float:
    """Mean physical fatigue (most fatigued body region) of the workers now."""
    return float(m.phys.mean())


def mental_fatigue(m: Any) -> float:
    """Mean mental fatigue of the operators now."""
    return float(m.mental.mean())


def comfort_mismatch(m: Any) -> float:
    """Mean distance of cobot behaviour from the worker's true preference, per minute of work."""
    return float(m.mismatch_sum / m.collab_minutes) if m.collab_minutes else 0.0


def physical_fatigue_mean(m: Any) -> float:
    """Mean over workers and minutes so far of the fatigued fraction of the most fatigued body region."""
    return float(m.phys_sum / m.elapsed) if m.elapsed else float(m.phys.mean())


def failed_minutes(m: Any) -> float:
    """Worker-minutes of work so far with a body region past the 3CC failure point (slowed, micro-pauses)."""
    return float(m.failed_min)


def safety_violations(m: Any) -> int:
    """Real violations so far: contacts above the exposed body region's force-limited speed."""
    return int(m.violations)


def protective_stops(m: Any) -> int:
    """Protective stops so far (workspace entries while faster than the force-limited speed)."""
    return int(m.stops)


def cobot_errors(m: Any) -> int:
    """Jobs so far whose cobot part failed and was redone."""
    return int(m.cobot_errors)


def crew_utilisation(m: Any) -> float:
    """Share of the technicians' time so far spent on a repair (travel, diagnosis, wrench time)."""
    n = int((m.crew_kind == 0).sum())
    return float(m.crew_busy_min / (n * m.elapsed)) if m.elapsed and n else 0.0


def workload_gini(m: Any) -> float:
    """Gini coefficient of the minutes each operator has worked (own station and helping)."""
    return gini(m.work_minutes)


def mean_satisfaction(m: Any) -> float:
    """Mean accumulated well-being (the utility of f) per operator."""
    return float(m.satisfaction.mean())


def mean_trust(m: Any) -> float:
    """Mean trust of the operators in their cobot now."""
    return float(m.trust.mean())


def availability(m: Any) -> float:
    """Share of station-minutes with the machine up, so far."""
    return float(m.up_min / (m.elapsed * m.layout.n_stations)) if m.elapsed else 1.0


def starved_share(m: Any) -> float:
    """Share of station-minutes starved (worker present, no job), so far."""
    return float(m.starved_min / (m.elapsed * m.layout.n_stations)) if m.elapsed else 0.0


def blocked_share(m: Any) -> float:
    """Share of station-minutes blocked (finished job, no room downstream), so far."""
    return float(m.blocked_min / (m.elapsed * m.layout.n_stations)) if m.elapsed else 0.0


def failures(m: Any) -> int:
    """Machine failures so far."""
    return int(m.failures)


def helps(m: Any) -> int:
    """Worker-minutes spent helping a neighbour, so far."""
    return int(m.helps)


def account(m: Any) -> None:
    """Add the tick to the running counters the reporters read (called once a tick by the model)."""
    dt = m.dt
    fat = m.combined_fatigue
    m.violations += int(m.violations_tick.sum())
    m.stops += int(m.stops_tick.sum())
    m.fatigue_sum += float(fat.mean()) * dt
    m.phys_sum += float(m.phys.mean()) * dt
    m.failed_min += dt * float(((m.capacity < 1.0) & (m.work_share > 0)).sum())
    m.elapsed += dt
    m.peak_fatigue = max(m.peak_fatigue, float(fat.max(initial=0.0)))
    m.mismatch_sum += float(m.mismatch.sum()) * dt
    m.collab_minutes += float(m.collaborating.sum()) * dt
    m.helps += int((m.helping >= 0).sum())
    m.starved_min += dt * float((m.present & ~m.busy & ~m.blocked).sum())
    m.blocked_min += dt * float(m.blocked.sum())
    m.up_min += dt * float(m.up.sum())
    m.buffer_history.append(m.input_level.copy())


MODEL_REPORTERS = {
    "minute": minute,
    "throughput": throughput,
    "throughput_per_hour": throughput_per_hour,
    "jobs_in": jobs_in,
    "wip": wip,
    "backlog": backlog,
    "lead_time": lead_time,
    "mean_fatigue": mean_fatigue,
    "fatigue_now": fatigue_now,
    "peak_fatigue": peak_fatigue,
    "physical_fatigue": physical_fatigue,
    "mental_fatigue": mental_fatigue,
    "comfort_mismatch": comfort_mismatch,
    "physical_fatigue_mean": physical_fatigue_mean,
    "failed_minutes": failed_minutes,
    "safety_violations": safety_violations,
    "protective_stops": protective_stops,
    "cobot_errors": cobot_errors,
    "crew_utilisation": crew_utilisation,
    "workload_gini": workload_gini,
    "mean_satisfaction": mean_satisfaction,
    "mean_trust": mean_trust,
    "availability": availability,
    "starved_share": starved_share,
    "blocked_share": blocked_share,
    "failures": failures,
    "helps": helps,
}
"""Reporter name -> function(model), collected every tick."""


def summary(m: Any) -> dict[str, float]:
    """The shift's headline figures (every reporter's current value)."""
    return {name: float(fn(m)) for name, fn in MODEL_REPORTERS.items()}
