"""`make bench`: speed as ratios against baselines run side by side in one process.

Every figure is a ratio of two measurements taken interleaved (A, B, A, B, ...) in this process,
several repeats, medians — so machine noise hits both sides alike. Prints a table and writes
``bench/results.json``. Not part of ``make test``.

Usage: ``python bench/run.py [--quick] [--only P1,P2,...,batched] [--device cuda]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import mesa  # noqa: E402
from mesa.discrete_space import CellAgent, Network  # noqa: E402

import scenarios  # noqa: E402
from cpss.venue.model import VenueModel  # noqa: E402

BIG_FLOOR = {"rooms": 60, "exhibits": 300, "topics": 8, "room_area": 4000.0, "layout_seed": 11}
"""museum-large's layout with rooms big enough that 10 000 visitors are all inside after the warm-up."""


def crowd_config(n: int):
    """museum-large's plan with ``n`` visitors who all arrive in the first minute and stay."""
    return scenarios.load_config(
        "museum",
        "museum-large",
        {
            "floor": BIG_FLOOR,
            "visitors": {
                "count": n,
                "budget_median": 10_000.0,
                "budget_sigma": 0.0,
                "attention_floor": 0.0,
                "leave_bias": -50.0,
            },
            "world": {"last_entry_before_close": 479.0},
            "guides": {"count": 32},
        },
    )


# ---------------------------------------------------------------- the bare Mesa baseline
class Walker(CellAgent):
    """A bare Mesa random walker (the P1 baseline)."""

    def __init__(self, model: mesa.Model, cell) -> None:
        super().__init__(model)
        self.cell = cell

    def step(self) -> None:
        """Move to a random neighbouring cell."""
        self.cell = self.cell.neighborhood.select_random_cell()


