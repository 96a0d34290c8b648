"""The ads world: its validated config and its Mesa model (``scenarios/ads/__init__.py`` is the docs page).

:class:`AdsModel` serves one user per tick from a stream of returning users. Each ad server
picks one ad of its own catalogue; the user attends to one of the proposed ads, with a chance
proportional to its click-through rate, and clicks it with that click-through rate. Everything is
numpy arrays; the servers are thin Mesa entities. The ad catalogue and the segments' tastes
come from ``ads.catalogue_seed`` (fixed across episodes, so a bandit faces the same arms every
day); users, the stream and every click come from the model's RNG.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa import DataCollector
from pydantic import Field, model_validator

from cpss.kit.config import StrictModel
from cpss.kit.limits import MAX_TICKS_PER_DAY, check_memory, check_ticks
from cpss.kit.model import CPSSModel


class WorldSection(StrictModel):
    """Episode length, time of day, seed and metric cadence."""

    seed: int = Field(0, ge=0, description="root seed of the model RNG")
    pulls: int = Field(10_000, ge=1, le=10_000_000, description="users served per episode (one per tick)")
    dayparts: int = Field(4, ge=1, le=24, description="time-of-day periods the episode is split into")
    metrics_every: int = Field(100, ge=1, description="ticks between DataCollector rows")

    @model_validator(mode="after")
    def _check(self) -> WorldSection:
        rows = -(-self.pulls // self.metrics_every)
        check_ticks(
            rows,
            f"world.pulls / world.metrics_every: {self.pulls} / {self.metrics_every}",
            f"use metrics_every >= {-(-self.pulls // MAX_TICKS_PER_DAY)}",
            unit="DataCollector rows per day",
        )
        return self


class UsersSection(StrictModel):
    """The population of returning users the stream draws from."""

    count: int = Field(2000, ge=1, le=1_000_000, description="distinct users")
    segments: int = Field(3, ge=1, le=64, description="user segments")
    segment_shares: list[float] | None = Field(None, description="share of each segment (default: equal)")

    @model_validator(mode="after")
    def _check(self) -> UsersSection:
        shares = self.segment_shares
        if shares is not None:
            if len(shares) != self.segments:
                raise ValueError(f"segment_shares has {len(shares)} values, expected segments={self.segments}")
            if min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError("segment_shares must be >= 0 and sum to 1")
        return self


class AdsSection(StrictModel):
    """Each server's catalogue: payments, base CTRs and categories, drawn from ``catalogue_seed``."""

    per_server: int = Field(5, ge=1, le=1000, description="ads in each server's catalogue (the arms)")
    categories: int = Field(3, ge=1, le=64, description="ad categories (the ad's feature)")
    payment_min: float = Field(0.2, gt=0.0, le=1.0, description="lowest payment per click (at most 1)")
    payment_max: float = Field(1.0, gt=0.0, le=1.0, description="highest payment per click (at most 1)")
    ctr_min: float = Field(0.05, gt=0.0, lt=1.0, description="lowest base click-through rate")
    ctr_max: float = Field(0.3, gt=0.0, lt=1.0, description="highest base click-through rate")
    segment_weight: float = Field(1.0, ge=0.0, description="logit weight of segment x category taste")
    daypart_weight: float = Field(0.5, ge=0.0, description="logit weight of daypart x category effect")
    catalogue_seed: int = Field(995, ge=0, description="seed of the catalogue and the tastes")

    @model_validator(mode="after")
    def _check(self) -> AdsSection:
        if self.payment_min > self.payment_max:
            raise ValueError(f"payment_min ({self.payment_min}) exceeds payment_max ({self.payment_max})")
        if self.ctr_min > self.ctr_max:
            raise ValueError(f"ctr_min ({self.ctr_min}) exceeds ctr_max ({self.ctr_max})")
        return self


class CrowdSection(StrictModel):
    """Crowd influence on CTR: social proof and ad fatigue (0 switches either off)."""

    social_proof: float = Field(0.5, ge=0.0, le=20.0, description="logit weight of an ad's recent click share")
    memory: float = Field(500.0, ge=1.0, description="ticks: time constant of the recent-click average")
    fatigue: float = Field(0.05, ge=0.0, le=1.0, description="CTR lost per earlier exposure of the user to the ad")


class ServersSection(StrictModel):
    """The ad servers (the agents)."""

    count: int = Field(1, ge=1, le=64, description="ad servers competing for the user's attention")


