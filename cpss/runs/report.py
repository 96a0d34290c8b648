"""Reports of sweeps and training runs: figures with 95% confidence bands and a Markdown page.

Used by ``cpss report DIR``. ``DIR`` is one of:

* a sweep folder (``results.csv`` + ``sweep.json``): for every grid key that varies, one figure
  per metric of the metric against that key, with one line per combination of the other
  varying keys (e.g. per policy) and a band of the 95% Student-t interval across seeds
  (categorical keys such as an ablation axis get points with error bars); a table of means and
  intervals per grid point; when the results hold the externality metrics (docs/metrics.md), an
  "Externalities and fairness" section of their means and intervals; the failed runs with their
  errors; each invocation as a command line and the resolved base config;
* a training run folder (``config.json`` + ``metrics.csv``), or a folder of them: the learning
  curves, averaged across the runs of one algorithm (seeds) with a 95% band when there are
  several, a table of final returns, and the resolved configs.

``report.md`` (and with ``html=True`` ``report.html``) and the ``fig_*.png`` figures it links are
written to ``DIR`` or to ``out``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpss.kit.config import ConfigError
from cpss.kit.render import plt
from cpss.kit.stats import mean_ci
from cpss.runs.markup import Block, to_html, to_markdown
from cpss.runs.runio import atomic_write_text, read_json, read_status

"""A piece of the report: ("h1"|"h2"|"p"|"code"|"img"|"table"|"details", payload)."""


# ---- statistics and labels ---------------------------------------------------------------
def mean_ci_frame(frame: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Mean, 95% t-interval half-width and n of ``metric`` per group of ``by``."""
    rows = []
    for key, group in frame.groupby(by, sort=True, dropna=False):
        values = group[metric].dropna().to_numpy(dtype=float)
        if len(values):
            mean, half = mean_ci(values)
            rows.append(
                {
                    **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                    "mean": mean,
                    "ci95": half,
                    "n": len(values),
                }
            )
    return pd.DataFrame(rows)


def toml_value(value: Any) -> str:
    """A value as typed on the command line (TOML literal; bare word for simple strings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if re.fullmatch(r"[A-Za-z_][\w\-]*", value) else json.dumps(value)
    return repr(value)


def label(value: Any) -> str:
    """A short label of a grid value; JSON tables (ablation points) read ``crowd=0``, ``{}`` reads ``base``."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            table = json.loads(value)
        except json.JSONDecodeError:
            return value
        return ", ".join(f"{k}={toml_value(v)}" for k, v in table.items()) or "base"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def _numeric(series: pd.Series) -> bool:
    return pd.to_numeric(series, errors="coerce").notna().all()


def _fmt(mean: float, half: float) -> str:
    return f"{mean:.3f} ± {half:.3f}" if np.isfinite(half) else f"{mean:.3f}"


# ---- sweeps -------------------------------------------------------------------------------
def _command(inv: dict[str, Any]) -> str:
    parts = ["cpss sweep", inv["scenario"]]
    if inv.get("config"):
        parts += ["--config", str(inv["config"])]
    parts += [f"--set {s}" for s in inv.get("set", [])]
    if inv.get("checkpoint"):
        path = Path(inv["checkpoint"])
        parts += ["--checkpoint", str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)]
    elif len(inv["policies"]) > 1:
        parts.append("--grid policy=" + ",".join(inv["policies"]))
    else:
        parts += ["--policy", inv["policies"][0]]
    parts += [f"--grid '{k}=" + ",".join(toml_value(v) for v in vals) + "'" for k, vals in inv["grid"].items()]
    parts.append(f"--seeds {inv['seeds']}")
    return " ".join(parts)


def _order(spec: dict[str, Any], key: str) -> list[str]:
    """Labels of a grid key's values in the order the sweep commands gave them."""
    from cpss.runs.sweep import cell

    out: list[str] = []
    for inv in spec["invocations"]:
        values = inv["policies"] if key == "policy" else inv["grid"].get(key, [])
        out += [v for v in (label(cell(v)) for v in values) if v not in out]
    return out


