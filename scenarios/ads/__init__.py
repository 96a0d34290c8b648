"""Ads: which ad should be presented? The seed lecture's multi-armed bandit, with a crowd.

A stream of users, one per tick; each ad server chooses one of its ads for the user. The seed's
slide: present the ad with the highest payoff, ``payoff = ClickThroughRate x payment``, where the
click-through rate (CTR) is the probability that the user clicks and the payment is what the
advertiser pays per click. In which order should we present the ads to maximise revenue? The
bandit learners of ``agents/`` learn it online; the regret says what their learning costs.

| | |
|---|---|
| Import | `scenarios.make("ads")`, `scenarios.make_gym("ads", others="random")`, `scenarios.ads.parallel_env()`, `.env()` (AEC) |
| Configs | `ads-small` (1 server, 5 ads, 3 segments, 4 dayparts, 10 000 users a day), `ads-large` (4 servers x 8 ads, 6 segments, 6 dayparts, 20 000 users) |
| Agents | `server_0` … `server_{K-1}`, each with its own catalogue of `ads.per_server` ads |
| Actions | `Discrete(per_server)`: the ad to show; every ad is always allowed (`action_mask` all ones); a missing action abstains |
| Observation | `Box(0, 1, (S + D,), float32)`: the context, one-hot segment of the next user then one-hot daypart (the same for every server) |
| State | `Box(0, 1, (S + D + 2N,))`: the context, then the next user's fatigue with each of the `N = K·A` ads, `1 − (1 − fatigue)^x`, and each ad's share of recent clicks |
| Reward | `payment` of the shown ad if the user clicks it, else 0 (so rewards lie in [0, 1]) |
| Info | `expected_rewards`, `shown`, `clicked` after every `step()` (see *Timing*) |
| Episode | `world.pulls` users (one day); truncation after the last user (`terminations` are always False) |

## The CTR model
The catalogue is drawn once from `ads.catalogue_seed` (the same arms every day): ad `i` has a
category `c_i` (its feature), a payment per click `p_i ~ U[payment_min, payment_max]` and a
base CTR `b_i ~ U[ctr_min, ctr_max]`; each segment `s` has a taste `taste[s, c] ~ U[-1, 1]` for
every category and each daypart `d` an effect `day[d, c] ~ U[-1, 1]`. The user `u` of tick
`t` (drawn uniformly from `users.count` returning users, each in a segment `s_u`) arrives in
daypart `d_t = floor(D · t / pulls)`. The CTR of ad `i` for that user is

    z_i   = logit(b_i) + segment_weight · taste[s_u, c_i] + daypart_weight · day[d_t, c_i]
            + social_proof · (share_i − 1/N)                           (social proof)
    CTR_i = sigmoid(z_i) · (1 − fatigue) ^ x[u, i]                     (ad fatigue)
    payoff_i = CTR_i · p_i

* **Social proof** — `share_i` is ad `i`'s share of recent clicks: each ad keeps a click count
  that decays by `1 − 1/memory` per tick (`share_i = 1/N` before any click), so a popular ad
  becomes more clickable. `crowd.social_proof = 0` switches it off.
* **Ad fatigue** — `x[u, i]` counts the earlier exposures of user `u` to ad `i` today; each
  one takes away the share `crowd.fatigue` of the CTR. `crowd.fatigue = 0` switches it off.

The user clicks the shown ad when a uniform draw falls below its CTR (one draw per tick, from
the model's RNG, so two policies run with the same seed meet the same users and draws).

## Several servers: competing for the user's attention
Every server proposes one of its ads; the user **attends to one proposal, with a chance
proportional to its CTR** (an appealing ad catches the eye), and clicks it with that CTR. Only
the attended ad counts as shown (for fatigue and social proof); the other servers earn 0. So a
server's expected payoff of ad `a`, given the other servers' proposals `b_j`, is

    E[payoff_a] = attention_a · CTR_a · p_a,   attention_a = CTR_a / (CTR_a + sum_j CTR_{b_j})

With one server `attention = 1` and the expected payoff is the slide's `CTR x payment`. A
server that abstains proposes nothing.

## Regret and the oracle
The oracle knows every expected payoff in the context of each pull (the user, the daypart, the
crowd state and the other servers' proposals). The regret of a pull is
`max_a E[payoff_a] − E[payoff_chosen]`, and cumulative regret sums it over pulls (and over
servers in the model's metrics). The `oracle` heuristic picks `argmax_a CTR_a · p_a`: with one
server its regret is exactly 0.

## Timing of `expected_rewards`
`infos[agent]["expected_rewards"]` returned by `step()` describes **the pull just made**: the
expected payoff of each of the agent's ads for the user just served, in the crowd state before
that user's click, given the other servers' proposals (float64, length `per_server`). This is what
`agents.bandits` reads to compute the regret of the action it passed to `step()`. The infos of
`reset()` carry no `expected_rewards` (no pull has been made). The observation returned with
it already describes the *next* user. `shown` says whether the user attended to the agent's ad,
`clicked` whether it was clicked.

## What the servers see
Observations carry the context a contextual bandit (LinUCB) uses; the crowd's influence
(fatigue, click shares) is in the global state only, so the servers do not see it and even a
perfect contextual learner keeps a small regret against the oracle when the crowd effects are
on. In `ads-small` one ad (ad 2) has the highest payoff for every segment and daypart, the
seed's non-contextual question, while the order of the other ads changes with the segment; in
`ads-large` each server's best ad depends on the segment, which is where LinUCB pays off.

## Metrics
Per tick (every `world.metrics_every` ticks): `pull`, `revenue` (cumulative payments),
`ctr` (clicks per shown ad), `cumulative_regret`, `best_ad_share` (share of pulls on an ad
with the highest expected payoff of its context), `top_click_share` (the crowd's
concentration on one ad). The summary adds clicks, impressions, revenue per pull and, per
server, revenue and regret.

## Heuristics and learners
Heuristics: `random`, `oracle` (best expected payoff of the context, ignoring the other
servers), `highest_payment` (the ad paying most per click, ignoring CTR). Learning policies
(`cpss simulate ads --policy ...`, `cpss bandits`; `server_0` learns online, the other servers
follow `random`): `explore` (explore only), `exploit` (exploit only), `epsilon_greedy`
(epsilon 0.1), `ucb1` (c = 0.2: the bonus scaled to the small spread of click payoffs; the
textbook c = 1 over-explores here, see docs/tutorials), `thompson` (Beta-Bernoulli, fractional
rewards), `linucb` (alpha 0.5), from `agents/bandits.py` and `agents/linucb.py`.

## Config sections (scenarios/ads/world.py documents every field)
| section | keys |
|---|---|
| `world` | `seed`, `pulls` (users per episode), `dayparts`, `metrics_every` |
| `users` | `count` (returning users), `segments`, `segment_shares` |
| `ads` | `per_server`, `categories`, `payment_min`/`payment_max` (at most 1), `ctr_min`/`ctr_max`, `segment_weight`, `daypart_weight`, `catalogue_seed` |
| `crowd` | `social_proof`, `memory`, `fatigue` (0 switches either effect off) |
| `servers` | `count` |

## Version history
* v0: initial release.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from cpss.kit.env import CPSSParallelEnv, aec_from_parallel
from cpss.kit.render import figure_to_rgb, plt
from cpss.kit.scenario import Scenario
from scenarios.ads.world import AdsConfig, AdsModel

__all__ = ["AdsConfig", "AdsModel", "AdsScenario", "env", "parallel_env"]


class AdsScenario(Scenario):
    """Ad servers choosing which ad to show each user (see the module docstring)."""

    name = "ads"
    config_cls = AdsConfig
    agent_prefix = "server"
    heuristic_policies = ("random", "oracle", "highest_payment")
    seed_key = "world.seed"
    learner_policies: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {
        "explore": ("explore_only", {}),
        "exploit": ("exploit_only", {}),
        "epsilon_greedy": ("epsilon_greedy", {"epsilon": 0.1}),
        "ucb1": ("ucb1", {"c": 0.2}),
        "thompson": ("thompson", {}),
        "linucb": ("linucb", {"alpha": 0.5}),
    }
    plot_metrics = ("cumulative_regret", "revenue", "ctr", "best_ad_share")
    headline_metrics = ("revenue", "ctr", "cumulative_regret", "best_ad_share")

    def build_world(self, seed: int) -> AdsModel:
        """A fresh day of users."""
        return AdsModel(self.config, seed=seed)

    def n_agents(self) -> int:
        """One agent per ad server."""
        return self.config.servers.count

    def _dims(self) -> tuple[int, int, int, int]:
        c = self.config
        return c.users.segments, c.world.dayparts, c.ads.per_server, c.servers.count * c.ads.per_server

    def observation_space(self, model: AdsModel) -> spaces.Box:
        """Box(0, 1, (S + D,))."""
        s, d, _, _ = self._dims()
        return spaces.Box(0.0, 1.0, shape=(s + d,), dtype=np.float32)

    def action_space(self, model: AdsModel) -> spaces.Discrete:
        """Discrete(per_server): the ad to show."""
        return spaces.Discrete(self.config.ads.per_server)

    def state_space(self, model: AdsModel) -> spaces.Box:
        """Box(0, 1, (S + D + 2N,))."""
        s, d, _, n = self._dims()
        return spaces.Box(0.0, 1.0, shape=(s + d + 2 * n,), dtype=np.float32)

    def _context(self, model: AdsModel) -> np.ndarray:
        s, d, _, _ = self._dims()
        out = np.zeros(s + d)
        out[model.segment[model.user]] = 1.0
        out[s + model.daypart] = 1.0
        return out

    def observe(self, model: AdsModel) -> np.ndarray:
        """(K, S + D): every server sees the next user's context."""
        return np.tile(self._context(model), (model.n_servers, 1)).astype(np.float32)

    def state(self, model: AdsModel) -> np.ndarray:
        """The context, the user's fatigue with every ad and every ad's click share."""
        out = np.concatenate([self._context(model), model.fatigue_level(model.user), model.click_share()])
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    def action_masks(self, model: AdsModel) -> np.ndarray:
        """All ones: every ad may always be shown."""
        return np.ones((model.n_servers, model.per_server), dtype=np.int8)

    def extra_infos(self, model: AdsModel) -> list[dict[str, Any]] | None:
        """After a step: expected payoffs of the pull just made, and whether it was shown / clicked."""
        if model.t == 0:
            return None
        return [
            {
                "expected_rewards": model.last_expected[k].copy(),
                "shown": model.last_attended == k,
                "clicked": model.last_attended == k and model.last_click,
            }
            for k in range(model.n_servers)
        ]

    def default_action(self) -> int:
        """A missing action abstains (the server proposes nothing)."""
        return -1

    def apply_actions(self, model: AdsModel, actions: list[Any]) -> np.ndarray:
        """Record each server's ad for the next user; no action can be invalid."""
        model.set_proposals(np.asarray(actions, dtype=np.int64))
        return np.zeros(model.n_servers, dtype=bool)

    def rewards(self, model: AdsModel) -> np.ndarray:
        """The payment of the clicked ad for its server, 0 for everyone else."""
        return model.last_rewards.copy()

    def heuristic_actions(self, model: AdsModel, policy: str, rng: np.random.Generator) -> list[int]:
        """One ad per server from ``random``, ``oracle`` or ``highest_payment``."""
        k, a = model.n_servers, model.per_server
        if policy == "random":
            return rng.integers(a, size=k).tolist()
        if policy == "oracle":
            return model.payoffs().reshape(k, a).argmax(axis=1).tolist()
        if policy == "highest_payment":
            return model.cat.payment.reshape(k, a).argmax(axis=1).tolist()
        raise ValueError(f"ads: unknown heuristic policy {policy!r}")

    def summary(self, model: AdsModel) -> dict[str, float]:
        """Totals of the day so far, then revenue and regret per server."""
        from scenarios.ads import world as w

        out = {name: float(fn(model)) for name, fn in w.REPORTERS.items()}
        out.update(
            clicks=float(model.clicks),
            impressions=float(model.impressions),
            revenue_per_pull=out["revenue"] / model.t if model.t else 0.0,
        )
        for k in range(model.n_servers):
            out[f"revenue_server_{k}"] = float(model.revenue[k])
            out[f"regret_server_{k}"] = float(model.regret[k])
        return out

    def render_text(self, model: AdsModel) -> str:
        """The next user, the last pull and each server's revenue and payoffs."""
        lines = [
            f"ads — pull {model.t} of {model.stream.size}; next user {model.user} "
            f"(segment {model.segment[model.user]}, daypart {model.daypart})"
        ]
        if model.last_attended >= 0:
            k, ad = model.last_attended, model.last_ad - model.last_attended * model.per_server
            lines.append(
                f"last pull: the user attended to server_{k}'s ad {ad} ({'clicked' if model.last_click else 'no click'})"
            )
        pay = model.payoffs().reshape(model.n_servers, model.per_server)
        for k in range(model.n_servers):
            cells = " ".join(f"{v:.3f}" for v in pay[k])
            lines.append(f"server_{k}: revenue {model.revenue[k]:.2f}, payoffs {cells}")
        return "\n".join(lines)

    def render_rgb(self, model: AdsModel) -> np.ndarray:
        """Bars of every ad's expected payoff for the next user, one colour per server."""
        fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
        pay = model.payoffs()
        colours = plt.get_cmap("tab10")(np.arange(pay.size) // model.per_server % 10)
        ax.bar(np.arange(pay.size), pay, color=colours)
        if model.last_ad >= 0:
            ax.bar([model.last_ad], [pay[model.last_ad]], fill=False, edgecolor="k", lw=2)
        ax.set_xlabel("ad")
        ax.set_ylabel("CTR x payment")
        ax.set_title(f"pull {model.t}, user segment {model.segment[model.user]}")
        fig.tight_layout()
        return figure_to_rgb(fig)


def parallel_env(**kwargs: Any) -> CPSSParallelEnv:
    """The ads world as a PettingZoo ParallelEnv (kwargs as for ``scenarios.make``)."""
    from scenarios.registry import make

    return make("ads", **kwargs)


def env(**kwargs: Any):
    """The ads world as a PettingZoo AEC env, with the order-enforcing and bounds wrappers."""
    return aec_from_parallel(parallel_env(**kwargs))