class AdsConfig(StrictModel):
    """Configuration of the ads world."""

    world: WorldSection = WorldSection()
    users: UsersSection = UsersSection()
    ads: AdsSection = AdsSection()
    crowd: CrowdSection = CrowdSection()
    servers: ServersSection = ServersSection()

    @model_validator(mode="after")
    def _check(self) -> AdsConfig:
        check_memory(self.table_bytes())
        return self

    def table_bytes(self) -> dict[str, float]:
        """Estimated bytes of the per-pair tables of a day, keyed by the fields that size them.

        ``AdsModel`` holds an int32 exposure count per user and ad, the day's stream of users and
        its two uniform draws per pull, and the catalogue's segments x dayparts x ads logits.
        """
        w, u = self.world, self.users
        ads = self.servers.count * self.ads.per_server
        return {
            "users.count x servers.count x ads.per_server (exposures)": 4.0 * u.count * ads,
            "world.pulls (stream and draws)": 24.0 * w.pulls,
            "users.segments x world.dayparts x ads (logits)": 8.0 * u.segments * w.dayparts * ads,
        }


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p))."""
    return np.log(p) - np.log1p(-p)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


class Catalogue:
    """The ads of all servers and the segments' tastes, drawn from ``ads.catalogue_seed``.

    Ad ``i`` belongs to server ``i // per_server``. Attributes are arrays over all
    ``N = servers * per_server`` ads.
    """

    def __init__(self, cfg: AdsConfig) -> None:
        a = cfg.ads
        rng = np.random.default_rng(a.catalogue_seed)
        self.n = cfg.servers.count * a.per_server
        self.category = rng.permutation(np.arange(self.n) % a.categories)
        self.payment = rng.uniform(a.payment_min, a.payment_max, self.n)
        self.base_ctr = rng.uniform(a.ctr_min, a.ctr_max, self.n)
        self.taste = rng.uniform(-1.0, 1.0, (cfg.users.segments, a.categories))
        """Segment x category affinity in [-1, 1]."""
        self.daypart_effect = rng.uniform(-1.0, 1.0, (cfg.world.dayparts, a.categories))
        """Daypart x category effect in [-1, 1]."""
        self.static_logit = (
            logit(self.base_ctr)[None, None, :]
            + a.segment_weight * self.taste[:, None, self.category]
            + a.daypart_weight * self.daypart_effect[None, :, self.category]
        )
        """(segments, dayparts, N) logit of the CTR without crowd effects."""


class AdServer(mesa.Agent):
    """An ad server (a personaliser slot): the ads it owns and what it earned."""

    def __init__(self, model: AdsModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.ads = np.arange(index * model.per_server, (index + 1) * model.per_server)

    @property
    def revenue(self) -> float:
        """Payments earned today."""
        return float(self.model.revenue[self.index])


# ---- DataCollector reporters (module-level functions: picklable, cheap) -------------------
def pull(m: AdsModel) -> int:
    """Users served so far."""
    return m.t


def revenue(m: AdsModel) -> float:
    """Payments earned by all servers so far."""
    return float(m.revenue.sum())


def ctr(m: AdsModel) -> float:
    """Clicks per shown ad so far."""
    return m.clicks / m.impressions if m.impressions else 0.0


def cumulative_regret(m: AdsModel) -> float:
    """Sum over servers of the per-pull regret against the per-context oracle."""
    return float(m.regret.sum())


def best_ad_share(m: AdsModel) -> float:
    """Share of pulls that chose an ad with the highest expected payoff of the context."""
    n = m.pulls_made.sum()
    return float(m.best_pulls.sum() / n) if n else 0.0


def top_click_share(m: AdsModel) -> float:
    """Recent-click share of the most popular ad (1/N without clicks): the crowd's concentration."""
    return float(m.click_share().max())


REPORTERS = {f.__name__: f for f in (pull, revenue, ctr, cumulative_regret, best_ad_share, top_click_share)}


