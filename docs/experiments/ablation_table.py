"""The ablation table of ``f``: each of its five terms off in turn, against the full ``f``, over paired days.

For each config (``museum-small``, ``museum-busy``) and each guide policy (``crowd_aware``,
``interest``), runs the full ``f`` and then ``f.<term> = 0`` for each of the five terms on the
same days (seeds ``0 .. days-1``: the same visitors, and the same torch generator seed, in every
arm), with the batched engine (:mod:`cpss.batched`). Reports the paired difference (term off
minus full ``f``) of each day metric with its 95% Student-t interval (:func:`cpss.kit.stats.mean_ci`)
and whether it points where the term's definition says it should (:data:`EXPECTED`).

The ``f.*`` weights are what visitors decide with; satisfaction is scored with every term at its
own scale whatever the weights (:data:`cpss.kit.fparams.FELT`, docs/model.md §2.4), so an ablation
changes behaviour, not the measuring stick. Crowding is counted where it is: in the rooms
(``congestion_minutes``) and in the queue at a full entrance (``entry_queue_minutes``).

Writes ``ablation-table/results.csv``, ``ablation-table/table.md`` and ``ablation-table/ablation.png``
next to this script, and prints the Markdown table.

Usage: ``python docs/experiments/ablation_table.py [--days 40] [--chunk 40]`` (about 3 minutes on
one CPU core; ``--device cuda`` runs it on a GPU).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import scenarios  # noqa: E402
from cpss.batched.io import summary  # noqa: E402
from cpss.batched.venue import BatchedVenue  # noqa: E402
from cpss.kit.fparams import TERMS  # noqa: E402
from cpss.kit.stats import mean_ci  # noqa: E402
from cpss.venue.users import Activity  # noqa: E402

OUT = HERE / "ablation-table"
CONFIGS = ("museum-small", "museum-busy")
POLICIES = ("crowd_aware", "interest")
METRICS = {
    "crowded_minutes": "crowded visitor-min (rooms + entry queue)",
    "congestion_minutes": "congestion visitor-min (rooms)",
    "entry_queue_minutes": "entry-queue visitor-min",
    "turned_away": "ticket holders never let in",
    "mean_wait": "mean wait (min)",
    "felt_crowding": "peak crowd cost felt",
    "mean_satisfaction": "mean satisfaction",
    "acceptance_rate": "acceptance rate",
    "top_interest_coverage": "top-interest coverage",
    "items_per_visitor": "stops per visitor",
}
"""Day metrics of the table: key -> label."""

EXPECTED: dict[str, dict[str, int]] = {
    "user": {
        "mean_satisfaction": -1,
        "top_interest_coverage": -1,
        "acceptance_rate": -1,
        "items_per_visitor": -1,
        "crowded_minutes": -1,
    },
    "personaliser": {"acceptance_rate": -1, "mean_satisfaction": -1},
    "crowd": {"crowded_minutes": +1, "felt_crowding": +1, "mean_wait": +1, "mean_satisfaction": -1},
    "context": {"acceptance_rate": +1, "items_per_visitor": +1, "crowded_minutes": +1},
    "environment": {
        "acceptance_rate": -1,
        "items_per_visitor": -1,
        "mean_wait": -1,
        "crowded_minutes": -1,
        "mean_satisfaction": -1,
    },
    "companions": {"crowded_minutes": -1, "mean_wait": -1},
    "social proof": {"crowded_minutes": -1, "felt_crowding": -1},
    "crowd push": {"crowded_minutes": +1, "felt_crowding": +1, "mean_wait": +1, "mean_satisfaction": -1},
}
"""The sign each term's definition predicts for a metric when the term is switched off (docs/model.md §2.1).

``user`` (>= 0): choices and acceptance no longer follow interests, and every exhibit looks less
worth a stop: lower satisfaction, coverage and acceptance, fewer stops, less crowding.
``personaliser`` (>= 0, guided visits only): the guide's content and the user's trust no longer
count for accepting. ``crowd``: visitors no longer avoid crowds, queues and blocked views (nor
follow companions or co-viewers): more crowding, longer waits, more crowding felt, lower
satisfaction. ``context`` (<= 0 with no events, which these configs have none of): the ambient
noise penalty (0.02–0.04) leaves every option, so acceptance and stops rise a little, and with
them crowding; the rooms differ by at most 0.02 in it, so routing hardly changes.
``environment`` (mostly > 0): attraction and walking cost no longer count: less pull to the
blockbuster and the stars, fewer stops, lower acceptance, less crowding and waiting.