def _plot_metric(done: pd.DataFrame, x: str, others: list[str], metric: str, path: Path, order: list[str]) -> None:
    numeric = _numeric(done[x])
    frame = done.assign(**{x: pd.to_numeric(done[x]) if numeric else done[x].map(label)})
    stats = mean_ci_frame(frame, [x, *others], metric)
    fig, ax = plt.subplots(figsize=(6.4, 4), dpi=100)
    groups = list(stats.groupby(others, sort=True)) if others else [((), stats)]
    present = set(frame[x])
    categories = [c for c in order if c in present] + sorted(present - set(order)) if not numeric else []
    width = 0.6 / len(groups)
    for i, (key, group) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join(label(v) if o == "policy" else f"{o}={label(v)}" for o, v in zip(others, key, strict=True))
        half = group["ci95"].fillna(0.0).to_numpy()
        if numeric:
            group = group.sort_values(x)
            half = group["ci95"].fillna(0.0).to_numpy()
            line = ax.plot(group[x], group["mean"], "o-", ms=3, label=name or metric)[0]
            ax.fill_between(group[x], group["mean"] - half, group["mean"] + half, alpha=0.2, color=line.get_color())
        else:
            pos = np.array([categories.index(c) for c in group[x]]) + (i - (len(groups) - 1) / 2) * width
            ax.errorbar(pos, group["mean"], yerr=half, fmt="o", capsize=3, label=name or metric)
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=20, ha="right", fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(metric.replace("_", " "))
    n = int(stats["n"].max()) if len(stats) else 0
    ax.set_title(f"{metric.replace('_', ' ')} vs {x} (mean, 95% CI over {n} seeds)", fontsize=9)
    ax.grid(alpha=0.3)
    if others:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _means_table(done: pd.DataFrame, varying: list[str], metrics: list[str], spec: dict[str, Any]) -> pd.DataFrame:
    """One row per grid point: ``n`` runs and ``mean ± ci95`` per metric (NaN runs left out, then counted)."""
    keys = varying or ["runs"]
    frame = done.assign(**{k: done[k].map(label) for k in varying}) if varying else done.assign(runs="all")
    table = frame.groupby(keys, sort=True, dropna=False).size().rename("n").reset_index()
    for metric in metrics:
        stats = {tuple(r[k] for k in keys): r for r in mean_ci_frame(frame, keys, metric).to_dict("records")}
        rows = table[keys].itertuples(index=False, name=None)
        cells = [(stats.get(key), n) for key, n in zip(rows, table["n"], strict=True)]
        table[metric] = [
            "n/a" if r is None else _fmt(r["mean"], r["ci95"]) + (f" (n={r['n']})" if r["n"] < n else "")
            for r, n in cells
        ]
    rank = {k: {v: i for i, v in enumerate(_order(spec, k))} for k in varying if not _numeric(done[k])}
    if rank:
        table = table.sort_values([*varying], key=lambda col: col.map(rank[col.name]) if col.name in rank else col)
    return table


FAIRNESS = ("sat_guided", "sat_unguided", "wait_guided", "wait_unguided", "welfare_total", "welfare_guided")
FAIRNESS += ("welfare_unguided", "gini_views")
"""The externality metrics of a report's "Externalities and fairness" section (docs/metrics.md)."""


def fairness_blocks(done: pd.DataFrame, varying: list[str], spec: dict[str, Any]) -> list[Block]:
    """The "Externalities and fairness" section, when the results hold those metrics (else nothing)."""
    main = [m for m in FAIRNESS if m in done]
    if not main or not len(done):
        return []
    groups = [c for c in done if c.startswith(("sat_style_", "sat_group_"))]
    blocks: list[Block] = [
        ("h2", "Externalities and fairness"),
        (
            "p",
            "What guidance does to others (definitions: docs/metrics.md): satisfaction (`sat_*`) and minutes "
            "queued per visitor (`wait_*`) of guided visitors (their group carries a mobile guide) and of "
            "unguided ones, total satisfaction (`welfare_*`) of everyone and of each side, and the Gini "
            "coefficient of views over exhibits. Mean ± 95% CI across seeds; a mean over an empty set of "
            "visitors is undefined (NaN) and left out: the cell says over how many runs (n=...), or n/a.",
        ),
        ("table", _means_table(done, varying, main, spec)),
    ]
    if groups:
        blocks += [
            ("p", "Satisfaction per visiting style and per group size (1, 2, 3 or more):"),
            ("table", _means_table(done, varying, groups, spec)),
        ]
    return blocks


def _safe(name: str) -> str:
    return re.sub(r"[^\w]+", "_", name).strip("_")