class AdsModel(CPSSModel):
    """One day of ad serving (see ``scenarios/ads/__init__.py`` for the formulas).

    Args:
        config: The validated configuration.
        seed: Root seed of the day (users, stream, clicks, ties).
    """

    def __init__(self, config: AdsConfig, seed: int) -> None:
        w = config.world
        super().__init__(seed, 1.0, float(w.pulls))
        self.config = config
        self.cat = Catalogue(config)
        self.n_servers, self.per_server = config.servers.count, config.ads.per_server
        self.servers = [AdServer(self, k) for k in range(self.n_servers)]
        u = config.users
        shares = u.segment_shares or [1.0 / u.segments] * u.segments
        self.segment = self.rng.choice(u.segments, size=u.count, p=np.asarray(shares) / np.sum(shares))
        self.stream = self.rng.integers(u.count, size=w.pulls)
        self.click_draw = self.rng.random(w.pulls)
        self.attention_draw = self.rng.random(w.pulls)
        self.exposures = np.zeros((u.count, self.cat.n), dtype=np.int32)
        self.popularity = np.zeros(self.cat.n)
        self._decay = 1.0 - 1.0 / config.crowd.memory
        self.t = 0
        k = self.n_servers
        self.revenue, self.regret = np.zeros(k), np.zeros(k)
        self.best_pulls, self.pulls_made = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
        self.impressions = self.clicks = 0
        self.proposals = np.full(k, -1, dtype=np.int64)
        self.last_rewards = np.zeros(k)
        self.last_expected = np.zeros((k, self.per_server))
        self.last_attended, self.last_ad, self.last_click = -1, -1, False
        self.datacollector = DataCollector(model_reporters=REPORTERS)
        self.datacollector.collect(self)

    # ---- the current context -----------------------------------------------------------
    @property
    def user(self) -> int:
        """The user served at the next tick (the last one once the day is over)."""
        return int(self.stream[min(self.t, self.stream.size - 1)])

    @property
    def daypart(self) -> int:
        """Time-of-day period of the next tick."""
        t = min(self.t, self.stream.size - 1)
        return int(self.config.world.dayparts * t // self.stream.size)

    def click_share(self) -> np.ndarray:
        """(N,) each ad's share of recent clicks (1/N each before any click)."""
        total = self.popularity.sum()
        return self.popularity / total if total > 0 else np.full(self.cat.n, 1.0 / self.cat.n)

    def fatigue_level(self, user: int) -> np.ndarray:
        """(N,) share of CTR the user has lost to each ad by earlier exposures."""
        return 1.0 - (1.0 - self.config.crowd.fatigue) ** self.exposures[user]

    def ctr_now(self) -> np.ndarray:
        """(N,) click-through rate of every ad for the next user, in the current crowd state."""
        c = self.config.crowd
        z = self.cat.static_logit[self.segment[self.user], self.daypart]
        if c.social_proof:
            z = z + c.social_proof * (self.click_share() - 1.0 / self.cat.n)
        return sigmoid(z) * (1.0 - self.fatigue_level(self.user))

    def payoffs(self) -> np.ndarray:
        """(N,) expected payoff CTR x payment of every ad for the next user (if shown)."""
        return self.ctr_now() * self.cat.payment

    # ---- the tick -------------------------------------------------------------------------
    def set_proposals(self, ads: np.ndarray) -> None:
        """Each server's chosen ad (index into its catalogue), or -1 to abstain."""
        self.proposals = np.asarray(ads, dtype=np.int64)

    def attention(self, ctr_n: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """(K, per_server) chance the user would attend to each ad, given the other servers' ads.

        The user attends to one proposed ad with probability proportional to its CTR:
        ``CTR_a / (CTR_a + sum of the CTRs of the other servers' proposals)``; an abstaining
        server proposes nothing. With one server the chance is 1.
        """
        k = self.n_servers
        own = ctr_n.reshape(k, self.per_server)
        if k == 1:
            return np.ones_like(own)
        proposed = np.where(chosen >= 0, ctr_n[np.maximum(chosen, 0)], 0.0)
        others = (proposed.sum() - proposed)[:, None]
        return own / np.maximum(own + others, 1e-12)

    def step(self) -> None:
        """Serve one user: attention, expected payoffs and regret, click, crowd update."""
        t, user = self.t, self.user
        ctr_n = self.ctr_now()
        payoff = (ctr_n * self.cat.payment).reshape(self.n_servers, self.per_server)
        chosen = np.where(self.proposals >= 0, self.proposals + np.arange(self.n_servers) * self.per_server, -1)
        expected = self.attention(ctr_n, chosen) * payoff
        live = self.proposals >= 0
        got = np.where(live, expected[np.arange(self.n_servers), np.maximum(self.proposals, 0)], 0.0)
        best = expected.max(axis=1)
        self.regret += best - got
        self.best_pulls += live & (got >= best)
        self.pulls_made += live
        self.last_expected = expected
        self.popularity *= self._decay
        self.last_rewards = np.zeros(self.n_servers)
        self.last_attended, self.last_ad, self.last_click = -1, -1, False
        if live.any():
            proposers = np.flatnonzero(live)
            weight = np.cumsum(ctr_n[chosen[proposers]])
            pick = int(np.searchsorted(weight, self.attention_draw[t] * weight[-1], side="right"))
            attended = int(proposers[min(pick, proposers.size - 1)]) if weight[-1] > 0 else int(proposers[0])
            ad = int(chosen[attended])
            click = bool(self.click_draw[t] < ctr_n[ad])
            self.exposures[user, ad] += 1
            self.impressions += 1
            if click:
                self.popularity[ad] += 1.0
                self.clicks += 1
                self.last_rewards[attended] = self.cat.payment[ad]
                self.revenue[attended] += self.cat.payment[ad]
            self.last_attended, self.last_ad, self.last_click = attended, ad, click
        self.t += 1
        self.minute += self.dt
        if self.t >= self.stream.size:
            self.running = False
        if self.t % self.config.world.metrics_every == 0 or not self.running:
            self.datacollector.collect(self)
