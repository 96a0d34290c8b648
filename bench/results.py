"""Learned personalisers against the heuristics: the experiment behind docs/results.md.

For each (scenario, algorithm, seed) it trains with ``cpss train --time-limit`` (two runs at a
time on this 2-core machine), then evaluates every trained learner and every heuristic on the
same evaluation days. Learners are summarised per training seed (mean over evaluation days)
with a 95% t-interval across seeds; heuristics with a 95% t-interval across evaluation days.

Usage::

    python bench/results.py --minutes 10 --seeds 0 1 2 --eval-days 10 --out runs/results
    python bench/results.py --evaluate-only --out runs/results   # re-evaluate finished runs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import agents  # noqa: E402
import scenarios  # noqa: E402
from bench.trained import launch  # noqa: E402
from cpss.kit.stats import mean_ci  # noqa: E402
from cpss.runs.training import evaluate_policies, locate_checkpoint, make_env  # noqa: E402

EXPERIMENTS = [
    ("museum", "museum-small", "mappo"),
    ("museum", "museum-small", "maddpg"),
    ("workshop", "workshop-small", "maddpg"),
]
EVAL_SEED = 100_000


def train_all(out: Path, minutes: float, seeds: list[int], parallel: int) -> None:
    """Launch the training runs, ``parallel`` at a time (finished runs are kept)."""
    runs = []
    for scen, cfg, algo in EXPERIMENTS:
        for seed in seeds:
            args = ["train", scen, "--config", cfg, "--algo", algo, "--seed", str(seed)]
            args += ["--steps", "100000000", "--time-limit", str(minutes * 60)]
            runs.append((out / f"{scen}-{algo}-seed{seed}", args))
    launch(runs, parallel)


def evaluate_all(out: Path, eval_days: int) -> dict:
    """Evaluate every finished run and the heuristics on the same days."""
    report: dict = {}
    for scen, cfg, _ in EXPERIMENTS:
        if scen in report:
            continue
        scenario = scenarios.make_scenario(scen, cfg)
        heur = evaluate_policies(
            scenario, make_env(scenario, True), None, eval_days, EVAL_SEED, scenario.heuristic_policies
        )
        rows = {name: _ci(pd.DataFrame(eps)) for name, eps in heur.items()}
        report[scen] = {"heuristics": rows, "learners": {}}
    for scen, _, algo in EXPERIMENTS:
        per_seed = []
        for folder in sorted(out.glob(f"{scen}-{algo}-seed*")):
            if not (folder / "summary.json").is_file():
                continue
            ckpt, saved = locate_checkpoint(folder)
            scenario = scenarios.scenario_class(scen)(
                scenarios.scenario_class(scen).config_cls.model_validate(saved["config"])
            )
            env = make_env(scenario, True)
            learner = agents.load(ckpt, env)
            episodes = evaluate_policies(scenario, env, learner, eval_days, EVAL_SEED, ())[learner.name]
            means = pd.DataFrame(episodes).drop(columns=["episode"]).mean(numeric_only=True)
            summary = json.loads((folder / "summary.json").read_text())
            means["train_env_steps"] = summary["env_steps"]
            means["train_seconds"] = summary["wall_seconds"]
            per_seed.append(means)
        if per_seed:
            report[scen]["learners"][algo] = _ci(pd.DataFrame(per_seed)) | {"seeds": len(per_seed)}
    return report


def _ci(frame: pd.DataFrame) -> dict:
    out = {}
    for column in frame.select_dtypes("number").columns:
        if column == "episode":
            continue
        mean, half = mean_ci(frame[column].to_numpy(dtype=float))
        out[column] = [float(mean), float(half)]
    return out


def markdown(report: dict, metrics: dict[str, list[str]]) -> str:
    """Tables of mean ± 95% CI per policy."""
    lines = []
    for scen, block in report.items():
        cols = ["return", *metrics.get(scen, [])]
        lines += [f"### {scen}", "", "| policy | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        entries = [(f"**{a}** ({v['seeds']} seeds)", v) for a, v in block["learners"].items()]
        entries += [(k.replace("heuristic:", ""), v) for k, v in block["heuristics"].items()]
        for name, stats in entries:
            cells = [f"{stats[c][0]:.3f} ± {stats[c][1]:.3f}" if c in stats else "-" for c in cols]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        for algo, v in block["learners"].items():
            lines.append("")
            lines.append(
                f"{algo}: {v['train_env_steps'][0]:,.0f} env steps on average in "
                f"{v['train_seconds'][0]:.0f} s of training per seed."
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Train, evaluate, write runs/results/report.json and report.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-days", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/results"))
    parser.add_argument("--evaluate-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.evaluate_only:
        train_all(args.out, args.minutes, args.seeds, args.parallel)
    report = evaluate_all(args.out, args.eval_days)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    metrics = {name: list(scenarios.scenario_class(name).headline_metrics) for name in report}
    text = markdown(report, metrics)
    (args.out / "report.md").write_text(text)
    print(text)
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
