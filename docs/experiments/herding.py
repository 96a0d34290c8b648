"""Herding: guides that all react to the same late occupancy readings make the crowd swing between rooms.

For each sensor delay ``d`` (``context.sensors.delay``, minutes) runs museum-busy with crowd-aware
guides (``crowd_aware``: they score rooms on the late reading), coordinated ones
(``crowd_coordinated``: they predict the occupancy from the late reading and the moves of their
own parties, and charge each move the crowding it adds) and coordinated ones that also randomise
(``guides.spread_temperature``), all at one ``guides.crowd_weight``, on the same days (seeds
``0 .. days-1``: the same visitors and the same torch generator seed in every arm), with the
batched engine (:mod:`cpss.batched`). Crowd-blind ``interest`` guides, which read no sensor, give
the level of the swing without feedback.

The oscillation measure is :func:`swing`: the autocorrelation of the minute-to-minute change of
room occupancy at lag ``d + 1``, the length of the feedback loop (guides read at ``t`` what the
rooms held at ``t - d - 1``). A crowd that swings between rooms reverses its changes one loop
later, which makes it negative; visitors moving on their own give about 0 at lags above 2.
Each day gives one value (pooled over the rooms with exhibits, minutes 60 to 20 before closing);
differences between arms are paired by day, with 95% Student-t intervals
(:func:`cpss.kit.stats.mean_ci`).

Writes ``herding/results.csv``, ``herding/table.md``, ``herding/occupancy.png`` (the occupancy
of three rooms over one day, crowd-aware against coordinated guides) and ``herding/swing.png``
(the autocorrelation against the lag, and the swing against the delay) next to this script, and
prints the Markdown table.

Usage: ``python docs/experiments/herding.py [--days 100] [--delays 0,5,10] [--weight 4]`` (about
3 minutes on one CPU core; ``--device cuda`` runs it on a GPU).
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
from cpss.kit.stats import mean_ci  # noqa: E402
from cpss.venue.config import VenueConfig  # noqa: E402

OUT = HERE / "herding"
CONFIG = "museum-busy"
METRICS = ("congestion_minutes", "mean_wait", "mean_satisfaction")
START, END_BEFORE = 60, 20  # the steady part of the day (minutes)
ROOMS_SHOWN = (2, 4, 10)


def run_days(
    config: VenueConfig, policy: str, days: int, seed: int = 0, chunk: int = 100, device: str = "cpu"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Room occupancy (ticks, days, rooms) over ``days`` days from ``seed``, and each day's metrics."""
    occupancy, metrics = [], {k: [] for k in METRICS}
    for start in range(0, days, chunk):
        w = BatchedVenue(config, min(chunk, days - start), seed=seed + start, policy=policy, device=device)
        ticks = []
        while w.running:
            w.step()
            ticks.append(w.occupancy.to(torch.float64).cpu())
        occupancy.append(torch.stack(ticks).numpy())
        s = summary(w)
        for k in METRICS:
            metrics[k].append(s[k].double().cpu().numpy())
    return np.concatenate(occupancy, axis=1), {k: np.concatenate(v) for k, v in metrics.items()}


def _changes(occupancy: np.ndarray, rooms: np.ndarray | None) -> np.ndarray:
    """Minute-to-minute changes of the rooms' occupancy in the steady part of the day, centred per room."""
    ticks = occupancy.shape[0]
    x = occupancy[START : ticks - END_BEFORE]
    if rooms is not None:
        x = x[:, :, rooms]
    d = np.diff(x, axis=0)
    return d - d.mean(axis=0, keepdims=True)


def acf(occupancy: np.ndarray, lags: range, rooms: np.ndarray | None = None) -> np.ndarray:
    """(lags, days) autocorrelation of the occupancy changes, pooled over the rooms of each day."""
    d = _changes(occupancy, rooms)
    var = (d * d).sum(axis=(0, 2))
    return np.stack([(d[lag:] * d[:-lag]).sum(axis=(0, 2)) / np.maximum(var, 1e-12) for lag in lags])


def swing(occupancy: np.ndarray, lag: int, rooms: np.ndarray | None = None) -> np.ndarray:
    """(days,) the oscillation measure: autocorrelation of the occupancy changes at ``lag`` (negative: a swing)."""
    return acf(occupancy, range(lag, lag + 1), rooms)[0]


def exhibit_rooms(config: VenueConfig) -> np.ndarray:
    """The rooms that hold exhibits (the entrance hall and empty rooms only pass people on)."""
    from cpss.venue.model import VenueModel

    fl = VenueModel(config).floor
    return np.unique(fl.item_zone)


def arms(weight: float, temperature: float) -> dict[str, tuple[str, dict]]:
    """Arm name -> (policy, guides overrides)."""
    return {
        "crowd_aware": ("crowd_aware", {"crowd_weight": weight}),
        "crowd_coordinated": ("crowd_coordinated", {"crowd_weight": weight}),
        f"crowd_coordinated τ={temperature:g}": (
            "crowd_coordinated",
            {"crowd_weight": weight, "spread_temperature": temperature},
        ),
    }


