"""Fitting the museum's behavioural parameters to a visitor log (the engine of ``cpss calibrate museum``).

Two kinds of estimate (docs/data.md, "Calibration"):

* **Read off the log** (closed form, with binomial standard errors): the visitor count, the
  hourly arrival profile (arrivals of groups per opening hour), and, from an event log, the
  style shares, the group-size distribution and the share of groups with a guide.
* **Simulation-based** (the method of simulated moments): the time budget (``budget_median``,
  ``budget_sigma``), the dwell scale (each style's ``dwell_mult`` when the log names styles,
  else ``floor.dwell_median``), the choice sharpness (one factor on every style's
  ``selectivity``) and the walking sensitivity (one factor on every style's
  ``walk_sensitivity``). The moments of :func:`moments` of ``days`` simulated days (the Mesa
  engine, common random numbers: the same seeds at every trial) are matched to the log's by a
  bounded trust-region least-squares fit (``scipy.optimize.least_squares``) whose Jacobian is
  taken by finite differences over simulated days; no derivative of the simulator is used.
  Moments are scaled by their day-to-day standard deviation. Standard errors come from the
  sandwich ``(1 + 1/days) (JᵀJ)⁻¹ JᵀSJ (JᵀJ)⁻¹`` with ``S`` the covariance of the scaled moments
  over fresh simulated days at the fit.

Everything else (fatigue, leaving and wandering utilities, crowd constants, interests, guide
acceptance) is left at the base config: :data:`NOT_IDENTIFIED` says why.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cpss.data.readers import VisitorLog
from cpss.kit.config import ConfigError
from cpss.runs.logs import simulate_log
from cpss.venue.config import VenueConfig

NOT_IDENTIFIED = {
    "visitors.fatigue_onset, fatigue_tau, attention_floor, walk_fatigue": "confounded with the budget: all end visits",
    "visitors.leave_bias, leave_fatigue, browse_bias": "confounded with the budget and the choice factors",
    "styles.*.stop_bias, order_bonus": "confounded with the choice-sharpness factor",
    "floor.dwell_median (with styles)": "only its product with each style's dwell_mult is identified",
    "crowd.*": "need days with varied crowding (one day shows one crowding level)",
    "visitors.interest_concentration, satiation_n": "interests are not in the log",
    "f.accept_bias, accept_sharpness": "acceptance depends on interests, which the log does not show",
}
"""Parameters the fit leaves at the base config, and why the log cannot identify them."""


@dataclasses.dataclass
class Parameter:
    """One fitted parameter: its config path, its value and standard error, and how it was estimated."""

    path: str
    value: float
    se: float
    method: str


# ---------------------------------------------------------------------- the moments
def moment_names(log: VisitorLog, styles: list[str]) -> list[str]:
    """Names of the moments :func:`moments` returns for logs of this kind."""
    names = ["mean log visit minutes", "sd log visit minutes"]
    if log.kind == "events":
        names += [f"mean log view minutes ({s})" for s in styles] if styles else ["mean log view minutes"]
        names += ["stops per exhibit", "same-room share of successive views", "views on the top 20% exhibits"]
        names += ["views per room entered"]
    else:
        names += ["mean log room minutes", "rooms per visitor", "stays in the top 25% rooms"]
    names += ["share of room entries that are returns"]
    return names


def moments(log: VisitorLog, styles: list[str], n_exhibits: int, n_rooms: int) -> np.ndarray:
    """The statistics the simulated days must match (see :func:`moment_names`)."""
    visit = np.log(np.maximum((log.visits["leave"] - log.visits["enter"]).to_numpy(dtype=float), 0.5))
    out = [visit.mean(), visit.std()]
    n_visitors = max(1, len(log.visits))
    if log.kind == "events" and log.views is not None:
        views = log.views
        dwell = np.log(np.maximum((views["end"] - views["start"]).to_numpy(dtype=float), 1e-3))
        style = views["style"].to_numpy()
        groups = [style == s for s in styles] if styles else [np.ones(len(views), dtype=bool)]
        out += [dwell[g].mean() if g.any() else 0.0 for g in groups]
        out.append(len(views) / (n_visitors * max(1, n_exhibits)))
        same = (views["visitor"].to_numpy()[1:] == views["visitor"].to_numpy()[:-1]) & (
            views["room"].to_numpy()[1:] == views["room"].to_numpy()[:-1]
        )
        pairs = views["visitor"].to_numpy()[1:] == views["visitor"].to_numpy()[:-1]
        out.append(same.sum() / max(1, pairs.sum()))
        out.append(_top_share(views.groupby("exhibit").size().to_numpy(), 0.2, n_exhibits))
        out.append(len(views) / max(1, len(log.stays)))
    else:
        stays = log.stays
        out.append(np.log(np.maximum((stays["leave"] - stays["enter"]).to_numpy(dtype=float), 0.25)).mean())
        out.append(stays.groupby("visitor")["room"].nunique().mean() / max(1, n_rooms))
        out.append(_top_share(stays.groupby("room").size().to_numpy(), 0.25, n_rooms))
    distinct = log.stays.groupby("visitor")["room"].nunique().sum()
    out.append(1.0 - distinct / max(1, len(log.stays)))
    return np.asarray(out, dtype=float)


def _top_share(counts: np.ndarray, top: float, n: int) -> float:
    """Share of the total in the ``top`` fraction of ``n`` bins (bins never seen count as 0)."""
    k = max(1, round(top * n))
    return float(np.sort(counts)[::-1][:k].sum() / max(1, counts.sum()))


# ---------------------------------------------------------------------- read off the log
def direct_estimates(log: VisitorLog, base: VenueConfig) -> tuple[dict[str, Any], list[Parameter]]:
    """Overrides read off the log (visitor count, arrival profile; styles, groups, guides from an event log)."""
    visits = log.visits
    leaders = visits[visits["group"] == visits.index] if log.kind == "events" else visits
    n_groups = max(1, len(leaders))
    params = [Parameter("visitors.count", float(len(visits)), 0.0, "count of visitors in the log")]
    last = max(1.0, base.world.day_minutes - base.world.last_entry_before_close)
    hours = int(np.ceil(last / 60.0))
    counts = np.bincount(np.minimum((leaders["arrive"].to_numpy() // 60).astype(int), hours - 1), minlength=hours)
    share = counts / n_groups
    profile = [float(x) for x in share] + [0.0] * max(0, len(base.context.arrival_profile) - hours)
    for h, p in enumerate(share):
        params.append(
            Parameter(f"context.arrival_profile[{h}]", float(p), _binomial_se(p, n_groups), "share of arrivals")
        )
    overrides: dict[str, Any] = {"visitors": {"count": len(visits)}, "context": {"arrival_profile": profile}}
    if log.kind == "events":
        styles = dict(base.visitors.styles)
        if log.has_styles:
            unknown = sorted(set(leaders["style"]) - set(styles))
            if unknown:
                raise ConfigError(
                    f"{log.source}: column style: style {unknown[0]!r} is not in the base config's styles"
                )
            for name in styles:
                p = float((leaders["style"] == name).mean())
                styles[name] = styles[name].model_copy(update={"share": p})
                params.append(
                    Parameter(f"visitors.styles.{name}.share", p, _binomial_se(p, n_groups), "share of groups")
                )
        overrides["visitors"]["styles"] = styles
        if "group" in log.optional:
            n_sizes = len(base.visitors.group_sizes)
            sizes = visits.groupby("group").size().to_numpy()
            probs = np.bincount(np.minimum(sizes, n_sizes) - 1, minlength=n_sizes) / max(1, sizes.size)
            for k, p in enumerate(probs):
                se = _binomial_se(p, n_groups)
                params.append(Parameter(f"visitors.group_sizes[{k}]", float(p), se, "share of groups"))
            overrides["visitors"]["group_sizes"] = [float(p) for p in probs]
        if "guided" in log.optional:
            guided = float(leaders["guided"].mean())
            params.append(Parameter("guides.device_share", guided, _binomial_se(guided, n_groups), "share of groups"))
            overrides["guides"] = {"device_share": guided}
    return overrides, params


def _binomial_se(p: float, n: int) -> float:
    return float(np.sqrt(max(p * (1 - p), 0.0) / max(1, n)))


# ---------------------------------------------------------------------- simulation-based estimation
STEP = 0.1
"""Finite-difference step of the fit's Jacobian (on log values: 10%; on ``budget_sigma``: 0.1)."""


