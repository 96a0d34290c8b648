"""Learned museum guides against the heuristics on the batched engine: docs/results/learned.md.

``make results`` runs it. For each museum config and training seed it trains ``item_mappo``
with ``cpss train --engine batched --time-limit`` (two runs at a time on this 2-core machine),
then plays every learner and the heuristics ``interest``, ``crowd_aware`` and
``crowd_coordinated`` on the same ``--eval-days`` evaluation days (seeds from ``EVAL_SEED``;
day ``s`` has the same visitors under every policy) and reports, per training seed, the paired
differences learner − ``crowd_aware`` and learner − the best heuristic (by mean return) with
95% t-intervals over days. It also plays the museum-small seed-0 learner on museum-busy and
museum-large unchanged (transfer) and draws the learning curves against wall-clock.

Usage::

    python bench/learned.py --minutes 15 --seeds 0 1 2 --eval-days 1000 --out runs/learned
    python bench/learned.py --evaluate-only --out runs/learned   # re-evaluate finished runs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import agents  # noqa: E402
import scenarios  # noqa: E402
from bench.trained import launch, write_page  # noqa: E402
from cpss.kit.render import plt  # noqa: E402
from cpss.kit.stats import mean_ci  # noqa: E402
from scenarios.museum.batched import BatchedMuseumEnv  # noqa: E402

CONFIGS = ("museum-small", "museum-busy")
HEURISTICS = ("interest", "crowd_aware", "crowd_coordinated")
METRICS = ("return", "mean_satisfaction", "crowded_minutes")
EVAL_SEED = 100_000
DAYS = {"museum-small": 32, "museum-busy": 16}
"""Days per batched update (museum-busy's days are four times as crowded)."""
HYPER = {"prior_scale": 100, "ent_coef": 0.003, "actor_lr": 0.001}
ITEMS = {"guides": {"observation": "items"}}
DOCS = HERE.parent / "docs" / "results"


def train_all(out: Path, configs: list[str], minutes: float, seeds: list[int], days: int | None, parallel: int) -> None:
    """Launch the training runs, ``parallel`` at a time (finished runs are kept)."""
    runs = []
    for cfg in configs:
        for seed in seeds:
            args = ["train", "museum", "--config", cfg]
            args += ["--set", "guides.observation=items", "--algo", "item_mappo", "--engine", "batched"]
            args += ["--days", str(days or DAYS[cfg]), "--seed", str(seed), "--steps", "1000000000"]
            args += ["--time-limit", str(minutes * 60)]
            args += [x for key, value in HYPER.items() for x in ("--hp", f"{key}={value}")]
            runs.append((out / f"{cfg}-item_mappo-seed{seed}", args))
    launch(runs, parallel)


def play(cfg: str, policy: str | object, days: int, chunk: int = 250) -> pd.DataFrame:
    """Per-day metrics of a heuristic (name) or a learner on ``days`` evaluation days of ``cfg``."""
    rows = []
    for start in range(0, days, chunk):
        n = min(chunk, days - start)
        env = BatchedMuseumEnv(cfg, num_days=n, seed=EVAL_SEED + start, **ITEMS)
        obs, infos = env.reset(seed=EVAL_SEED + start)
        ret = torch.zeros(n, env.world.K)
        while env.world.running:
            if isinstance(policy, str):
                acts = env.heuristic_actions(policy)
            else:
                b, k, d = obs.shape
                acts = policy.act_tensor(obs.view(b * k, d), infos["action_mask"].view(b * k, -1)).view(b, k)
            obs, rewards, _, _, infos = env.step(acts)
            ret += rewards
        summary = env.summary()
        rows.append(
            pd.DataFrame(
                {
                    "seed": np.arange(EVAL_SEED + start, EVAL_SEED + start + n),
                    "return": ret.mean(dim=1).numpy(),
                    **{m: summary[m].numpy() for m in METRICS[1:]},
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def paired(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, list[float]]:
    """Mean and 95% half-width of ``a - b`` per metric, day by day."""
    return {m: [float(x) for x in mean_ci((a[m] - b[m]).to_numpy(dtype=float))] for m in METRICS}


def learner_of(folder: Path, cfg: str) -> object:
    """The trained learner of a run folder, on an items-mode env of ``cfg``."""
    return agents.load(folder / "checkpoints" / "last.pt", scenarios.make("museum", config=cfg, **ITEMS))


def evaluate_all(out: Path, configs: list[str], eval_days: int, transfer_days: int) -> dict:
    """Heuristics and learners on the same days; paired differences; transfer."""
    report: dict = {"eval_days": eval_days, "configs": {}}
    for cfg in configs:
        heur = {h: play(cfg, h, eval_days) for h in HEURISTICS}
        best = max(HEURISTICS, key=lambda h: heur[h]["return"].mean())
        stats = {h: {m: [float(x) for x in mean_ci(f[m].to_numpy(float))] for m in METRICS} for h, f in heur.items()}
        block = {"heuristics": stats, "best_heuristic": best, "eval_days": eval_days, "learners": {}}
        for folder in sorted(out.glob(f"{cfg}-item_mappo-seed*")):
            if not (folder / "summary.json").is_file():
                continue
            frame = play(cfg, learner_of(folder, cfg), eval_days)
            summary = json.loads((folder / "summary.json").read_text())
            block["learners"][folder.name] = {
                "mean": {m: float(frame[m].mean()) for m in METRICS},
                "vs_crowd_aware": paired(frame, heur["crowd_aware"]),
                "vs_best": paired(frame, heur[best]),
                "train_seconds": summary["wall_seconds"],
                "train_env_steps": summary["env_steps"],
            }
        report["configs"][cfg] = block
    source = out / "museum-small-item_mappo-seed0"
    if transfer_days and (source / "summary.json").is_file():
        report["transfer"] = {}
        for cfg in ("museum-busy", "museum-large"):
            frame = play(cfg, learner_of(source, cfg), transfer_days, chunk=transfer_days)
            base = play(cfg, "crowd_aware", transfer_days, chunk=transfer_days)
            report["transfer"][cfg] = {"days": transfer_days, "vs_crowd_aware": paired(frame, base)}
    return report


def curves(out: Path, report: dict, path: Path) -> None:
    """Training return per update against wall-clock, one panel per config, heuristics as lines."""
    configs = list(report["configs"])
    fig, axes = plt.subplots(1, len(configs), figsize=(5.5 * len(configs), 3.6), dpi=100, squeeze=False)
    for ax, cfg in zip(axes[0], configs, strict=True):
        for folder in sorted(out.glob(f"{cfg}-item_mappo-seed*")):
            if (folder / "metrics.csv").is_file():
                m = pd.read_csv(folder / "metrics.csv")
                ax.plot(m["wall_s"] / 60, m["return"].rolling(5, min_periods=1).mean(), label=folder.name[-5:])
        for h, stats in report["configs"].get(cfg, {}).get("heuristics", {}).items():
            ax.axhline(stats["return"][0], ls="--", lw=1, color="0.5")
            ax.annotate(h, (0, stats["return"][0]), fontsize=7, va="bottom")
        ax.set(title=cfg, xlabel="training minutes (wall-clock)", ylabel="return per guide-day (mean of 5 updates)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _cell(pair: list[float]) -> str:
    mean, half = pair
    sign = "**" if mean - half > 0 else ""
    return f"{sign}{mean:+.3f} ± {half:.3f}{sign}"


def markdown(report: dict) -> str:
    """The tables of docs/results/learned.md."""
    lines = []
    for cfg, block in report["configs"].items():
        lines += [f"### {cfg}", "", f"{block['eval_days']} paired evaluation days per policy (seeds {EVAL_SEED}…).", ""]
        lines += ["| policy | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
        for h, stats in block["heuristics"].items():
            lines.append(f"| {h} | " + " | ".join(f"{stats[m][0]:.3f} ± {stats[m][1]:.3f}" for m in METRICS) + " |")
        for name, r in block["learners"].items():
            lines.append(f"| {name} | " + " | ".join(f"{r['mean'][m]:.3f}" for m in METRICS) + " |")
        lines += ["", "Paired differences (learner − heuristic, 95% CI over days; bold: CI above 0).", ""]
        lines += [f"Best heuristic by return: `{block['best_heuristic']}`.", ""]
        lines += ["| learner | vs | " + " | ".join(METRICS) + " | training |", "|---" * (len(METRICS) + 3) + "|"]
        for name, r in block["learners"].items():
            train = f"{r['train_seconds'] / 60:.1f} min, {r['train_env_steps']:,} env steps"
            for label, key in (("crowd_aware", "vs_crowd_aware"), (block["best_heuristic"], "vs_best")):
                lines.append(f"| {name} | {label} | " + " | ".join(_cell(r[key][m]) for m in METRICS) + f" | {train} |")
        lines.append("")
    for cfg, t in report.get("transfer", {}).items():
        cells = " · ".join(f"{m} {_cell(t['vs_crowd_aware'][m])}" for m in METRICS)
        lines.append(f"Transfer, museum-small seed 0 on {cfg} ({t['days']} days), vs crowd_aware: {cells}.")
    return "\n".join(lines) + "\n"


INTRO = """# Learned guides vs heuristics on today's museum

Generated by `bench/learned.py` (`make results`). The learner is `item_mappo` (docs/learners.md):
per-item actor with shared weights on the museum's items-mode rows, residual on the
`crowd_aware` score (`prior_scale` 100), pooled centralised critic, trained with
`cpss train --engine batched` on the batched engine (32 days per update on museum-small, 16 on
museum-busy) for 15 minutes of wall-clock per seed, two runs side by side on this machine's 2
CPU cores, `--hp ent_coef=0.003 --hp actor_lr=0.001`. Each learner acts greedily (argmax) on
evaluation days that no training run saw (seeds from 100 000; training days start at 1 000 000);
day `s` has the same visitors under every policy, so differences are paired by day. Return is
per guide-day; `crowded_minutes` sums visitor-minutes in rooms above 0.5 p/m² and held at a full
entrance (docs/metrics.md). Lower `crowded_minutes` is better: a bold positive value there means
*more* congestion.

![learning curves](learned-curves.png)

"""


def write_docs(out: Path, report: dict) -> str:
    """Write docs/results/learned.md, its figure and its JSON from ``report``; return the tables."""
    return write_page(DOCS, "learned", INTRO, markdown(report), report, lambda p: curves(out, report, p))


def main() -> None:
    """Train, evaluate, write ``OUT/report.json`` and docs/results/learned.md with its figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--days", type=int, default=None, help="days per batched update (default: DAYS)")
    parser.add_argument("--eval-days", type=int, default=1000)
    parser.add_argument("--transfer-days", type=int, default=32, help="0: no transfer run")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/learned"))
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--render-only", action="store_true", help="rewrite the docs from OUT/report.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        print(write_docs(args.out, json.loads((args.out / "report.json").read_text())))
        return
    if not args.evaluate_only:
        train_all(args.out, args.configs, args.minutes, args.seeds, args.days, args.parallel)
    report = evaluate_all(args.out, args.configs, args.eval_days, args.transfer_days)
    previous = args.out / "report.json"
    if previous.is_file():  # configs evaluated earlier (and their transfer) are kept
        old = json.loads(previous.read_text())
        report["configs"] = {**old.get("configs", {}), **report["configs"]}
        report.setdefault("transfer", old.get("transfer", {}))
    previous.write_text(json.dumps(report, indent=2) + "\n")
    print(write_docs(args.out, report))


if __name__ == "__main__":
    main()
