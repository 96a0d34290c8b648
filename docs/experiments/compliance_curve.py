"""The compliance curve: crowding, waits and satisfaction against the share of visitors who follow crowd-aware guidance.

The share is ``guides.device_share``, the share of groups whose leader carries a guide (companions
follow their leader). Every point has guide slots for everyone who wants one
(``guides.count`` = :data:`SLOTS`; the script reports the most device holders ever waiting for a
slot, which must be 0), so the share alone changes. A guided visitor still accepts each
recommendation with the probability the visitor model gives (``f.accept_*``, about 0.75).
Raising the share keeps the visitors of a day and hands devices to more of its groups (the
groups guided at a share are guided at every higher share: the same uniform draw per group is
compared with the share), so each point is a paired difference to share 0 (no guidance) on the
same days (seeds ``0 .. days-1``), with 95% Student-t intervals (:func:`cpss.kit.stats.mean_ci`).
Runs the batched engine (:mod:`cpss.batched`) for ``crowd_aware`` and ``crowd_coordinated``
guides, and crowd-blind ``interest`` guides for reference.

Writes ``compliance-curve/results.csv`` (every metric of
:func:`herding.run_days`, level and paired difference), ``compliance-curve/rooms.csv`` (each
room's mean occupancy and share of the day crowded, at shares 0 and 1),
``compliance-curve/table.md`` and ``compliance-curve/curve.png`` next to this script, and prints
the Markdown tables.

Usage: ``python docs/experiments/compliance_curve.py [--days 60] [--configs museum-busy,museum-small]``
(about 4 minutes on one CPU core; ``--device cuda`` runs it on a GPU).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from herding import fmt, run_days, write_csv  # noqa: E402

import scenarios  # noqa: E402
from cpss.kit.stats import mean_ci  # noqa: E402

OUT = HERE / "compliance-curve"
SHARES = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
POLICIES = ("crowd_aware", "crowd_coordinated", "interest")
SLOTS = {"museum-busy": 150, "museum-small": 60}
"""Guide slots per config: more than the most groups with a device ever inside at once."""
SHOWN = (
    ("congestion_minutes", "in crowded rooms (visitor-min)", 0),
    ("entry_queue_minutes", "held at the entrance (visitor-min)", 0),
    ("crowded_total", "both (visitor-min)", 0),
    ("crowded_share", "share of time inside spent crowded", 3),
    ("mean_wait", "queue wait per view (min)", 3),
    ("mean_satisfaction", "satisfaction", 3),
)


def curve(config: str, days: int, chunk: int, device: str) -> tuple[list[dict], list[dict]]:
    """Rows of paired differences to share 0 for each policy and share, and per-room rows at shares 0 and 1."""
    runs, rooms = {}, []
    for share in SHARES:
        for policy in POLICIES if share > 0 else POLICIES[:1]:  # at share 0 no guide acts: one run
            guides = {"count": SLOTS[config], "device_share": share}
            cfg = scenarios.load_config("museum", config, {"guides": guides})
            occupancy, runs[policy, share] = run_days(cfg, policy, days, chunk=chunk, device=device)
            if share in (0.0, 1.0):
                crowded = occupancy > cfg.floor.room_area * cfg.crowd.rho_star
                name = "none" if share == 0 else policy
                for z in range(occupancy.shape[2]):
                    rooms.append(
                        {
                            "config": config,
                            "policy": name,
                            "share": share,
                            "room": z,
                            "mean_occupancy": float(occupancy[:, :, z].mean()),
                            "crowded_time": float(crowded[:, :, z].mean()),
                        }
                    )
    base = runs[POLICIES[0], 0.0]
    rows = []
    for policy in POLICIES:
        for share in SHARES:
            met = base if share == 0 else runs[policy, share]
            row = {"config": config, "policy": policy, "share": share}
            for key in met:
                m, h = mean_ci(met[key] - base[key])
                row[key], row[f"{key}_diff"], row[f"{key}_diff_ci"] = float(met[key].mean()), m, h
            row["unserved_peak"] = float(met["unserved_peak"].max())
            rows.append(row)
    return rows, rooms


def room_table(rooms: list[dict]) -> str:
    """Markdown: each room's mean occupancy and share of time crowded, without guides and with everyone guided."""
    arms = list(dict.fromkeys(r["policy"] for r in rooms))
    n_rooms = max(r["room"] for r in rooms) + 1
    lines = [
        f"**{rooms[0]['config']}, rooms**: mean occupancy (share of the day crowded) without guides and with every "
        "group guided\n",
        "| room | " + " | ".join(arms) + " |",
        "|---|" + "---|" * len(arms),
    ]
    for z in range(n_rooms):
        cells = [next(f"{r['mean_occupancy']:.1f} ({r['crowded_time']:.2f})" for r in rooms
                      if r["room"] == z and r["policy"] == a) for a in arms]  # fmt: skip
        lines.append(f"| {z} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(rows: list[dict], days: int) -> str:
    """The Markdown table of one config's curve."""
    head = "| policy | share guided | " + " | ".join(title for _, title, _ in SHOWN) + " |"
    lines = [
        f"**{rows[0]['config']}** ({days} paired days; each cell: level, then the paired difference to share 0 "
        "with its 95% CI)\n",
        head,
        "|---|---|" + "---|" * len(SHOWN),
    ]
    for r in rows:
        if r["share"] == 0 and r["policy"] != POLICIES[0]:
            continue
        name = "none (share 0)" if r["share"] == 0 else f"`{r['policy']}`"
        cells = []
        for key, _, digits in SHOWN:
            level = f"{r[key]:.{digits}f}"
            diff = fmt(r[f"{key}_diff"], r[f"{key}_diff_ci"], digits)
            cells.append(level if r["share"] == 0 else f"{level} ({diff})")
        lines.append(f"| {name} | {r['share']:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(all_rows: dict[str, list[dict]], days: int) -> None:
    """One row of panels per config: each metric's paired difference to share 0 against the share."""
    configs = list(all_rows)
    fig, axes = plt.subplots(len(configs), len(SHOWN), figsize=(3.4 * len(SHOWN), 3.0 * len(configs)), squeeze=False)
    for r_i, config in enumerate(configs):
        for c_i, (key, title, _) in enumerate(SHOWN):
            ax = axes[r_i, c_i]
            for p_i, policy in enumerate(POLICIES):
                rows = [r for r in all_rows[config] if r["policy"] == policy]
                x = np.array([r["share"] for r in rows])
                m = np.array([r[f"{key}_diff"] for r in rows])
                h = np.array([r[f"{key}_diff_ci"] for r in rows])
                style = "--" if policy == "interest" else "-"
                ax.plot(x, m, style, marker="o", ms=3, color=f"C{p_i}", label=policy)
                ax.fill_between(x, m - h, m + h, color=f"C{p_i}", alpha=0.2)
            ax.axhline(0, color="k", lw=0.5)
            ax.set_title(f"{config}: {title}", fontsize=8)
            ax.set_xlabel("share of groups guided")
            ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel(f"− no guidance (paired, {days} days)")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "curve.png", dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--configs", default="museum-busy,museum-small")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    t0 = time.time()
    all_rows, all_rooms, parts = {}, [], []
    for config in args.configs.split(","):
        rows, rooms = curve(config, args.days, args.chunk, args.device)
        all_rows[config] = rows
        all_rooms += rooms
        parts.append(table(rows, args.days))
        parts.append(room_table(rooms))
        waiting = max(r["unserved_peak"] for r in rows)
        parts.append(f"\nMost groups with a device ever waiting for a free guide: {waiting:g} ({SLOTS[config]} slots).")
        print(f"{config}: done ({time.time() - t0:.0f} s)", file=sys.stderr)
    text = "\n\n".join(parts)
    print(text)
    (OUT / "table.md").write_text(text + "\n")
    write_csv(OUT / "results.csv", [r for rows in all_rows.values() for r in rows])
    write_csv(OUT / "rooms.csv", all_rooms)
    figure(all_rows, args.days)
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
