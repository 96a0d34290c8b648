"""The batched torch museum: env steps/s at 1 024-8 192 parallel days, against the numpy env.

For each batch size ``B`` the batched env (``scenarios.museum.batched.BatchedMuseumEnv``,
museum-small: 200 visitors and 8 guides per day) and one numpy PettingZoo museum env are
warmed up to the midday peak (minute 110) with random valid actions, then timed alternately
(10 ticks batched, 10 ticks numpy, repeated) while both days move on through the peak. An *env
step* is one joint step of one day (8 guides acting), so the batched figure is ``B x ticks / s``.

Usage: ``python bench/batched.py [--device cuda] [--sizes 1024,2048,4096,8192] [--repeats 3]``
(also run by ``bench/run.py`` as the ``batched`` figure).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import scenarios  # noqa: E402
from scenarios.museum.batched import BatchedMuseumEnv  # noqa: E402

WARM_MINUTE = 110
TICKS = 10


def _rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


class _NumpyDay:
    """One numpy museum day stepped with random valid actions."""

    def __init__(self) -> None:
        self.env = scenarios.make("museum", config="museum-small")
        _, self.infos = self.env.reset(seed=0)
        self.rng = np.random.default_rng(0)

    def ticks(self, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            if not self.env.agents:
                _, self.infos = self.env.reset()
            acts = {a: int(self.rng.choice(np.flatnonzero(self.infos[a]["action_mask"]))) for a in self.env.agents}
            _, _, _, _, self.infos = self.env.step(acts)
        return time.perf_counter() - t0


class _BatchedDays:
    """``B`` batched museum days stepped with random valid actions."""

    def __init__(self, num_days: int, device: str) -> None:
        t0 = time.perf_counter()
        self.env = BatchedMuseumEnv("museum-small", num_days=num_days, seed=0, device=device)
        _, self.infos = self.env.reset()
        self.reset_s = time.perf_counter() - t0
        self.gen = torch.Generator(device=device).manual_seed(1)
        self.device = device

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def ticks(self, n: int) -> float:
        self._sync()
        t0 = time.perf_counter()
        for _ in range(n):
            mask = self.infos["action_mask"]
            scores = torch.rand(mask.shape, generator=self.gen, device=mask.device) * mask
            _, _, _, _, self.infos = self.env.step(scores.argmax(dim=-1))
        self._sync()
        return time.perf_counter() - t0


def run(sizes: list[int], device: str = "cpu", repeats: int = 3) -> dict:
    """Env steps/s of the batched museum per batch size, and its ratio to the numpy env."""
    out: dict = {"device": device, "torch_threads": torch.get_num_threads(), "ticks_per_repeat": TICKS, "sizes": {}}
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name()
    for b in sizes:
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        batched, numpy_day = _BatchedDays(b, device), _NumpyDay()
        batched.ticks(WARM_MINUTE)
        numpy_day.ticks(WARM_MINUTE)
        ours, theirs = [], []
        for _ in range(repeats):
            ours.append(b * TICKS / batched.ticks(TICKS))
            theirs.append(TICKS / numpy_day.ticks(TICKS))
        row = {
            "env_steps_per_s": statistics.median(ours),
            "numpy_env_steps_per_s": statistics.median(theirs),
            "ratio": statistics.median(ours) / statistics.median(theirs),
            "reset_seconds": batched.reset_s,
            "minutes_timed": [WARM_MINUTE, WARM_MINUTE + repeats * TICKS],
        }
        if device.startswith("cuda"):
            row["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        else:
            row["rss_mib"] = _rss_mib()
        out["sizes"][str(b)] = row
        print(
            f"B={b:>5}  {row['env_steps_per_s']:>10.0f} env steps/s  (numpy env {row['numpy_env_steps_per_s']:.0f}/s, "
            f"x{row['ratio']:.0f}); reset {row['reset_seconds']:.1f} s",
            flush=True,
        )
        del batched, numpy_day
    return out


def main() -> None:
    """Command line: print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", default="1024,2048,4096,8192")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    res = run([int(s) for s in args.sizes.split(",")], args.device, args.repeats)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