@dataclasses.dataclass
class Fit:
    """What :func:`fit` found."""

    config: VenueConfig
    parameters: list[Parameter]
    observed: dict[str, float]
    fitted: dict[str, float]
    seconds: float
    simulated_days: int
    fit_seeds: list[int]


def _theta_paths(styles: list[str]) -> list[str]:
    dwell = [f"visitors.styles.{s}.dwell_mult" for s in styles] if styles else ["floor.dwell_median"]
    factors = ["visitors.styles.*.selectivity (factor)", "visitors.styles.*.walk_sensitivity (factor)"]
    return ["visitors.budget_median", "visitors.budget_sigma", *dwell, *factors]


def _apply(config: VenueConfig, theta: np.ndarray, styles: list[str], base: VenueConfig) -> VenueConfig:
    """The config at parameters ``theta`` (logs of positive values; ``budget_sigma`` as is)."""
    budget_median, budget_sigma = float(np.exp(theta[0])), float(theta[1])
    k = len(styles) if styles else 1
    dwell, sel, walk = np.exp(theta[2 : 2 + k]), float(np.exp(theta[2 + k])), float(np.exp(theta[3 + k]))
    new_styles = {}
    for name, s in config.visitors.styles.items():
        b = base.visitors.styles[name]
        upd = {"selectivity": b.selectivity * sel, "walk_sensitivity": b.walk_sensitivity * walk}
        if styles:
            upd["dwell_mult"] = float(dwell[styles.index(name)]) if name in styles else s.dwell_mult
        new_styles[name] = s.model_copy(update=upd)
    visitors = config.visitors.model_copy(
        update={"budget_median": budget_median, "budget_sigma": budget_sigma, "styles": new_styles}
    )
    floor = config.floor if styles else config.floor.model_copy(update={"dwell_median": float(dwell[0])})
    return config.model_copy(update={"visitors": visitors, "floor": floor})


