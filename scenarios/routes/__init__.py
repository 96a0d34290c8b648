"""Routes: selfish vs coordinated route choice, with the equilibrium and the optimum in closed form.

The smallest world with a crowd externality. Every day `N` users each take one of two routes
(or visit one of two rooms); a route's cost grows with the share of the day's users on it.
Guides (personalisers) advise the users as they arrive. Guides that advise each user the route
that is best for that user land on the selfish (Wardrop) equilibrium; a central policy that
spreads the users lands on the social optimum. Both are known in closed form, so a policy's
outcome can be checked against them (tests/test_routes.py) and a learner's too
(docs/experiments/selfish-vs-coordinated.md).

| | |
|---|---|
| Import | `scenarios.make("routes")`, `scenarios.make_gym("routes", others="greedy")`, `scenarios.routes.parallel_env()`, `.env()` (AEC) |
| Configs | `routes-pigou` (Pigou's two roads: 1000 users, 4 guides), `routes-rooms` (a blockbuster room and a side gallery, utilities falling with crowding: 1000 visitors, 4 guides) |
| Agents | `guide_0` … `guide_{K-1}`; each tick every guide serves one arriving user |
| Actions | `Discrete(2)`: advise route A (0) or route B (1); both always allowed (`action_mask` all ones); a missing action gives no advice (the user chooses for himself) |
| Observation | `Box((4,), float32)`, the same for every guide: share of today's routed users on B, the day's progress `t / T`, and the cost of route A and of route B to a user who joined it now |
| State | `Box((6,))`: the observation, then each route's marginal social cost to a user who joined it now |
| Reward | `(1 − cooperation) · own + cooperation · team`, per tick: `own = −` the cost of the route the guide's user took, at the shares after the tick; `team = −` the tick's rise in the total cost of everyone routed today, per guide |
| Episode | `users.count / guides.count` ticks (one day); truncation after the last user (`terminations` are always False) |

## The model
Route `r` costs each of its users `c_r(x_r) = a_r + b_r · x_r`, where `x_r` is the share of the
day's users on it (`route_a.a`, `route_a.b`, `route_b.a`, `route_b.b`; `b ≥ 0`, not both 0).
With a share `s` on route B the users' mean cost is

    C(s) = (1 − s) · (a_A + b_A (1 − s)) + s · (a_B + b_B s)

and one more user on route `r` adds `a_r + 2 b_r x_r` to the total cost: his own cost plus the
delay he causes the others on his route (the marginal social cost). The closed forms
(`scenarios/routes/equations.py`):

| | share on B | mean cost |
|---|---|---|
| selfish (Wardrop) equilibrium: the used routes cost the same | `s_eq = clip((a_A + b_A − a_B) / (b_A + b_B), 0, 1)` | `C(s_eq)` |
| social optimum: the marginal social costs are equal | `s_opt = clip((a_A + 2 b_A − a_B) / (2 (b_A + b_B)), 0, 1)` | `C(s_opt)` |

* `routes-pigou` is Pigou's example: road A costs 1 however many take it (`a = 1, b = 0`), road
  B costs its share (`a = 0, b = 1`). Selfish users all take B (`s_eq = 1`, mean cost 1); the
  optimum sends half (`s_opt = 1/2`, mean cost 3/4). The price of anarchy is 4/3.
* `routes-rooms` is the two-room version, with costs as negative utilities: the blockbuster
  room is worth 1 to a visitor, less 1.0 times its share of visitors (`a = −1, b = 1`); the side
  gallery is worth 0.6, less 0.2 times its share (`a = −0.6, b = 0.2`). Selfish visitors split
  evenly (`s_eq = 1/2`, utility 0.5); the optimum sends 2/3 to the side gallery (utility 8/15 ≈
  0.533).

## A day
User `i` arrives at tick `i // K` and is served by guide `i % K` (`K = guides.count`; `N` must
be a multiple of `K`). The `K` users of a tick decide at once, at the shares at the start of
the tick. A user follows the advice with probability `users.compliance` (drawn per user from
the model's RNG); a user who does not, or whose guide gives no advice, chooses **selfishly**:
the route that would cost him less if he joined it now, `c_r((n_r + 1) / (n + 1))`, where `n_r`
users of the `n` routed so far took route `r` (a tie is a coin flip, also drawn from the
model's RNG). The day's outcome is the final share on B and the mean cost `C(s)` at that share.

## Heuristics
* `greedy`: advise the route that costs the served user less if he joined it now (the
  observation's two costs; a tie is a coin flip). It is what the user would choose himself, so
  it lands on the selfish equilibrium whatever the compliance, within one tick's arrivals and
  the joining user (`(K + 1) / N`) of `s_eq`.
* `coordinated`: a central planner advises route B to each user with probability `q`, drawn
  independently, so the share on B is binomial. With full compliance `q = s_opt`. With
  compliance `c`, the users who do not comply go where selfish users go at the optimum
  (`δ = 1` if that is B, 0 if A), and `q = clip((s_opt − (1 − c) δ) / c, 0, 1)` restores the
  optimum in expectation while `(1 − c) δ ≤ s_opt ≤ c + (1 − c) δ`.
* `marginal`: advise the route of lower marginal social cost if the user joined it now (a
  Pigouvian toll without the toll). A feedback rule: it lands within `(K + 1) / N` of `s_opt` and
  compensates for non-compliance as long as enough users comply.
* `random`: advise A or B with probability 1/2.

With `rewards.cooperation = 0` a guide's myopic best reply is `greedy`; with 1 it is `marginal`
(the team reward is minus the marginal social cost of the tick's users, per guide). Summed
over the day, `team` is `−(N / K) · C(s)` for every guide.

## Metrics
Per tick (every `world.metrics_every` ticks; a tick is a minute, in which `K` users arrive):
`minute`, `routed`, `share_b`, `mean_cost` (at the current shares) and `excess_cost`
(`mean_cost − C(s_opt)`). The summary adds the complied share of the advised users and the
closed forms: `selfish_share`, `optimum_share`, `selfish_cost`, `optimum_cost`.

## Config sections (scenarios/routes/world.py documents every field)
| section | keys |
|---|---|
| `world` | `seed`, `metrics_every` |
| `users` | `count` (N, a multiple of `guides.count`), `compliance` |
| `route_a`, `route_b` | `name`, `a` (cost with nobody on the route), `b` (extra cost when everyone takes it, ≥ 0) |
| `guides` | `count` (K) |
| `rewards` | `cooperation` (0 own user's cost .. 1 everyone's) |

## Version history
* v0: initial release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from cpss.kit.env import CPSSParallelEnv, aec_from_parallel
from cpss.kit.render import figure_to_rgb, plt
from cpss.kit.scenario import Scenario
from scenarios.routes.equations import mean_cost, optimum_share, selfish_route, selfish_share
from scenarios.routes.world import RoutesConfig, RoutesModel

__all__ = ["RoutesConfig", "RoutesModel", "RoutesScenario", "env", "parallel_env"]


class RoutesScenario(Scenario):
    """Guides advising users between two congestible routes (see the module docstring)."""

    name = "routes"
    config_cls = RoutesConfig
    agent_prefix = "guide"
    heuristic_policies = ("greedy", "coordinated", "marginal", "random")
    seed_key = "world.seed"
    plot_metrics = ("share_b", "mean_cost", "excess_cost")
    headline_metrics = ("share_b", "mean_cost", "excess_cost")

    def build_world(self, seed: int) -> RoutesModel:
        """A fresh day of users."""
        return RoutesModel(self.config, seed=seed)

    def n_agents(self) -> int:
        """One agent per guide."""
        return self.config.guides.count

    def _bounds(self, marginal: bool) -> tuple[np.ndarray, np.ndarray]:
        """Low and high of (share, progress, cost A, cost B[, marginal A, marginal B]).

        Both costs share one range, from the lower free-flow cost to the higher full-load cost
        (never empty, since ``b_A + b_B > 0``); the marginal costs likewise.
        """
        pa, pb = self.config.params()
        lo, hi = min(pa.a, pb.a), max(pa.a + pa.b, pb.a + pb.b)
        low, high = [0.0, 0.0, lo, lo], [1.0, 1.0, hi, hi]
        if marginal:
            hi2 = max(pa.a + 2 * pa.b, pb.a + 2 * pb.b)
            low, high = [*low, lo, lo], [*high, hi2, hi2]
        return np.array(low, dtype=np.float32), np.array(high, dtype=np.float32)

    def observation_space(self, model: RoutesModel) -> spaces.Box:
        """Box((4,)): share on B, progress, the two routes' costs to a user joining now."""
        return spaces.Box(*self._bounds(False), dtype=np.float32)

    def action_space(self, model: RoutesModel) -> spaces.Discrete:
        """Discrete(2): the route to advise."""
        return spaces.Discrete(2)

    def state_space(self, model: RoutesModel) -> spaces.Box:
        """Box((6,)): the observation and the two routes' marginal social costs."""
        return spaces.Box(*self._bounds(True), dtype=np.float32)

    def _vector(self, model: RoutesModel, marginal: bool) -> np.ndarray:
        parts = [[model.share_b, model.t / model.horizon], model.join_costs()]
        if marginal:
            parts.append(model.join_marginal_costs())
        return np.clip(np.concatenate(parts).astype(np.float32), *self._bounds(marginal))

    def observe(self, model: RoutesModel) -> np.ndarray:
        """(K, 4): every guide sees the same shares and costs."""
        return np.tile(self._vector(model, False), (model.n_guides, 1))

    def state(self, model: RoutesModel) -> np.ndarray:
        """The observation and the two routes' marginal social costs."""
        return self._vector(model, True)

    def action_masks(self, model: RoutesModel) -> np.ndarray:
        """All ones: either route may always be advised."""
        return np.ones((model.n_guides, 2), dtype=np.int8)

    def default_action(self) -> int:
        """A missing action gives no advice (the user chooses for himself)."""
        return -1

    def apply_actions(self, model: RoutesModel, actions: list[Any]) -> np.ndarray:
        """Record each guide's advice for this tick's user; no action can be invalid."""
        model.set_advice(np.asarray(actions, dtype=np.int8))
        return np.zeros(model.n_guides, dtype=bool)

    def rewards(self, model: RoutesModel) -> np.ndarray:
        """``(1 − cooperation) · own + cooperation · team`` of the tick just simulated."""
        c = self.config.rewards.cooperation
        return (1.0 - c) * model.last_own + c * model.last_team

    def coordinated_probability(self) -> float:
        """The chance ``q`` with which ``coordinated`` advises route B (see the module docstring)."""
        pa, pb = self.config.params()
        s_opt, c = optimum_share(pa, pb), self.config.users.compliance
        if c == 0.0:
            return s_opt
        delta = selfish_route(s_opt, pa, pb)
        return float(np.clip((s_opt - (1.0 - c) * delta) / c, 0.0, 1.0))

    def heuristic_actions(self, model: RoutesModel, policy: str, rng: np.random.Generator) -> list[int]:
        """One route per guide from ``greedy``, ``coordinated``, ``marginal`` or ``random``."""
        k = model.n_guides
        if policy == "random":
            return rng.integers(2, size=k).tolist()
        if policy == "coordinated":
            return (rng.random(k) < self.coordinated_probability()).astype(int).tolist()
        if policy in ("greedy", "marginal"):
            cost = model.join_costs() if policy == "greedy" else model.join_marginal_costs()
            gap = cost[1] - cost[0]
            if abs(gap) <= 1e-12:
                return (rng.random(k) < 0.5).astype(int).tolist()
            return [int(gap < 0)] * k
        raise ValueError(f"routes: unknown heuristic policy {policy!r}")

    def summary(self, model: RoutesModel) -> dict[str, float]:
        """The day so far, then the closed forms it is measured against."""
        from scenarios.routes import world as w

        out = {name: float(fn(model)) for name, fn in w.REPORTERS.items()}
        done = model.route >= 0
        advised = done & (model.advised >= 0)
        pa, pb = model.pa, model.pb
        s_eq, s_opt = selfish_share(pa, pb), optimum_share(pa, pb)
        out.update(
            complied=float((model.route[advised] == model.advised[advised]).mean()) if advised.any() else 0.0,
            selfish_share=s_eq,
            optimum_share=s_opt,
            selfish_cost=float(mean_cost(s_eq, pa, pb)),
            optimum_cost=float(mean_cost(s_opt, pa, pb)),
        )
        return out

    def render_text(self, model: RoutesModel) -> str:
        """The shares, the costs and each guide's last advice."""
        a, b = model.routes
        advice = " ".join(f"guide_{g.index}:{'-AB'[g.advice + 1]}" for g in model.guides)
        return (
            f"routes — {model.n_routed} of {model.n_users} users routed; "
            f"{a.name}: {a.users} (cost {a.cost:.3f}), {b.name}: {b.users} (cost {b.cost:.3f}); "
            f"mean cost {model.mean_cost:.3f} (optimum {model.optimum_cost:.3f})\n{advice}"
        )

    def render_rgb(self, model: RoutesModel) -> np.ndarray:
        """The mean cost curve ``C(s)`` with the equilibrium, the optimum and today's share."""
        pa, pb = model.pa, model.pb
        s = np.linspace(0.0, 1.0, 101)
        fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
        ax.plot(s, mean_cost(s, pa, pb), color="0.4")
        for share, label, colour in (
            (selfish_share(pa, pb), "selfish", "tab:red"),
            (optimum_share(pa, pb), "optimum", "tab:green"),
        ):
            ax.plot([share], [mean_cost(share, pa, pb)], "o", color=colour, label=label)
        if model.n_routed:
            ax.plot([model.share_b], [model.mean_cost], "kx", ms=10, label="today")
        ax.set_xlabel(f"share on {model.routes[1].name}")
        ax.set_ylabel("mean cost")
        ax.set_title(f"{model.n_routed} of {model.n_users} users routed")
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        return figure_to_rgb(fig)


def parallel_env(**kwargs: Any) -> CPSSParallelEnv:
    """The routes world as a PettingZoo ParallelEnv (kwargs as for ``scenarios.make``)."""
    from scenarios.registry import make

    return make("routes", **kwargs)


def env(**kwargs: Any):
    """The routes world as a PettingZoo AEC env, with the order-enforcing and bounds wrappers."""
    return aec_from_parallel(parallel_env(**kwargs))
