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
METRICS = ("congestion_minutes", "mean_wait", "mean_satisfaction", "items_per_visitor", "acceptance_rate")
EXTRA = ("entry_queue_minutes", "crowded_total", "visitor_minutes", "crowded_share", "unserved_peak")
START, END_BEFORE = 60, 20  # the steady part of the day (minutes)
ROOMS_SHOWN = (2, 4, 10)
COMPARED = ("interest", "crowd_aware", "crowd_coordinated")
PAIRS = (("crowd_aware", "interest"), ("crowd_coordinated", "interest"), ("crowd_coordinated", "crowd_aware"))


def run_days(
    config: VenueConfig, policy: str, days: int, seed: int = 0, chunk: int = 100, device: str = "cpu"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Room occupancy (ticks, days, rooms) over ``days`` days from ``seed``, and each day's metrics.

    The metrics are :data:`METRICS` of :func:`cpss.batched.io.summary`, plus ``entry_queue_minutes``
    (visitor-minutes held outside a full entrance), ``crowded_total`` (that plus
    ``congestion_minutes``), ``visitor_minutes`` (inside),
    ``crowded_share`` (``congestion_minutes / visitor_minutes``) and ``unserved_peak`` (the most
    visitors with a device waiting for a free guide at any tick).
    """
    occupancy, metrics = [], {k: [] for k in (*METRICS, *EXTRA)}
    for start in range(0, days, chunk):
        w = BatchedVenue(config, min(chunk, days - start), seed=seed + start, policy=policy, device=device)
        ticks, unserved = [], torch.zeros(w.B, dtype=torch.long, device=w.device)
        p = w.pop
        while w.running:
            w.step()
            ticks.append(w.occupancy.to(torch.float64).cpu())
            waiting = w.present & p.has_device & (p.slot < 0) & ~p.leaving
            unserved = torch.maximum(unserved, waiting.view(w.B, w.V).sum(dim=1))
        occ = torch.stack(ticks).numpy()
        occupancy.append(occ)
        s = summary(w)
        for k in METRICS:
            metrics[k].append(s[k].double().cpu().numpy())
        inside = occ.sum(axis=(0, 2)) * w.dt
        metrics["entry_queue_minutes"].append(w.entry_queue_minutes.double().cpu().numpy())
        metrics["crowded_total"].append(metrics["congestion_minutes"][-1] + metrics["entry_queue_minutes"][-1])
        metrics["visitor_minutes"].append(inside)
        metrics["crowded_share"].append(metrics["congestion_minutes"][-1] / np.maximum(inside, 1e-9))
        metrics["unserved_peak"].append(unserved.double().cpu().numpy())
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
    """``+m ± h`` with ``digits`` decimals."""
    return f"{m:+.{digits}f} ± {h:.{digits}f}"


DIFFS = (  # (metric, column title, decimals) of the paired-difference columns
    ("congestion_minutes", "congestion (visitor-min)", 0),
    ("entry_queue_minutes", "held at the entrance (visitor-min)", 0),
    ("crowded_total", "both (visitor-min)", 0),
    ("mean_wait", "wait (min)", 3),
    ("mean_satisfaction", "satisfaction", 3),
)


def paired_cells(met: dict[str, np.ndarray], ref: dict[str, np.ndarray], row: dict, suffix: str = "") -> list[str]:
    """Cells ``mean ± CI`` of the paired differences ``met - ref`` of :data:`DIFFS`; also stored in ``row``."""
    cells = []
    for key, _, digits in DIFFS:
        m, h = mean_ci(met[key] - ref[key])
        row[f"{key}_diff{suffix}"], row[f"{key}_diff{suffix}_ci"] = m, h
        cells.append(fmt(m, h, digits))
    return cells


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows (dicts) as a CSV file, the key columns first."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def compare(days: int, chunk: int, device: str) -> str:
    """``crowd_coordinated`` against ``interest`` and ``crowd_aware`` at the shipped configs; the Markdown table."""
    lines = [
        f"Shipped configs (no sensor delay), {days} paired days; paired difference (95% CI) of the first policy "
        "minus the second\n",
        "| config | policies | " + " | ".join(title for _, title, _ in DIFFS) + " |",
        "|---|---|" + "---|" * len(DIFFS),
    ]
    rows = []
    for name in ("museum-small", "museum-busy"):
        cfg = scenarios.load_config("museum", name)
        met = {p: run_days(cfg, p, days, chunk=chunk, device=device)[1] for p in COMPARED}
        for a, b in PAIRS:
            row = {"config": name, "policy": a, "minus": b}
            cells = paired_cells(met[a], met[b], row)
            rows.append(row)
            lines.append(f"| {name} | `{a}` − `{b}` | " + " | ".join(cells) + " |")
        for p in COMPARED:
            rows.append({"config": name, "policy": p, **{k: float(v.mean()) for k, v in met[p].items()}})
    write_csv(OUT / "compare.csv", rows)
    return "\n".join(lines)


def herding(args: argparse.Namespace, delays: list[int]) -> tuple[str, dict, np.ndarray, np.ndarray]:
    """The herding runs and their Markdown table; also returns the runs for the figures."""
    t0 = time.time()
    base = scenarios.load_config("museum", CONFIG)
    rooms = exhibit_rooms(base)
    occ_interest, _ = run_days(base, "interest", args.days, chunk=args.chunk, device=args.device)
    results: dict[tuple[int, str], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for d in delays:
        for name, (policy, guides) in arms(args.weight, args.temperature).items():
            overrides = {"context": {"sensors": {"delay": float(d)}}, "guides": guides}
            cfg = scenarios.load_config("museum", CONFIG, overrides)
            results[d, name] = run_days(cfg, policy, args.days, chunk=args.chunk, device=args.device)
        print(f"delay {d}: done ({time.time() - t0:.0f} s)", file=sys.stderr)
    rows = []
    lines = [
        f"{CONFIG}, guides.crowd_weight = {args.weight:g}, {args.days} paired days; swing = autocorrelation of the "
        "occupancy changes at lag delay + 1 (negative: the crowd swings); the other columns are paired differences "
        "to `crowd_aware` at the same delay (95% CI)\n",
        "| delay (min) | arm | swing | swing − crowd_aware | " + " | ".join(t for _, t, _ in DIFFS) + " |",
        "|---|---|---|---|" + "---|" * len(DIFFS),
    ]
    blank = " |" * (len(DIFFS) + 1)
    for d in delays:
        m, h = mean_ci(swing(occ_interest, d + 1, rooms))
        lines.append(f"| {d} | `interest` (reads no sensor) | {fmt(m, h)} |" + blank)
        rows.append({"delay": d, "arm": "interest", "swing": m, "swing_ci": h})
        ref_occ, ref_met = results[d, "crowd_aware"]
        ref_sw = swing(ref_occ, d + 1, rooms)
        for name in arms(args.weight, args.temperature):
            occ, met = results[d, name]
            sw = swing(occ, d + 1, rooms)
            m, h = mean_ci(sw)
            row = {"delay": d, "arm": name, "swing": m, "swing_ci": h}
            if name == "crowd_aware":
                lines.append(f"| {d} | `{name}` | {fmt(m, h)} |" + blank)
            else:
                dm, dh = mean_ci(sw - ref_sw)
                row["swing_diff"], row["swing_diff_ci"] = dm, dh
                cells = [fmt(m, h), fmt(dm, dh), *paired_cells(met, ref_met, row)]
                lines.append(f"| {d} | `{name}` | " + " | ".join(cells) + " |")
            row.update({k: float(v.mean()) for k, v in met.items()})
            rows.append(row)
    write_csv(OUT / "results.csv", rows)
    return "\n".join(lines), results, occ_interest, rooms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--delays", default="0,5,10", help="sensor delays in minutes, comma-separated")
    ap.add_argument("--weight", type=float, default=4.0, help="guides.crowd_weight of every crowd-aware arm")
    ap.add_argument("--temperature", type=float, default=0.3, help="guides.spread_temperature of the random arm")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compare", action="store_true", help="skip the comparison at the shipped configs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    t0 = time.time()
    delays = [int(x) for x in args.delays.split(",")]
    parts = []
    if not args.no_compare:
        parts.append("### Policies at the shipped configs\n\n" + compare(args.days, args.chunk, args.device))
        print(f"comparison: done ({time.time() - t0:.0f} s)", file=sys.stderr)
    table, results, occ_interest, rooms = herding(args, delays)
    parts.append("### Herding\n\n" + table)
    text = "\n\n".join(parts)
    print(text)
    (OUT / "table.md").write_text(text + "\n")
    _figures(results, occ_interest, delays, list(arms(args.weight, args.temperature)), rooms, range(1, 16), args)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)


def _figures(results, occ_interest, delays, names, rooms, lags, args) -> None:
    d_show = 5 if 5 in delays else max(delays)
    d_series = max(delays)
    ticks = np.arange(1, occ_interest.shape[0] + 1)
    smooth = np.ones(3) / 3
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, sharey=True)
    for ax, name in zip(axes, ("crowd_aware", "crowd_coordinated"), strict=True):
        occ = results[d_series, name][0]
        for z in ROOMS_SHOWN:
            ax.plot(ticks[1:-1], np.convolve(occ[:, 0, z], smooth, mode="valid"), lw=1, label=f"room {z}")
        ax.axhline(15, color="k", lw=0.6, ls="--")
        ax.set_title(f"{name}, sensor delay {d_series} min (day 0, 3-minute moving average)", fontsize=10)
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
    base = {d: swing(occ_interest, d + 1, rooms) for d in delays}
    for i, name in enumerate(names):
        ms, hs = [], []
        for d in delays:
            m, h = mean_ci(swing(results[d, name][0], d + 1, rooms) - base[d])
            ms.append(m)
            hs.append(h)
        x = np.array(delays) + 0.15 * (i - 1)
        a2.errorbar(x, ms, yerr=hs, marker="o", capsize=3, label=name, color=f"C{i + 1}")
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xlabel("sensor delay (minutes)")
    a2.set_ylabel("swing − interest's swing (paired)")
    a2.set_title(f"guides.crowd_weight = {args.weight:g}, {args.days} days, 95% CI", fontsize=10)
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "swing.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