def sweep_report(folder: Path, out: Path, metrics: list[str] | None = None, xs: list[str] | None = None) -> list[Block]:
    """Figures and blocks of a sweep folder's report."""
    import scenarios
    from cpss.runs.sweep import RESULTS, SPEC, grid_keys

    results = pd.read_csv(folder / RESULTS)
    spec = json.loads((folder / SPEC).read_text())
    scenario = spec["invocations"][0]["scenario"]
    done = results[results["status"] == "done"]
    failed = results[results["status"] == "failed"]
    candidates = [k for k in ("policy", *grid_keys(folder), "config_id") if k in results]
    varying = [k for k in candidates if done[k].nunique(dropna=False) > 1]
    if metrics is None:
        metrics = ["return", *scenarios.scenario_class(scenario).headline_metrics]
    unknown = [m for m in metrics if m not in results]
    if unknown:
        raise ConfigError(f"--metric {unknown[0]}: not a column of {folder / RESULTS}")
    blocks: list[Block] = [
        ("h1", f"Sweep report: {scenario} ({folder.name})"),
        (
            "p",
            f"{len(done)} runs done, {len(failed)} failed, seeds per grid point: "
            f"{done.groupby(varying).size().max() if varying and len(done) else len(done)}. "
            f"Bands and error bars are 95% Student-t confidence intervals of the mean across seeds; "
            f"the seed fixes the day, so every grid point sees the same days.",
        ),
        ("h2", "Commands"),
        ("code", "\n".join(dict.fromkeys(_command(inv) for inv in spec["invocations"]))),
    ]
    constant = {k: label(done[k].iloc[0]) for k in candidates if k not in varying and len(done) and k != "config_id"}
    if constant:
        blocks.append(("p", "Fixed in every run: " + ", ".join(f"`{k}` = {v}" for k, v in constant.items())))
    bad = [x for x in xs or [] if x not in varying]
    if bad:
        raise ConfigError(f"--x {bad[0]}: not a grid key that varies in this sweep ({', '.join(varying)})")
    if len(done) and varying:
        blocks.append(("h2", "Figures"))
        for x in xs or varying:
            others = [k for k in varying if k != x]
            for metric in metrics:
                path = out / f"fig_{_safe(x)}__{metric}.png"
                _plot_metric(done, x, others, metric, path, _order(spec, x))
                blocks.append(("img", (path.name, f"{metric} vs {x}")))
        blocks.append(("h2", "Means and 95% confidence intervals"))
        blocks.append(("table", _means_table(done, varying, metrics, spec)))
    blocks += fairness_blocks(done, varying, spec)
    if len(failed):
        cols = [c for c in ("run_id", *varying, "seed", "error") if c in failed]
        blocks += [
            ("h2", f"Failed runs ({len(failed)}; rerun the sweep command to retry them)"),
            ("table", failed[cols].head(20)),
        ]
    blocks.append(("h2", "Resolved base configs"))
    for config_id, config in spec["configs"].items():
        blocks.append(("details", (f"config {config_id}", json.dumps(config, indent=1))))
    return blocks


# ---- training runs --------------------------------------------------------------------------
def _runs(target: Path) -> list[Path]:
    def is_run(p: Path) -> bool:
        return (p / "config.json").is_file() and (p / "metrics.csv").is_file()

    runs = [target] if is_run(target) else sorted(p for p in target.iterdir() if p.is_dir() and is_run(p))
    return [p for p in runs if "env_steps" in pd.read_csv(p / "metrics.csv", nrows=1)]