The crowd term's two sides, on their own: ``companions`` (``crowd.cohesion = 0``) and ``social
proof`` (``crowd.social_proof = 0``) remove its pull, against the full ``f``; ``crowd push`` is
``f.crowd = 0`` against ``f`` without the pull (both of them 0), which leaves avoidance,
balking, skipping and views cut short. These two change constants, so social proof is also no
longer felt.
"""

PULL_OFF = {"crowd.social_proof": 0.0, "crowd.cohesion": 0.0}
"""Overrides that remove the crowd term's pull (co-viewers attract, companions follow) and keep its push."""

ARMS: tuple[tuple[str, dict, dict], ...] = (
    *((term, {}, {f"f.{term}": 0.0}) for term in TERMS),
    ("companions", {}, {"crowd.cohesion": 0.0}),
    ("social proof", {}, {"crowd.social_proof": 0.0}),
    ("crowd push", PULL_OFF, {**PULL_OFF, "f.crowd": 0.0}),
)
"""(name, overrides of the reference, overrides of the arm): each arm is compared with its reference."""


def run_days(config: str, policy: str, overrides: dict, days: int, chunk: int, device: str) -> dict[str, np.ndarray]:
    """Per-day metrics of ``days`` days (seeds 0..days-1) of ``config`` with ``policy`` guides and ``overrides``."""
    cfg = scenarios.load_config("museum", config, overrides)
    out: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    for start in range(0, days, chunk):
        n = min(chunk, days - start)
        w = BatchedVenue(cfg, n, seed=start, policy=policy, device=device)
        while w.running:
            w.step()
        s = {k: v.double().cpu().numpy() for k, v in summary(w).items()}
        arrived = (w.pop.state != Activity.OUTSIDE).view(n, -1)
        felt = (w.pop.crowd_peak.view(n, -1) * arrived).sum(dim=1) / arrived.sum(dim=1).clamp(min=1)
        s["entry_queue_minutes"] = w.entry_queue_minutes.double().cpu().numpy()
        s["crowded_minutes"] = s["congestion_minutes"] + s["entry_queue_minutes"]
        s["turned_away"] = w.V - s["arrived"]
        s["felt_crowding"] = felt.double().cpu().numpy()
        for k in METRICS:
            out[k].append(s[k])
    return {k: np.concatenate(v) for k, v in out.items()}


def verdict(diff: float, half: float, expected: int | None) -> str:
    """``as defined`` / ``opposite`` / ``n.s.`` for a predicted sign, ``—`` where none is predicted."""
    if expected is None:
        return "—"
    if abs(diff) <= half or not np.isfinite(half):
        return "n.s."
    return "as defined" if np.sign(diff) == expected else "opposite"


