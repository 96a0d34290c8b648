"""Selfish vs coordinated routing in the routes scenario: measured shares and costs against the closed forms.

For each shipped routes config and each heuristic, runs ``--days`` days (seeds 0..days-1, the
same days for every policy) and reports the mean share on route B and the mean cost with 95%
confidence intervals, and the paired difference of each policy's cost to ``greedy``'s. Then,
unless ``--learner-seeds 0``, trains MAPPO at cooperation 0 and 1 (``--learner-seeds`` seeds,
10 000 steps on 200-user days) and measures its sampled policy over 50 days. Writes the figure
``selfish-vs-coordinated.png`` next to this script, then measures the three informed heuristics
against ``users.compliance`` (``--compliance-days`` days per cell). Prints Markdown tables.

Usage: ``python docs/experiments/selfish_vs_coordinated.py [--days 200] [--learner-seeds 5]``
(about 1 minute for the heuristics, 15 s per learner run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import scenarios  # noqa: E402
from scenarios.routes.equations import mean_cost, optimum_share, selfish_share  # noqa: E402

CONFIGS = ("routes-pigou", "routes-rooms")
POLICIES = ("greedy", "coordinated", "marginal", "random")
Z95 = 1.96


def ci(x: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the normal 95% confidence interval of the mean."""
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(Z95 * x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0


def run_heuristic(config: str, policy: str, days: int, **overrides) -> tuple[np.ndarray, np.ndarray]:
    """Per-day share on B and mean cost of ``days`` days under a heuristic."""
    env = scenarios.make("routes", config=config, **overrides)
    shares, costs = np.empty(days), np.empty(days)
    for day in range(days):
        env.reset(seed=day)
        while env.agents:
            env.step(env.heuristic_actions(policy))
        shares[day], costs[day] = env.model.share_b, env.model.mean_cost
    return shares, costs


def run_learner(config: str, cooperation: float, seed: int, eval_days: int = 50) -> tuple[float, float]:
    """Mean share on B and mean cost of MAPPO's sampled policy after 10 000 training steps."""
    import torch

    import agents

    torch.set_num_threads(1)
    env = scenarios.make("routes", config=config, users={"count": 200}, rewards={"cooperation": cooperation})
    learner = agents.make("mappo", env, seed=seed, gamma=0.9)
    learner.learn(10_000)
    shares, costs = [], []
    for day in range(eval_days):
        obs, infos = env.reset(seed=100_000 + day)
        while env.agents:
            obs, _, _, _, infos = env.step(learner.act(obs, infos, deterministic=False))
        shares.append(env.model.share_b)
        costs.append(env.model.mean_cost)
    return float(np.mean(shares)), float(np.mean(costs))


def compliance_table(days: int) -> None:
    """Share on B and mean cost against ``users.compliance``, for the three informed heuristics."""
    print(f"\n### Compliance ({days} days per cell; share on B / mean cost)\n")
    print("| config | compliance | `greedy` | `coordinated` | `marginal` |")
    print("|---|---|---|---|---|")
    for config in CONFIGS:
        for c in (0.25, 0.5, 0.75, 1.0):
            cells = []
            for policy in ("greedy", "coordinated", "marginal"):
                shares, costs = run_heuristic(config, policy, days, users={"count": 1000, "compliance": c})
                cells.append(f"{shares.mean():.3f} / {costs.mean():.4f}")
            print(f"| {config} | {c:g} | {' | '.join(cells)} |")


def main() -> None:
    """Run the experiment, print the tables, write the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--learner-seeds", type=int, default=5)
    parser.add_argument("--compliance-days", type=int, default=50)
    args = parser.parse_args()

    fig, axes = plt.subplots(1, len(CONFIGS), figsize=(11, 4.2), dpi=100)
    for ax, config in zip(axes, CONFIGS, strict=True):
        cfg = scenarios.load_config("routes", config)
        pa, pb = cfg.params()
        s_eq, s_opt = selfish_share(pa, pb), optimum_share(pa, pb)
        print(f"\n### {config}: N = {cfg.users.count} users, K = {cfg.guides.count} guides, {args.days} days\n")
        print(f"closed form: selfish s = {s_eq:.4f}, C = {mean_cost(s_eq, pa, pb):.4f}; ", end="")
        print(f"optimum s = {s_opt:.4f}, C = {mean_cost(s_opt, pa, pb):.4f}\n")
        print("| policy | share on B (95% CI) | mean cost (95% CI) | cost − greedy's, paired (95% CI) |")
        print("|---|---|---|---|")
        lo, hi = max(min(s_eq, s_opt) - 0.2, 0.0), min(max(s_eq, s_opt) + 0.2, 1.0)
        s = np.linspace(lo, hi, 201)
        ax.plot(s, mean_cost(s, pa, pb), color="0.6", lw=1.5, label="C(s), closed form")
        for share, label, colour in ((s_eq, "selfish (closed form)", "tab:red"), (s_opt, "optimum", "tab:green")):
            ax.plot([share], [mean_cost(share, pa, pb)], "o", ms=14, mfc="none", mec=colour, mew=2, label=label)
        measured = {}
        for policy in POLICIES:
            measured[policy] = run_heuristic(config, policy, args.days)
        markers = {"greedy": "ks", "coordinated": "bD", "marginal": "^", "random": "v"}
        for policy, (shares, costs) in measured.items():
            (ms, hs), (mc, hc), (md, hd) = ci(shares), ci(costs), ci(costs - measured["greedy"][1])
            print(f"| `{policy}` | {ms:.4f} ± {hs:.4f} | {mc:.5f} ± {hc:.5f} | {md:+.5f} ± {hd:.5f} |")
            colour = {"marginal": "tab:orange", "random": "0.45"}.get(policy)
            ax.errorbar(ms, mc, xerr=hs, yerr=hc, fmt=markers[policy], color=colour, ms=6, capsize=3, label=policy)
        for coop, colour in ((0.0, "tab:purple"), (1.0, "tab:cyan")):
            runs = [run_learner(config, coop, seed) for seed in range(args.learner_seeds)]
            if not runs:
                continue
            (ms, hs), (mc, hc) = ci([r[0] for r in runs]), ci([r[1] for r in runs])
            label = f"MAPPO, cooperation {coop:g}"
            print(f"| {label} ({len(runs)} seeds) | {ms:.4f} ± {hs:.4f} | {mc:.5f} ± {hc:.5f} | |")
            ax.plot([r[0] for r in runs], [r[1] for r in runs], "*", color=colour, ms=9, label=label)
        ax.set_title(f"{config} (B: {cfg.route_b.name})", fontsize=11)
        ax.set_xlabel("share routed to B")
        ax.set_ylabel("mean cost" if config == "routes-pigou" else "mean cost (= −utility)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out = HERE / "selfish-vs-coordinated.png"
    fig.savefig(out)
    print(f"\nwrote {out.relative_to(HERE.parent.parent)}")
    if args.compliance_days:
        compliance_table(args.compliance_days)


if __name__ == "__main__":
    main()