def training_report(runs: list[Path], out: Path) -> list[Block]:
    """Figures and blocks of a report on training runs (learning curves across seeds)."""
    info = []
    for run in runs:
        cfg = read_json(run / "config.json", ("algo",), what="a training run")
        hist = pd.read_csv(run / "metrics.csv").dropna(subset=["return"])
        summary = read_json(run / "summary.json") if (run / "summary.json").is_file() else {}
        group = f"{cfg['algo']}" + (" (rllib)" if cfg.get("backend") == "rllib" else "")
        status = read_status(run)["state"]
        info.append({"run": run, "cfg": cfg, "hist": hist, "summary": summary, "group": group, "status": status})
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    rows, finals = [], {}
    for group, members in itertools.groupby(sorted(info, key=lambda r: r["group"]), key=lambda r: r["group"]):
        members = [m for m in members if len(m["hist"])]
        if not members:
            continue
        curves = [
            (m["hist"]["env_steps"].to_numpy(), m["hist"]["return"].rolling(10, min_periods=1).mean().to_numpy())
            for m in members
        ]
        end = min(c[0][-1] for c in curves)
        grid = np.linspace(max(c[0][0] for c in curves), end, 100) if end > 0 else np.array([0.0])
        stack = np.array([np.interp(grid, steps, ret) for steps, ret in curves])
        stats = [mean_ci(stack[:, j]) for j in range(len(grid))]
        mean = np.array([s[0] for s in stats])
        half = np.nan_to_num(np.array([s[1] for s in stats]))
        line = ax.plot(grid, mean, label=f"{group} (n={len(members)})")[0]
        ax.fill_between(grid, mean - half, mean + half, alpha=0.2, color=line.get_color())
        finals[group] = mean_ci([float(m["hist"]["return"].tail(10).mean()) for m in members])
        for m in members:
            rows.append(
                {
                    "run": m["run"].name,
                    "algorithm": group,
                    "seed": m["cfg"].get("seed"),
                    "env_steps": int(m["hist"]["env_steps"].iloc[-1]),
                    "final return (mean of last 10 rows)": round(float(m["hist"]["return"].tail(10).mean()), 4),
                    "wall s": round(float(m["summary"].get("wall_seconds", float("nan"))), 1),
                    "status": m["status"],
                }
            )
    ax.set_xlabel("env steps")
    ax.set_ylabel("training return (mean of 10)")
    ax.set_title("learning curves (mean, 95% CI across runs)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "fig_learning_curves.png")
    plt.close(fig)
    blocks: list[Block] = [
        ("h1", f"Training report ({len(runs)} run{'s' if len(runs) != 1 else ''})"),
        (
            "p",
            "Training return per logged row (an episode or an update), smoothed over 10 rows; with several "
            "runs of one algorithm, their mean and 95% Student-t interval on a common grid of env steps.",
        ),
        ("img", ("fig_learning_curves.png", "learning curves")),
        ("p", "Final return per algorithm: " + "; ".join(f"{g}: {_fmt(*v)}" for g, v in finals.items())),
        ("table", pd.DataFrame(rows)),
        ("h2", "Resolved configs"),
    ]
    for m in info:
        cfg = {k: v for k, v in m["cfg"].items() if k != "versions"}
        blocks.append(("details", (f"{m['run'].name}", json.dumps(cfg, indent=1))))
    return blocks


def make_report(
    target: Path,
    out: Path | None = None,
    *,
    html: bool = False,
    metrics: list[str] | None = None,
    xs: list[str] | None = None,
    force: bool = False,
) -> Path:
    """Write the report of a sweep folder, a training run folder or a folder of training runs.

    The report is assembled in a hidden temporary folder and moved into place when complete,
    ``report.md`` last, so a failure leaves the previous report (or none) intact.

    Args:
        target: The folder to report on.
        out: Where ``report.md`` and the figures go (default: ``target``, replacing its report).
        html: Also write ``report.html``.
        metrics: Sweep metrics to plot (default: ``return`` and the scenario's headline metrics).
        xs: Sweep keys to put on the x axis (default: every grid key that varies).
        force: Replace a report that ``out`` already holds.

    Returns:
        The path of ``report.md``.
    """
    from cpss.runs.runio import check_out, run_folder

    if not target.is_dir():
        raise ConfigError(f"{target}: no such folder")
    if out is not None and (out.is_symlink() or (out.exists() and not out.is_dir())):
        raise ConfigError(f"--out {out}: not a folder")
    if out is not None and (out / "report.md").exists() and not force:
        raise ConfigError(f"--out {out}: already holds a report; pass --force to replace it")
    dest = out or target
    if not dest.exists():
        check_out(dest)
        with run_folder(dest) as tmp:
            _write_report(target, tmp, html, metrics, xs)
        return dest / "report.md"
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".report.", suffix=".partial"))
    try:
        _write_report(target, staging, html, metrics, xs)
        for path in sorted(staging.iterdir(), key=lambda p: p.name == "report.md"):
            os.replace(path, dest / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest / "report.md"


def _write_report(target: Path, out: Path, html: bool, metrics: list[str] | None, xs: list[str] | None) -> None:
    from cpss.runs.sweep import RESULTS, SPEC

    if (target / RESULTS).is_file() and (target / SPEC).is_file():
        blocks = sweep_report(target, out, metrics, xs)
    else:
        runs = _runs(target)
        if not runs:
            raise ConfigError(f"{target}: neither a sweep folder (results.csv) nor training runs (metrics.csv)")
        blocks = training_report(runs, out)
    atomic_write_text(out / "report.md", to_markdown(blocks))
    if html:
        atomic_write_text(out / "report.html", to_html(blocks))
