"""The routes world: its validated config and its Mesa model (``scenarios/routes/__init__.py`` is the docs page).

:class:`RoutesModel` routes one day's users, ``guides.count`` per tick, each user served by one
guide (user ``i`` arrives at tick ``i // K`` and is served by guide ``i % K``). A user who
complies (a draw against ``users.compliance``) takes the guide's route; the others, and the
users of a guide that gives no advice, choose selfishly: the route that would cost them less
if they joined now. Per-user state is numpy arrays; the guides and the two routes are thin
Mesa entities. Every draw (compliance, ties) is made up front from the model's RNG, in a
fixed order, so two policies run with the same seed meet the same users.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa import DataCollector
from pydantic import Field, model_validator

from cpss.kit.config import StrictModel
from cpss.kit.limits import check_memory, check_ticks
from cpss.kit.model import CPSSModel
from scenarios.routes.equations import RouteParams, marginal_cost, mean_cost, optimum_share, route_cost


class WorldSection(StrictModel):
    """Root seed and metric cadence."""

    seed: int = Field(0, ge=0, description="root seed of the model RNG")
    metrics_every: int = Field(1, ge=1, description="ticks between DataCollector rows")


class UsersSection(StrictModel):
    """The day's users."""

    count: int = Field(1000, ge=1, le=10_000_000, description="users routed per day (N)")
    compliance: float = Field(1.0, ge=0.0, le=1.0, description="chance a user follows the guide's advice")


class RouteSection(StrictModel):
    """One route (or room): cost ``a + b * x`` in its share ``x`` of the day's users."""

    name: str = Field("A", max_length=40, description="label in renders and docs")
    a: float = Field(0.0, ge=-1e6, le=1e6, description="cost with nobody else on the route")
    b: float = Field(0.0, ge=0.0, le=1e6, description="extra cost when every user takes the route (>= 0)")


class GuidesSection(StrictModel):
    """The personalisers (the agents)."""

    count: int = Field(4, ge=1, le=1000, description="guides, each serving one arriving user per tick (K)")


class RewardsSection(StrictModel):
    """How the guides are rewarded."""

    cooperation: float = Field(0.0, ge=0.0, le=1.0, description="0 own user's cost .. 1 everyone's cost")


