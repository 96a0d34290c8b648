"""Learned cobots against the heuristics on workshop-small: docs/results/learned-workshop.md.

``make results`` runs it after bench/learned.py. For each training seed it trains flat MAPPO
(`cpss train workshop --algo mappo --time-limit`, two runs at a time on this 2-core machine) on
workshop-small with the controller's safety-rated speed limit at the force-limited speed
(``cobots.speed_limit = "pfl"``, docs/model.md §8), then plays every learner and the four
heuristics on the same ``--eval-shifts`` evaluation shifts (seeds from ``EVAL_SEED``: shift ``s``
has the same orders, failures and workspace entries under every policy) and reports, per
training seed, the paired differences learner − ``fixed`` and learner − the best heuristic (by
mean return) with 95% t-intervals over shifts, and the learning curves against wall-clock.

``--unlimited FOLDER`` also evaluates a MAPPO run trained *without* the speed limit on the
plain workshop-small (its own row: what the learner does when it may trade safety for return).

Usage::

    python bench/learned_workshop.py --minutes 15 --seeds 0 1 2 --eval-shifts 1000 --out runs/learned-workshop
    python bench/learned_workshop.py --evaluate-only --out runs/learned-workshop
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.trained import launch, write_page  # noqa: E402
from cpss.kit.render import plt  # noqa: E402
from cpss.kit.stats import mean_ci  # noqa: E402

CONFIG = "workshop-small"
LIMITED = {"cobots": {"speed_limit": "pfl"}}
"""The configuration the learners train and are evaluated on."""
HEURISTICS = ("fixed", "preference", "fatigue_adaptive", "separation")
METRICS = (
    "return",
    "throughput",
    "safety_violations",
    "protective_stops",
    "physical_fatigue_mean",
    "failed_minutes",
    "comfort_mismatch",
    "mean_trust",
)
EVAL_SEED = 100_000
CHUNK = 50
"""Shifts per evaluation task (one task per worker process at a time)."""
DOCS = HERE.parent / "docs" / "results"


def train_all(out: Path, minutes: float, seeds: list[int], parallel: int) -> None:
    """Launch the training runs, ``parallel`` at a time (finished runs are kept)."""
    args = ["train", "workshop", "--config", CONFIG, "--algo", "mappo", "--set", "cobots.speed_limit=pfl"]
    args += ["--steps", "1000000000", "--time-limit", str(minutes * 60)]
    launch([(out / f"{CONFIG}-mappo-seed{seed}", [*args, "--seed", str(seed)]) for seed in seeds], parallel)


def _play_chunk(job: tuple[str, bool, list[int]]) -> list[dict]:
    """Rows of one policy (``heuristic:NAME`` or a run folder) on some evaluation shifts."""
    import torch

    import agents
    import scenarios
    from agents.evaluate import evaluate

    torch.set_num_threads(1)
    policy, limited, seeds = job
    env = scenarios.make("workshop", config=CONFIG, **(LIMITED if limited else {}))
    if policy.startswith("heuristic:"):
        learner = agents.make("heuristic", env, policy=policy.split(":", 1)[1])
    else:
        learner = agents.load(Path(policy) / "checkpoints" / "last.pt", env)
    rows = evaluate(env, learner, len(seeds), seeds=seeds)
    return [{"seed": s, **{m: float(r[m]) for m in METRICS}} for s, r in zip(seeds, rows, strict=True)]


def play_all(policies: dict[str, tuple[str, bool]], shifts: int, parallel: int, cache: Path) -> dict[str, pd.DataFrame]:
    """Per-shift metrics of every policy (name -> (heuristic:NAME or folder, speed-limited?)).

    Each policy's rows are kept in ``cache/NAME-SHIFTS.csv`` and reused by later calls.
    """
    cache.mkdir(parents=True, exist_ok=True)
    files = {name: cache / f"{name.replace(' ', '_')}-{shifts}.csv" for name in policies}
    todo = {name: spec for name, spec in policies.items() if not files[name].is_file()}
    seeds = [EVAL_SEED + i for i in range(shifts)]
    jobs = [
        (name, (src, lim, seeds[i : i + CHUNK])) for name, (src, lim) in todo.items() for i in range(0, shifts, CHUNK)
    ]
    rows: dict[str, list[dict]] = {name: [] for name in todo}
    with ProcessPoolExecutor(max_workers=parallel) as pool:
        for (name, _), part in zip(jobs, pool.map(_play_chunk, [job for _, job in jobs]), strict=True):
            rows[name] += part
            if len(rows[name]) == shifts:  # a policy is kept as soon as all its shifts are in
                pd.DataFrame(rows[name]).sort_values("seed", ignore_index=True).to_csv(files[name], index=False)
                print(f"evaluated {name} on {shifts} shifts", flush=True)
    return {name: pd.read_csv(files[name]) for name in policies}


def paired(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, list[float]]:
    """Mean and 95% half-width of ``a - b`` per metric, shift by shift."""
    return {m: [float(x) for x in mean_ci((a[m] - b[m]).to_numpy(dtype=float))] for m in METRICS}


def evaluate_all(out: Path, shifts: int, parallel: int, unlimited: Path | None) -> dict:
    """Heuristics and learners on the same shifts; paired differences."""
    runs = sorted(f for f in out.glob(f"{CONFIG}-mappo-seed*") if (f / "summary.json").is_file())
    policies = {h: (f"heuristic:{h}", True) for h in HEURISTICS}
    policies |= {f.name: (str(f), True) for f in runs}
    if unlimited is not None:
        policies[f"{unlimited.name} (no speed limit)"] = (str(unlimited), False)
    frames = play_all(policies, shifts, parallel, out / "eval")
    best = max(HEURISTICS, key=lambda h: frames[h]["return"].mean())
    stats = {h: {m: [float(x) for x in mean_ci(frames[h][m].to_numpy(float))] for m in METRICS} for h in HEURISTICS}
    report: dict = {"config": CONFIG, "eval_shifts": shifts, "heuristics": stats, "best_heuristic": best}
    report["learners"] = {}
    for name in policies:
        if name in HEURISTICS:
            continue
        folder = Path(policies[name][0])
        summary = json.loads((folder / "summary.json").read_text())
        report["learners"][name] = {
            "speed_limited": policies[name][1],
            "mean": {m: float(frames[name][m].mean()) for m in METRICS},
            "vs_fixed": paired(frames[name], frames["fixed"]),
            "vs_best": paired(frames[name], frames[best]),
            "train_seconds": summary["wall_seconds"],
            "train_env_steps": summary["env_steps"],
        }
    return report


def curves(out: Path, report: dict, path: Path) -> None:
    """Training return per episode against wall-clock, heuristics as dashed lines."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=100)
    for folder in sorted(out.glob(f"{CONFIG}-mappo-seed*")):
        if (folder / "metrics.csv").is_file() and (folder / "summary.json").is_file():
            m = pd.read_csv(folder / "metrics.csv")
            wall = json.loads((folder / "summary.json").read_text())["wall_seconds"]
            minutes = np.linspace(0, wall / 60, len(m)) if "wall_s" not in m else m["wall_s"] / 60
            ax.plot(minutes, m["return"].rolling(20, min_periods=1).mean(), label=folder.name[-5:])
    for h, stats in report["heuristics"].items():
        ax.axhline(stats["return"][0], ls="--", lw=1, color="0.5")
        ax.annotate(h, (0, stats["return"][0]), fontsize=7, va="bottom")
    ax.set(title=f"{CONFIG}, speed limit = PFL", xlabel="training minutes (wall-clock)")
    ax.set(ylabel="return per cobot-shift (mean of 20 episodes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _cell(pair: list[float], digits: int = 2) -> str:
    mean, half = pair
    bold = "**" if abs(mean) > half else ""
    return f"{bold}{mean:+.{digits}f} ± {half:.{digits}f}{bold}"


def markdown(report: dict) -> str:
    """The tables of docs/results/learned-workshop.md."""
    head = "| policy | " + " | ".join(METRICS) + " |"
    lines = [head, "|---" * (len(METRICS) + 1) + "|"]
    for h, stats in report["heuristics"].items():
        lines.append(f"| {h} | " + " | ".join(f"{stats[m][0]:.3f} ± {stats[m][1]:.3f}" for m in METRICS) + " |")
    for name, r in report["learners"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r['mean'][m]:.3f}" for m in METRICS) + " |")
    best = report["best_heuristic"]
    lines += ["", "Paired differences, learner − heuristic (95% CI over shifts; bold: the CI excludes 0).", ""]
    lines += [f"Best heuristic by return: `{best}`.", ""]
    lines += ["| learner | vs | " + " | ".join(METRICS) + " | training |", "|---" * (len(METRICS) + 3) + "|"]
    for name, r in report["learners"].items():
        train = f"{r['train_seconds'] / 60:.1f} min, {r['train_env_steps']:,} env steps"
        for label, key in (("fixed", "vs_fixed"), (best, "vs_best")):
            lines.append(f"| {name} | {label} | " + " | ".join(_cell(r[key][m]) for m in METRICS) + f" | {train} |")
    return "\n".join(lines) + "\n"


INTRO = """# Learned cobots vs heuristics on workshop-small

Generated by `bench/learned_workshop.py` (`make results`). The learner is flat MAPPO
(docs/learners.md: shared Gaussian actor on each cobot's 26 observations, centralised critic on
the global state) trained with `cpss train workshop --algo mappo` on the per-agent PettingZoo
env for 15 minutes of wall-clock per seed, two runs side by side on this machine's 2 CPU cores,
default hyperparameters. Learners and heuristics run with the controller's safety-rated speed
limit at the force-limited speed (`cobots.speed_limit = "pfl"`, 0.54 m/s: no contact can exceed
a body region's ISO/TS 15066 limit, docs/model.md §8); `fixed` runs below it and is unchanged by
it. Each learner acts deterministically (the Gaussian's mean) on evaluation shifts that no
training run saw (seeds from 100 000); shift `s` has the same orders, failures and workspace
entries under every policy, so differences are paired by shift. Return is per cobot-shift.
Lower is better for violations, stops, fatigue, failed minutes and comfort mismatch.

![learning curves](learned-workshop-curves.png)

"""


def write_docs(out: Path, report: dict) -> str:
    """Write docs/results/learned-workshop.md, its figure and its JSON; return the tables."""
    return write_page(DOCS, "learned-workshop", INTRO, markdown(report), report, lambda p: curves(out, report, p))


def main() -> None:
    """Train, evaluate, write ``OUT/report.json`` and docs/results/learned-workshop.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-shifts", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--unlimited", type=Path, default=None, help="a MAPPO run trained without the speed limit")
    parser.add_argument("--out", type=Path, default=Path("runs/learned-workshop"))
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--render-only", action="store_true", help="rewrite the docs from OUT/report.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        print(write_docs(args.out, json.loads((args.out / "report.json").read_text())))
        return
    if not args.evaluate_only:
        train_all(args.out, args.minutes, args.seeds, args.parallel)
    report = evaluate_all(args.out, args.eval_shifts, args.parallel, args.unlimited)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(write_docs(args.out, report))


if __name__ == "__main__":
    main()
