"""Training throughput on the batched museum: env steps/s of ``item_mappo``, learner included.

``item_mappo`` trains on museum-small in items mode with ``learn_batched`` on ``B`` days
stepped together (``cpss train museum --engine batched``); the figure is joint env steps (days
x ticks) per second of wall-clock over whole updates: rollouts, GAE and PPO epochs. ``bench/run.py``
reports it as P6 beside P5 (per-agent MAPPO on the PettingZoo env) measured in the same run.

Usage: ``python bench/training.py [--days 1024] [--updates 1] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import agents  # noqa: E402
import scenarios  # noqa: E402
from scenarios.museum.batched import BatchedMuseumEnv  # noqa: E402

ITEMS = {"guides": {"observation": "items"}}


def run(days: int = 1024, updates: int = 1, device: str = "cpu") -> dict:
    """Env steps/s of ``updates`` batched updates on ``days`` museum-small days (learner included)."""
    pz = scenarios.make("museum", config="museum-small", **ITEMS)
    learner = agents.make("item_mappo", pz, seed=0, **pz.scenario.learner_hints())
    env = BatchedMuseumEnv("museum-small", num_days=days, seed=0, device=device, **ITEMS)
    t0 = time.perf_counter()
    history = learner.learn_batched(env, updates * days * 240)
    wall = time.perf_counter() - t0
    return {
        "days": days,
        "device": device,
        "updates": len(history),
        "env_steps": learner.env_steps,
        "decisions_per_update": sum(r["decisions"] for r in history) / len(history),
        "env_steps_per_s": learner.env_steps / wall,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    """Command line: print the figure, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1024)
    parser.add_argument("--updates", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    res = run(args.days, args.updates, args.device)
    print(f"item_mappo batched training: {res['env_steps_per_s']:.0f} env steps/s ({args.days} days, {args.device})")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