class RoutesConfig(StrictModel):
    """Configuration of the routes world."""

    world: WorldSection = WorldSection()
    users: UsersSection = UsersSection()
    route_a: RouteSection = RouteSection(name="A", a=1.0, b=0.0)
    route_b: RouteSection = RouteSection(name="B", a=0.0, b=1.0)
    guides: GuidesSection = GuidesSection()
    rewards: RewardsSection = RewardsSection()

    @model_validator(mode="after")
    def _check(self) -> RoutesConfig:
        n, k = self.users.count, self.guides.count
        if n % k:
            raise ValueError(f"users.count ({n}) must be a multiple of guides.count ({k})")
        if self.route_a.b + self.route_b.b <= 0:
            raise ValueError("route_a.b + route_b.b must be > 0 (with two constant costs no share is an equilibrium)")
        check_ticks(n // k, f"users.count / guides.count: {n} / {k}")
        check_ticks(n // k / self.world.metrics_every, "users.count / guides.count / world.metrics_every", unit="rows")
        check_memory({"users.count (per-user arrays)": 12.0 * n})
        return self

    def params(self) -> tuple[RouteParams, RouteParams]:
        """The two routes' parameter records, each field read from the config key of its name."""
        return tuple(
            RouteParams(**{f: getattr(r, f) for f in RouteParams._fields}) for r in (self.route_a, self.route_b)
        )


class Guide(mesa.Agent):
    """A guide (a personaliser slot): the route it last advised."""

    def __init__(self, model: RoutesModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def advice(self) -> int:
        """The route (0: A, 1: B) advised to this tick's user, or -1 (no advice)."""
        return int(self.model.advice[self.index])


class Route(mesa.Agent):
    """One of the two routes: its cost parameters and its load."""

    def __init__(self, model: RoutesModel, index: int, params: RouteParams, name: str) -> None:
        super().__init__(model)
        self.index, self.params, self.name = index, params, name

    @property
    def users(self) -> int:
        """Users on the route so far today."""
        return int(self.model.n_route[self.index])

    @property
    def cost(self) -> float:
        """The route's cost at its current share of the users routed so far."""
        m = self.model
        return float(route_cost(m.n_route[self.index] / max(m.n_routed, 1), self.params))


# ---- DataCollector reporters (module-level functions: picklable, cheap) -------------------
def minute(m: RoutesModel) -> float:
    """The world's clock: one tick is one minute, in which ``guides.count`` users arrive."""
    return m.minute


def routed(m: RoutesModel) -> int:
    """Users routed so far."""
    return m.n_routed


def share_b(m: RoutesModel) -> float:
    """Share of the routed users on route B."""
    return m.share_b


def cost(m: RoutesModel) -> float:
    """Users' mean cost at the current shares."""
    return m.mean_cost


def excess_cost(m: RoutesModel) -> float:
    """Mean cost above the social optimum's."""
    return m.mean_cost - m.optimum_cost


REPORTERS = {"minute": minute, "routed": routed, "share_b": share_b, "mean_cost": cost, "excess_cost": excess_cost}


class RoutesModel(CPSSModel):
    """One day of route choices (see ``scenarios/routes/__init__.py`` for the formulas).

    Args:
        config: The validated configuration.
        seed: Root seed of the day (who complies, ties).
    """

    def __init__(self, config: RoutesConfig, seed: int) -> None:
        n, k = config.users.count, config.guides.count
        super().__init__(seed, 1.0, float(n // k))
        self.config = config
        self.pa, self.pb = config.params()
        self.n_users, self.n_guides = n, k
        self.guides = [Guide(self, j) for j in range(k)]
        self.routes = [Route(self, 0, self.pa, config.route_a.name), Route(self, 1, self.pb, config.route_b.name)]
        self.complies = self.rng.random(n) < config.users.compliance
        self.tie_draw = self.rng.random(n)
        self.route = np.full(n, -1, dtype=np.int8)
        """(N,) route each user took (0: A, 1: B; -1: not arrived yet)."""
        self.advised = np.full(n, -1, dtype=np.int8)
        """(N,) route each user was advised (-1: no advice)."""
        self.advice = np.full(k, -1, dtype=np.int8)
        self.n_route = np.zeros(2, dtype=np.int64)
        self.total_cost = 0.0
        self.last_own = np.zeros(k)
        self.last_team = 0.0
        self.optimum_cost = float(mean_cost(optimum_share(self.pa, self.pb), self.pa, self.pb))
        self.t = 0
        self.datacollector = DataCollector(model_reporters=REPORTERS)
        self.datacollector.collect(self)

    # ---- the current shares ----------------------------------------------------------------
    @property
    def n_routed(self) -> int:
        """Users routed so far today."""
        return int(self.n_route.sum())

    @property
    def share_b(self) -> float:
        """Share of the routed users on route B (0 before anyone is routed)."""
        return float(self.n_route[1] / self.n_routed) if self.n_routed else 0.0

    @property
    def mean_cost(self) -> float:
        """Users' mean cost at the current shares (0 before anyone is routed)."""
        return float(mean_cost(self.share_b, self.pa, self.pb)) if self.n_routed else 0.0

    def join_loads(self) -> np.ndarray:
        """(2,) each route's share if one more user joined it now."""
        return (self.n_route + 1) / (self.n_routed + 1)

    def join_costs(self) -> np.ndarray:
        """(2,) what one more user would pay on each route if he joined it now."""
        x = self.join_loads()
        return np.array([route_cost(x[0], self.pa), route_cost(x[1], self.pb)])

    def join_marginal_costs(self) -> np.ndarray:
        """(2,) the marginal social cost of each route if one more user joined it now."""
        x = self.join_loads()
        return np.array([marginal_cost(x[0], self.pa), marginal_cost(x[1], self.pb)])

    @property
    def users_now(self) -> np.ndarray:
        """Indices of the users the guides serve at the next tick (user ``t·K + k`` by guide ``k``)."""
        t = min(self.t, self.horizon - 1)
        return np.arange(t * self.n_guides, (t + 1) * self.n_guides)

    # ---- the tick -------------------------------------------------------------------------
    def set_advice(self, routes: np.ndarray) -> None:
        """Each guide's advice for this tick's user: 0 (A), 1 (B) or -1 (none)."""
        self.advice = np.asarray(routes, dtype=np.int8)

    def step(self) -> None:
        """Route this tick's users, all at once, at the shares at the start of the tick."""
        users = self.users_now
        join = self.join_costs()
        gap = join[1] - join[0]  # c_B - c_A, for a user joining now
        own_choice = np.where(np.abs(gap) <= 1e-12, self.tie_draw[users] < 0.5, gap < 0).astype(np.int8)
        follows = (self.advice >= 0) & self.complies[users]
        chosen = np.where(follows, self.advice, own_choice)
        self.advised[users], self.route[users] = self.advice, chosen
        self.n_route += np.bincount(chosen, minlength=2)
        before, self.total_cost = self.total_cost, self.n_routed * self.mean_cost
        x_b = self.share_b
        costs = np.array([route_cost(1.0 - x_b, self.pa), route_cost(x_b, self.pb)])
        self.last_own = -costs[chosen]
        self.last_team = -(self.total_cost - before) / self.n_guides
        self.t += 1
        self.minute += self.dt
        if self.t >= self.horizon:
            self.running = False
        if self.t % self.config.world.metrics_every == 0 or not self.running:
            self.datacollector.collect(self)