def fit(
    log: VisitorLog,
    base: VenueConfig,
    *,
    days: int = 4,
    seed: int = 0,
    max_evals: int = 30,
    error_days: int = 8,
    on_eval: Callable[[int], None] | None = None,
) -> Fit:
    """Fit the museum to ``log`` (see the module docstring).

    Args:
        log: The validated observed log (one day).
        base: The base config (floor, guides, everything not fitted).
        days: Simulated days per trial (the same seeds at every trial).
        seed: Root seed: trial days use ``seed .. seed + days - 1``, the error days the next ones.
        max_evals: Most evaluations of the least-squares fit (``max_nfev``); each also takes a
            finite-difference Jacobian, one more trial per fitted parameter. A trial is ``days`` days.
        error_days: Fresh days at the fit for the moments' covariance.
        on_eval: Called with the number of trials so far (progress bars).
    """
    from scipy.optimize import least_squares

    start = time.perf_counter()
    overrides, params = direct_estimates(log, base)
    data = base.model_dump()
    for section, values in overrides.items():
        data[section].update(values)
    config = type(base).model_validate(data)
    styles = list(config.visitors.styles) if log.kind == "events" and log.has_styles else []
    _, n_exhibits, n_rooms = floor_of(config, seed)
    observed = moments(log, styles, n_exhibits, n_rooms)
    fit_seeds = [seed + i for i in range(days)]
    count = [0]

    def simulate(theta: np.ndarray, seeds: list[int]) -> np.ndarray:
        cfg = _apply(config, theta, styles, base)
        rows = [moments(_as_kind(simulate_log(cfg, s), log.kind), styles, n_exhibits, n_rooms) for s in seeds]
        count[0] += len(seeds)
        if on_eval is not None:
            on_eval(count[0])
        return np.asarray(rows)

    v = config.visitors
    dwell0 = [v.styles[s].dwell_mult for s in styles] if styles else [config.floor.dwell_median]
    theta0 = np.array([np.log(v.budget_median), v.budget_sigma, *np.log(dwell0), 0.0, 0.0])
    lower = np.array([np.log(5.0), 0.05, *[np.log(0.05)] * len(dwell0), np.log(0.1), np.log(0.1)])
    upper = np.array([np.log(1000.0), 2.0, *[np.log(20.0)] * len(dwell0), np.log(10.0), np.log(10.0)])
    theta0 = np.clip(theta0, lower + 1e-6, upper - 1e-6)
    pilot = simulate(theta0, [seed + i for i in range(max(days, 2))])  # day-to-day spread of each moment
    scale = np.maximum(np.nan_to_num(pilot.std(axis=0, ddof=1)), 1e-3)

    cache: dict[bytes, np.ndarray] = {}

    def residual(theta: np.ndarray) -> np.ndarray:
        key = np.asarray(theta, dtype=float).tobytes()
        if key not in cache:
            cache[key] = (simulate(theta, fit_seeds).mean(axis=0) - observed) / scale
        return cache[key]

    def jacobian(theta: np.ndarray) -> np.ndarray:
        """Forward differences of :func:`residual` with steps of ``STEP`` (backward at an upper bound)."""
        r0 = residual(theta)
        out = np.empty((r0.size, theta.size))
        for i in range(theta.size):
            h = STEP if theta[i] + STEP <= upper[i] else -STEP
            moved = theta.copy()
            moved[i] += h
            out[:, i] = (residual(moved) - r0) / h
        return out

    result = least_squares(residual, theta0, jac=jacobian, bounds=(lower, upper), max_nfev=max_evals, x_scale=1.0)
    theta = result.x
    # ---- uncertainty: the sandwich of the method of simulated moments
    fresh = simulate(theta, [seed + days + i for i in range(error_days)]) / scale
    cov_m = np.cov(fresh, rowvar=False)
    jac = jacobian(theta)
    bread = np.linalg.pinv(jac.T @ jac)
    cov = (1.0 + 1.0 / days) * bread @ jac.T @ cov_m @ jac @ bread
    se_theta = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se_theta[np.linalg.norm(jac, axis=0) < 1e-6] = np.inf  # no moment moves with it: not identified
    fitted_config = _apply(config, theta, styles, base)
    for i, path in enumerate(_theta_paths(styles)):
        value = float(theta[i]) if path == "visitors.budget_sigma" else float(np.exp(theta[i]))
        se = float(se_theta[i]) if path == "visitors.budget_sigma" else value * float(se_theta[i])  # delta method
        params.append(Parameter(path, value, se, "simulated moments"))
    names = moment_names(log, styles)
    simulated = fresh.mean(axis=0) * scale
    return Fit(
        config=fitted_config,
        parameters=params,
        observed=dict(zip(names, observed.tolist(), strict=True)),
        fitted=dict(zip(names, simulated.tolist(), strict=True)),
        seconds=time.perf_counter() - start,
        simulated_days=count[0],
        fit_seeds=fit_seeds,
    )


def _as_kind(log: VisitorLog, kind: str) -> VisitorLog:
    """A simulated event log seen as the observed log's kind (a room log keeps only the stays)."""
    return log if kind == log.kind else dataclasses.replace(log, kind=kind, views=None)


def floor_of(config: VenueConfig, seed: int) -> tuple[list[str], int, int]:
    """(room names, exhibit count, room count) of the floor the config builds (a probe day without visitors).

    Raises:
        ConfigError: The floor is generated from the root seed, so it would change from day to day.
    """
    from cpss.kit.model import release
    from cpss.venue.model import VenueModel

    if config.floor.file is None and config.floor.layout_seed is None:
        raise ConfigError("floor.layout_seed: a fit needs one floor for every day: set it, or give --floor FILE")
    model = VenueModel(config.model_copy(update={"visitors": config.visitors.model_copy(update={"count": 0})}), seed)
    try:
        fl = model.floor
        return [str(fl.graph.nodes[z].get("name", z)) for z in range(fl.n_zones)], fl.n_items, fl.n_zones
    finally:
        release(model)