def fmt(m: float, h: float, digits: int = 3) -> str:
    return f"{m:+.{digits}f} ± {h:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--delays", default="0,5,10", help="sensor delays in minutes, comma-separated")
    ap.add_argument("--weight", type=float, default=4.0, help="guides.crowd_weight of every crowd-aware arm")
    ap.add_argument("--temperature", type=float, default=0.3, help="guides.spread_temperature of the random arm")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    delays = [int(x) for x in args.delays.split(",")]
    t0 = time.time()
    base = scenarios.load_config("museum", CONFIG)
    rooms = exhibit_rooms(base)
    occ_interest, _ = run_days(base, "interest", args.days, chunk=args.chunk, device=args.device)
    lags = range(1, 16)
    results: dict[tuple[int, str], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for d in delays:
        for name, (policy, guides) in arms(args.weight, args.temperature).items():
            overrides = {"context": {"sensors": {"delay": float(d)}}, "guides": guides}
            cfg = scenarios.load_config("museum", CONFIG, overrides)
            results[d, name] = run_days(cfg, policy, args.days, chunk=args.chunk, device=args.device)
        print(f"delay {d}: done ({time.time() - t0:.0f} s)", file=sys.stderr)
    names = list(arms(args.weight, args.temperature))
    rows, lines = [], []
    lines.append(
        f"{CONFIG}, guides.crowd_weight = {args.weight:g}, {args.days} paired days; swing = autocorrelation of "
        "the occupancy changes at lag delay + 1 (negative: the crowd swings)\n"
    )
    lines.append("| delay (min) | arm | swing | − crowd_aware (paired) | congestion − crowd_aware | "
                 "satisfaction − crowd_aware | wait − crowd_aware |")  # fmt: skip
    lines.append("|---|---|---|---|---|---|---|")
    for d in delays:
        sw_interest = swing(occ_interest, d + 1, rooms)
        m, h = mean_ci(sw_interest)
        lines.append(f"| {d} | interest (no feedback) | {fmt(m, h)} | | | | |")
        rows.append({"delay": d, "arm": "interest", "swing": m, "swing_ci": h})
        ref_occ, ref_met = results[d, "crowd_aware"]
        ref_sw = swing(ref_occ, d + 1, rooms)
        for name in names:
            occ, met = results[d, name]
            sw = swing(occ, d + 1, rooms)
            m, h = mean_ci(sw)
            row = {"delay": d, "arm": name, "swing": m, "swing_ci": h}
            cells = [fmt(m, h)]
            if name == "crowd_aware":
                cells += ["", "", "", ""]
            else:
                for key, diff, digits in (
                    ("swing", sw - ref_sw, 3),
                    ("congestion_minutes", met["congestion_minutes"] - ref_met["congestion_minutes"], 0),
                    ("mean_satisfaction", met["mean_satisfaction"] - ref_met["mean_satisfaction"], 3),
                    ("mean_wait", met["mean_wait"] - ref_met["mean_wait"], 3),
                ):
                    dm, dh = mean_ci(diff)
                    row[f"{key}_diff"], row[f"{key}_diff_ci"] = dm, dh
                    cells.append(fmt(dm, dh, digits))
            for key in METRICS:
                row[key] = float(met[key].mean())
            rows.append(row)
            lines.append(f"| {d} | {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    (OUT / "table.md").write_text(table + "\n")
    with open(OUT / "results.csv", "w", newline="") as fh:
        keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("delay", "arm"), k))
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    _figures(results, occ_interest, delays, names, rooms, lags, args)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)


def _figures(results, occ_interest, delays, names, rooms, lags, args) -> None:
    d_show = 5 if 5 in delays else max(delays)
    ticks = np.arange(1, occ_interest.shape[0] + 1)
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, sharey=True)
    for ax, name in zip(axes, ("crowd_aware", "crowd_coordinated"), strict=True):
        occ = results[d_show, name][0]
        for z in ROOMS_SHOWN:
            ax.plot(ticks, occ[:, 0, z], lw=1, label=f"room {z}")
        ax.axhline(15, color="k", lw=0.6, ls="--")
        ax.set_title(f"{name}, sensor delay {d_show} min (day 0)", fontsize=10)
        ax.set_ylabel("visitors in room")
    axes[0].legend(ncol=3, fontsize=8, loc="upper left")
    axes[1].set_xlabel("minute of the day (dashed: crowded above 15 = 0.5 p/m²)")
    fig.tight_layout()
    fig.savefig(OUT / "occupancy.png", dpi=110)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    lag_list = list(lags)
    curves = [("interest", occ_interest)] + [(n, results[d_show, n][0]) for n in names]
    for name, occ in curves:
        a = acf(occ, lags, rooms)
        m = a.mean(axis=1)
        h = np.array([mean_ci(row)[1] for row in a])
        a1.errorbar(lag_list, m, yerr=h, marker="o", ms=3, capsize=2, label=name)
    a1.axhline(0, color="k", lw=0.5)
    a1.axvline(d_show + 1, color="grey", lw=0.6, ls=":")
    a1.set_ylim(-0.15, 0.1)
    a1.set_xlabel("lag (minutes)")
    a1.set_ylabel("autocorrelation of occupancy changes")
    a1.set_title(f"sensor delay {d_show} min (dotted: lag delay + 1)", fontsize=10)
    a1.legend(fontsize=8)
    for i, name in enumerate(["interest", *names]):
        ms, hs = [], []
        for d in delays:
            occ = occ_interest if name == "interest" else results[d, name][0]
            m, h = mean_ci(swing(occ, d + 1, rooms))
            ms.append(m)
            hs.append(h)
        a2.errorbar(np.array(delays) + 0.15 * (i - 1.5), ms, yerr=hs, marker="o", capsize=3, label=name)
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xlabel("sensor delay (minutes)")
    a2.set_ylabel("swing: autocorrelation at lag delay + 1")
    a2.set_title(f"guides.crowd_weight = {args.weight:g}, {args.days} days, 95% CI", fontsize=10)
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "swing.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