class RandomWalkModel(mesa.Model):
    """Random walkers on a floor graph, written with Mesa's own API only."""

    def __init__(self, graph, n: int, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.grid = Network(graph, capacity=None, random=self.random)
        cells = list(self.grid.all_cells)
        for i in range(n):
            Walker(self, cells[i % len(cells)])

    def step(self) -> None:
        """Every walker steps, in random order."""
        self.agents.shuffle_do("step")


# ---------------------------------------------------------------- timing helpers
def per_step(make: Callable[[], object], steps: int, warmup: int = 3) -> float:
    """Seconds per ``step()`` of a fresh object (after a warm-up)."""
    obj = make()
    for _ in range(warmup):
        obj.step()
    t0 = time.perf_counter()
    for _ in range(steps):
        obj.step()
    return (time.perf_counter() - t0) / steps


def interleaved(a: Callable[[], float], b: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Medians of ``a()`` and ``b()`` measured alternately."""
    xs, ys = [], []
    for _ in range(repeats):
        xs.append(a())
        ys.append(b())
    return statistics.median(xs), statistics.median(ys)


def numpy_floor(n: int, graph_neighbours: np.ndarray, degree: np.ndarray, features: np.ndarray, steps: int) -> float:
    """Seconds per step of a pure-array update of ``n`` agents (the P3 floor)."""
    rng = np.random.default_rng(0)
    zone = rng.integers(0, degree.size, n)
    fatigue = np.zeros(n)
    interest = rng.random((n, features.shape[1]))
    target = rng.integers(0, features.shape[0], n)
    t0 = time.perf_counter()
    for _ in range(steps):
        zone = graph_neighbours[zone, (rng.random(n) * degree[zone]).astype(np.int64)]
        fatigue = np.minimum(1.0, fatigue + 0.01 * (1.0 + rng.random(n)))
        score = np.einsum("ij,ij->i", interest, features[target])
        target = np.where(score < 0.5, rng.integers(0, features.shape[0], n), target)
    return (time.perf_counter() - t0) / steps


# ---------------------------------------------------------------- the figures
def p1(repeats: int, steps: int) -> dict:
    """Museum model steps/s at 1000 visitors ÷ bare Mesa random walk, same graph and count."""
    cfg = crowd_config(1000)
    graph = VenueModel(cfg, seed=0).floor.graph
    ours, base = interleaved(
        lambda: per_step(lambda: VenueModel(cfg, seed=1), steps, warmup=40),
        lambda: per_step(lambda: RandomWalkModel(graph, 1000, seed=1), steps),
        repeats,
    )
    return {"ratio": base / ours, "target": ">= 3.0", "museum_steps_per_s": 1 / ours, "mesa_steps_per_s": 1 / base}


def p2_p3(repeats: int, steps: int) -> dict:
    """Cost per visitor-step at 10 000 ÷ at 1 000, and at 10 000 ÷ a numpy floor."""
    small, large = crowd_config(1000), crowd_config(10_000)
    model = VenueModel(large, seed=0)
    present = []

    def ours(cfg, n):
        m = VenueModel(cfg, seed=1)
        for _ in range(40):
            m.step()
        present.append(int(m.pop.present.sum()))
        t0 = time.perf_counter()
        for _ in range(steps):
            m.step()
        return (time.perf_counter() - t0) / steps / n

    c1k, c10k = interleaved(lambda: ours(small, 1000), lambda: ours(large, 10_000), repeats)
    feats = model.floor.item_features
    _, floor = interleaved(
        lambda: ours(large, 10_000),
        lambda: numpy_floor(10_000, model.neighbours, model.degree, feats, steps) / 10_000,
        repeats,
    )
    return {
        "P2": {
            "ratio": c10k / c1k,
            "target": "<= 1.3",
            "us_per_visitor_step_1k": c1k * 1e6,
            "us_per_visitor_step_10k": c10k * 1e6,
        },
        "P3": {"ratio": c10k / floor, "target": "<= 5", "numpy_floor_us_per_visitor_step": floor * 1e6},
        "visitors_present_after_warmup": sorted(set(present)),
    }


def _joint_steps_per_s(make_env, steps: int, seed: int = 0, sampler: str = "integers") -> float:
    """Joint steps/s of a ParallelEnv under uniformly random valid actions (resets included).

    A masked agent's action is drawn uniformly from its valid ones: ``sampler="integers"``
    indexes them with ``rng.integers`` (~3 µs), ``"choice"`` calls ``rng.choice`` (~10 µs; the
    sampler before 2026-12-03, kept to compare). Unmasked agents use ``action_space.sample()``.
    """
    env = make_env()
    _, infos = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    n = 0
    t0 = time.perf_counter()
    while n < steps:
        if not env.agents:
            _, infos = env.reset()
        acts = {}
        for a in env.agents:
            mask = infos[a].get("action_mask")
            if mask is None:
                acts[a] = env.action_space(a).sample()
            elif sampler == "choice":
                acts[a] = int(rng.choice(np.flatnonzero(mask)))
            else:
                valid = np.flatnonzero(mask)
                acts[a] = int(valid[rng.integers(valid.size)])
        _, _, _, _, infos = env.step(acts)
        n += 1
    return n / (time.perf_counter() - t0)


def p4(repeats: int, steps: int) -> dict:
    """Museum ParallelEnv (8 guides, 200 visitors) joint steps/s ÷ mpe2 simple_spread_v3 (N=3)."""
    from mpe2 import simple_spread_v3

    museum = lambda: scenarios.make("museum", config="museum-small")  # noqa: E731
    spread = lambda: simple_spread_v3.parallel_env(N=3, max_cycles=25)  # noqa: E731
    ours, theirs = interleaved(
        lambda: _joint_steps_per_s(museum, steps), lambda: _joint_steps_per_s(spread, steps), repeats
    )
    old, theirs_old = interleaved(  # the same with the rng.choice sampler the figure used before 2026-12-03
        lambda: _joint_steps_per_s(museum, steps, sampler="choice"), lambda: _joint_steps_per_s(spread, steps), repeats
    )
    return {
        "ratio": ours / theirs,
        "target": ">= 1.0",
        "museum_joint_steps_per_s": ours,
        "simple_spread_joint_steps_per_s": theirs,
        "ratio_with_rng_choice_sampler": old / theirs_old,
        "museum_joint_steps_per_s_rng_choice_sampler": old,
    }


def p4_performance_benchmark() -> dict:
    """PettingZoo's performance_benchmark (AEC turns and cycles per second, 5 s each)."""
    code = (
        f"import io, contextlib, sys; sys.path.insert(0, {str(HERE.parent)!r})\n"
        "from pettingzoo.test import performance_benchmark\n"
        "from mpe2 import simple_spread_v3\nimport scenarios.museum as m\n"
        "for name, env in (('museum', m.env()), ('simple_spread', simple_spread_v3.env(N=3))):\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf): performance_benchmark(env)\n"
        "    print(name, '|', ' '.join(buf.getvalue().split()))\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120)
    return {line.split("|")[0].strip(): line.split("|")[1].strip() for line in out.stdout.splitlines() if "|" in line}


class TimedEnv:
    """Wraps a ParallelEnv and accumulates the seconds spent in reset/step."""

    def __init__(self, env) -> None:
        self._env, self.seconds = env, 0.0

    def __getattr__(self, name):
        return getattr(self._env, name)

    def reset(self, *a, **k):
        """Timed ``reset``."""
        t0 = time.perf_counter()
        try:
            return self._env.reset(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0

    def step(self, *a, **k):
        """Timed ``step``."""
        t0 = time.perf_counter()
        try:
            return self._env.step(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0

    def state(self):
        """Timed ``state``."""
        t0 = time.perf_counter()
        try:
            return self._env.state()
        finally:
            self.seconds += time.perf_counter() - t0


def p5(steps: int) -> dict:
    """MAPPO training on museum-small: env steps/s and the env's share of the time."""
    import agents

    env = TimedEnv(scenarios.make("museum", config="museum-small"))
    learner = agents.make("mappo", env, seed=0)
    t0 = time.perf_counter()
    learner.learn(steps)
    total = time.perf_counter() - t0
    return {
        "env_steps_per_s": learner.env_steps / total,
        "env_share": env.seconds / total,
        "learner_share": 1 - env.seconds / total,
        "env_steps": learner.env_steps,
    }


def large_day() -> dict:
    """museum-large: wall time of a full day and peak memory (in a fresh process).

    Peak memory is the child's VmHWM: ``ru_maxrss`` would report the parent's size, since Linux
    carries the high-water mark across ``exec``.
    """
    code = (
        f"import time, sys; sys.path.insert(0, {str(HERE.parent)!r})\nimport scenarios\n"
        "from cpss.venue.model import VenueModel\n"
        "t0 = time.perf_counter(); m = VenueModel(scenarios.load_config('museum', 'museum-large'))\n"
        "while m.running: m.step()\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(time.perf_counter() - t0, int(hwm) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    wall, mem = (float(x) for x in out.stdout.split())
    return {"wall_seconds": wall, "peak_rss_mib": mem}


def main() -> None:
    """Run the benchmarks and write bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    parser.add_argument("--only", default="P1,P2,P3,P4,P5,P6,large,batched", help="comma-separated subset")
    parser.add_argument("--device", default="cpu", help="torch device of the batched figure (cpu, cuda)")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args()
    only = set(args.only.split(","))
    reps, steps = (3, 10) if args.quick else (5, 30)
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "repeats": reps,
        "steps_per_repeat": steps,
    }
    if "P1" in only:
        results["P1"] = p1(reps, steps)
    if only & {"P2", "P3"}:
        both = p2_p3(reps, max(5, steps // 3))
        results.update({"P2": both["P2"], "P3": both["P3"]})
        results["visitors_present"] = both["visitors_present_after_warmup"]
    if "P4" in only:
        results["P4"] = p4(reps, 300 if args.quick else 1000)
        results["P4"]["performance_benchmark"] = p4_performance_benchmark()
    if "P5" in only:
        results["P5"] = p5(960 if args.quick else 4800)
    if "P6" in only:
        from training import run as training_run  # bench/training.py

        results["P6"] = training_run(256 if args.quick else 1024, 1, args.device)
        if "P5" in results:
            results["P6"]["ratio_to_P5"] = results["P6"]["env_steps_per_s"] / results["P5"]["env_steps_per_s"]
    if "large" in only:
        results["museum_large_day"] = large_day()
    if "batched" in only:
        from batched import run as batched_run  # bench/batched.py

        sizes = [1024] if args.quick else [1024, 2048, 4096, 8192]
        results["batched"] = batched_run(sizes, args.device, repeats=reps)
    out = Path(args.out)
    if out.is_file() and args.only != parser.get_default("only"):  # a subset updates its figures only
        results = {**json.loads(out.read_text()), **results}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'figure':<6} {'value':>10}  target   details")
    for key in ("P1", "P2", "P3", "P4"):
        if key in results:
            r = results[key]
            extra = {k: round(v, 2) for k, v in r.items() if isinstance(v, float) and k != "ratio"}
            print(f"{key:<6} {r['ratio']:>10.2f}  {r['target']:<7}  {extra}")
    if "P5" in results:
        r = results["P5"]
        print(
            f"P5     {r['env_steps_per_s']:>10.1f}  steps/s  env share {r['env_share']:.0%}, "
            f"learner share {r['learner_share']:.0%}"
        )
    if "P6" in results:
        r = results["P6"]
        ratio = f", x{r['ratio_to_P5']:.0f} P5" if "ratio_to_P5" in r else ""
        print(f"P6     {r['env_steps_per_s']:>10.1f}  steps/s  item_mappo on {r['days']} batched days{ratio}")
    if "museum_large_day" in results:
        r = results["museum_large_day"]
        print(f"large  {r['wall_seconds']:>10.1f}  s/day    peak RSS {r['peak_rss_mib']:.0f} MiB")
    for size, r in results.get("batched", {}).get("sizes", {}).items():
        print(
            f"batch  {r['env_steps_per_s']:>10.0f}  steps/s  {size} days on {results['batched']['device']}, "
            f"x{r['ratio']:.0f} the numpy env"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