def measure(days: int, chunk: int, device: str, configs=CONFIGS, policies=POLICIES) -> list[dict]:
    """Every row of the table: (config, policy, arm, metric, reference mean, arm mean, difference, CI, verdict)."""
    rows = []
    for config in configs:
        for policy in policies:
            t0 = time.time()
            runs: dict[str, dict[str, np.ndarray]] = {}
            for arm, ref_overrides, overrides in ARMS:
                for overrides_ in (ref_overrides, overrides):
                    if repr(overrides_) not in runs:
                        runs[repr(overrides_)] = run_days(config, policy, overrides_, days, chunk, device)
                reference, off = runs[repr(ref_overrides)], runs[repr(overrides)]
                for metric in METRICS:
                    diff, half = mean_ci(off[metric] - reference[metric])
                    rows.append(
                        {
                            "config": config,
                            "policy": policy,
                            "term_off": arm,
                            "metric": metric,
                            "days": days,
                            "reference": float(reference[metric].mean()),
                            "term_off_mean": float(off[metric].mean()),
                            "diff": diff,
                            "ci95": half,
                            "verdict": verdict(diff, half, EXPECTED[arm].get(metric)),
                        }
                    )
            print(f"{config} {policy}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return rows


def fmt(diff: float, half: float, metric: str) -> str:
    """``+1.23 ± 0.45`` with a precision that suits the metric."""
    digits = 0 if metric.endswith("minutes") or metric == "turned_away" else 3 if "rate" in metric else 2
    return f"{diff:+.{digits}f} ± {half:.{digits}f}"


def markdown(rows: list[dict]) -> str:
    """One table per config: a row per (policy, term off), a column per metric, verdicts marked."""
    marks = {"as defined": " ✓", "opposite": " ✗", "n.s.": " ·", "—": ""}
    show = ("crowded_minutes", "congestion_minutes", "entry_queue_minutes", "turned_away", "mean_wait")
    show += ("felt_crowding", "mean_satisfaction", "acceptance_rate", "top_interest_coverage", "items_per_visitor")
    out = []
    configs, policies = dict.fromkeys(r["config"] for r in rows), dict.fromkeys(r["policy"] for r in rows)
    for config in configs:
        sub = [r for r in rows if r["config"] == config]
        days = sub[0]["days"]
        out.append(f"#### {config} ({days} paired days): term off minus full f, 95% CI\n")
        out.append("| guides | term off | " + " | ".join(METRICS[m] for m in show) + " |")
        out.append("|---|---|" + "---|" * len(show))
        for policy in policies:
            base = {r["metric"]: r["reference"] for r in sub if r["policy"] == policy and r["term_off"] == TERMS[0]}
            cells = [f"{base[m]:.0f}" if m.endswith("minutes") else f"{base[m]:.3g}" for m in show]
            out.append(f"| `{policy}` | *(full f: level)* | " + " | ".join(cells) + " |")
            arms = dict.fromkeys(r["term_off"] for r in sub if r["policy"] == policy)
            for arm in arms:
                got = {r["metric"]: r for r in sub if r["policy"] == policy and r["term_off"] == arm}
                cells = [fmt(got[m]["diff"], got[m]["ci95"], m) + marks[got[m]["verdict"]] for m in show]
                out.append(f"| `{policy}` | {arm} | " + " | ".join(cells) + " |")
        out.append("")
    out.append(
        "✓ points where the term's definition says; ✗ the opposite; · predicted but not significant; "
        "no mark: no prediction. *companions*: `crowd.cohesion = 0`, *social proof*: `crowd.social_proof = 0`, "
        "both against the full f; *crowd push*: `f.crowd = 0` against f with both of them 0."
    )
    return "\n".join(out) + "\n"


def figure(rows: list[dict], path: Path) -> None:
    """Paired differences with 95% CIs: a panel per (metric, config), a bar per term and policy."""
    panels = ("crowded_minutes", "mean_wait", "mean_satisfaction", "acceptance_rate")
    configs, policies = list(dict.fromkeys(r["config"] for r in rows)), list(dict.fromkeys(r["policy"] for r in rows))
    fig, axes = plt.subplots(len(panels), len(configs), figsize=(11, 11), squeeze=False)
    colours = {"crowd_aware": "tab:blue", "interest": "tab:orange"}
    x = np.arange(len(TERMS))
    for i, metric in enumerate(panels):
        for j, config in enumerate(configs):
            ax = axes[i, j]
            for k, policy in enumerate(policies):
                key = (config, policy, metric)
                got = {r["term_off"]: r for r in rows if (r["config"], r["policy"], r["metric"]) == key}
                ax.bar(
                    x + (k - 0.5) * 0.38,
                    [got[t]["diff"] for t in TERMS],
                    0.38,
                    yerr=[got[t]["ci95"] for t in TERMS],
                    color=colours[policy],
                    capsize=3,
                    label=f"{policy} guides",
                )
            ax.axhline(0.0, color="black", linewidth=0.8)
            ax.set_xticks(x, [f"{t} off" for t in TERMS], fontsize=8)
            if i == 0:
                ax.set_title(config)
            if j == 0:
                ax.set_ylabel(METRICS[metric], fontsize=9)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Each term of f off, minus the full f (paired days, 95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Measure, then write the CSV, the Markdown table and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40, help="paired days per cell (>= 30 for the docs)")
    parser.add_argument("--chunk", type=int, default=40, help="days per batched run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), help="a subset, for a quick look")
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), help="a subset, for a quick look")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = measure(args.days, args.chunk, args.device, tuple(args.configs), tuple(args.policies))
    OUT.mkdir(exist_ok=True)
    with open(OUT / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = markdown(rows)
    (OUT / "table.md").write_text(table)
    figure(rows, OUT / "ablation.png")
    print(table)


if __name__ == "__main__":
    main()
