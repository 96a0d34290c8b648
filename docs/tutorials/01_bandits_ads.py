"""Tutorial 1: bandits for ads. In which order should we present the ads to maximise revenue?

The seed lecture's first world: each ad is an arm, its payoff is ``ClickThroughRate x payment``,
and a learner has to find the best ad while showing ads to real users. We compare the slide's
three strategies (explore only, exploit only, epsilon-greedy) with UCB1 and Thompson sampling
on ``ads-small`` (one ad server, 5 ads, 3 user segments, social proof and ad fatigue on), and
measure what learning costs as cumulative regret against the oracle that knows every expected
payoff.

Run (from the repository root)::

    .venv/bin/python docs/tutorials/01_bandits_ads.py              # full: 20 seeds x 10 000 users
    .venv/bin/python docs/tutorials/01_bandits_ads.py --budget tiny

The full budget writes ``outputs/01_bandits_ads_regret.png`` and ``outputs/01_bandits_ads.md``
next to this file (the tiny one writes to a temporary folder unless ``--out`` is given).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from tutorial_utils import markdown, parse

import agents
import scenarios
from cpss.runs.bandits import markdown_table, plot_regret, summarise
from scenarios.ads.world import Catalogue, sigmoid

BUDGETS = {"tiny": {"seeds": 2, "pulls": 500}, "full": {"seeds": 20, "pulls": 10_000}}
"""Seeds per policy and users (pulls) per run."""

POLICIES = {
    "explore only": ("explore_only", {}),
    "exploit only": ("exploit_only", {}),
    "epsilon-greedy (0.1)": ("epsilon_greedy", {"epsilon": 0.1}),
    "UCB1 (c = 1)": ("ucb1", {"c": 1.0}),
    "UCB1 (c = 0.2)": ("ucb1", {"c": 0.2}),
    "Thompson": ("thompson", {}),
}
"""Label -> (agents registry name, hyperparameters)."""


def true_order() -> pd.DataFrame:
    """Payment, CTR and payoff of every ad averaged over the day's users (no crowd effects)."""
    cat = Catalogue(scenarios.load_config("ads", "ads-small"))  # fixed by ads.catalogue_seed
    ctr = sigmoid(cat.static_logit).mean(axis=(0, 1))  # equal segment shares, equal dayparts
    table = pd.DataFrame(
        {"ad": range(cat.n), "payment": cat.payment, "mean CTR": ctr, "payoff = CTR x payment": ctr * cat.payment}
    )
    return table.sort_values("payoff = CTR x payment", ascending=False).reset_index(drop=True)


def run(label: str, seed: int, pulls: int) -> tuple[agents.Learner, pd.DataFrame, dict]:
    """One learner, one day of ``pulls`` users; its regret curve and final metrics."""
    algo, hyperparams = POLICIES[label]
    env = scenarios.make_gym("ads", config="ads-small", others="random", world={"pulls": pulls})
    learner = agents.make(algo, env, seed=seed, **hyperparams)
    learner.learn(pulls)  # learns online: every pull is shown to a user and paid for
    regret, reward = np.cumsum(learner.regrets), np.asarray(learner.rewards)
    keep = np.unique(np.linspace(1, pulls, min(200, pulls)).round().astype(int))
    curve = pd.DataFrame({"policy": label, "seed": seed, "pull": keep, "cumulative_regret": regret[keep - 1]})
    finals = {
        "policy": label,
        "seed": seed,
        "cumulative_regret": regret[-1],
        "revenue": reward.sum(),
        "revenue_per_pull": reward.mean(),
        "click_rate": (reward > 0).mean(),
        "best_ad_share": (np.asarray(learner.regrets) <= 1e-12).mean(),
    }
    return learner, curve, finals


def main() -> None:
    """Compare the strategies and answer the seed's question."""
    name, budget, out = parse(__doc__, BUDGETS)
    t0 = time.perf_counter()

    # ---- 1. the truth the learners do not know ----
    order = true_order()
    lines = ["## The ads of ads-small, best first (averaged over the day's users)", "", markdown(order)]

    # ---- 2. learn online, many seeds per strategy ----
    curves, runs, learned = [], [], {}
    for label in POLICIES:
        for seed in range(budget["seeds"]):
            learner, curve, finals = run(label, seed, budget["pulls"])
            curves.append(curve)
            runs.append(finals)
            if seed == 0:
                learned[label] = learner
    curves_df, runs_df = pd.concat(curves, ignore_index=True), pd.DataFrame(runs)
    summary = summarise(runs_df)
    lines += [
        f"## Regret after {budget['pulls']} users (mean ± 95% CI over {budget['seeds']} seeds)",
        "",
        markdown_table(summary),
    ]

    # ---- 3. the learned order: what each learner would now show first ----
    rows = []
    for label, learner in learned.items():
        estimate = learner.values  # sample-mean payoff of each ad
        rows.append(
            {
                "policy": label,
                "learned order (best first)": " > ".join(map(str, np.argsort(-estimate))),
                "pulls per ad": " / ".join(str(int(c)) for c in learner.counts),
            }
        )
    lines += [
        "## The order each learner would present the ads in (seed 0)",
        "",
        markdown(pd.DataFrame(rows)),
        f"True order: {' > '.join(map(str, order['ad']))}. A good learner ranks the best ad first "
        "and spends few pulls on the rest, so its order below the top is only roughly known.",
        "",
        f"Budget: {name} ({budget['seeds']} seeds x {budget['pulls']} users per strategy), "
        f"{time.perf_counter() - t0:.0f} s on this machine.",
    ]
    plot_regret(
        curves_df,
        out / "01_bandits_ads_regret.png",
        f"ads-small: mean cumulative regret, 95% CI over {budget['seeds']} seeds",
    )
    text = "\n".join(lines) + "\n"
    (out / "01_bandits_ads.md").write_text(text)
    print(text)
    print(f"figure: {out / '01_bandits_ads_regret.png'}")


if __name__ == "__main__":
    main()
