"""The ``cpss`` command line: scenarios, simulate, batch, demo, bandits, train, eval, viz, sweep, report.

Bad input (unknown keys, wrong types, out-of-range values, missing files, disconnected floor
plans) prints one line ``error: ...`` naming the field or file and exits with code 2, with
no traceback and no half-written run folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cpss.kit.config import ConfigError
from cpss.runs.calibrate import calibrate_command
from cpss.runs.common import (
    ConfigOpt,
    OneLineErrors,
    OutOpt,
    SeedOpt,
    SetOpt,
    console,
    err_console,
    progress,
    scenario_from_cli,
    summary_table,
    user_errors,
)
from cpss.runs.compare import compare_command

app = typer.Typer(
    cls=OneLineErrors,
    help="cpss-sim: personalisation in cyber-physical-social systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust-checkpoint",
        help="load a raw RLlib checkpoint: unpickling EXECUTES CODE from the run folder; only for folders you trust",
    ),
]


@app.command("scenarios")
def list_scenarios() -> None:
    """List the scenarios and their shipped configs (single-agent Gymnasium envs are marked)."""
    import scenarios

    table = Table(title="scenarios")
    for col in ("name", "configs", "agents", "heuristics", "learning policies"):
        table.add_column(col)
    for name in scenarios.names():
        if name in scenarios.GYM_ONLY:
            table.add_row(name, "-", "single agent (Gymnasium only: scenarios.make_gym)", "-", "-")
            continue
        cls = scenarios.scenario_class(name)
        table.add_row(
            name,
            ", ".join(scenarios.config_names(name)),
            f"{cls.agent_prefix}_*",
            ", ".join(cls.heuristic_policies),
            ", ".join(cls.learner_policies) or "-",
        )
    console.print(table)


@app.command()
@user_errors
def simulate(
    scenario: Annotated[str, typer.Argument(help="scenario name, e.g. museum")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="heuristic personaliser, or a learning one (e.g. ads: explore, ucb1, linucb)"),
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="ticks (default: a day)")] = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    trajectories: Annotated[bool, typer.Option(help="also write trajectories.parquet (museum)")] = False,
) -> None:
    """Simulate one day with heuristic (or online-learning) personalisers and write a run folder."""
    from cpss.runs.logs import check_recordable, write_recorded_run
    from cpss.runs.runio import default_out, run_folder
    from cpss.runs.simulation import day_ticks, run_heuristic, run_learner, write_learner_run, write_run

    scen, root = scenario_from_cli(scenario, config, set_, seed)
    policy = policy or scen.default_policy()
    learning = policy in scen.learner_policies
    if trajectories:
        check_recordable(scen, learning)
    out = out or default_out("simulate", f"{scenario}-{policy}")
    with run_folder(out) as tmp, progress() as bar:
        task = bar.add_task(f"{scenario} / {policy}", total=steps or day_ticks(scen, root))
        if learning:
            env, learner = run_learner(scen, policy, root, steps, on_step=lambda t: bar.update(task, completed=t))
            summary = write_learner_run(tmp, scen, env, learner, policy=policy, seed=root)
        elif trajectories:
            summary = write_recorded_run(tmp, scen, policy, root, steps, lambda t: bar.update(task, completed=t))
        else:
            env = run_heuristic(scen, policy, root, steps, on_step=lambda t: bar.update(task, completed=t))
            summary = write_run(tmp, scen, env, policy=policy, seed=root)
    console.print(
        summary_table({policy: summary}, f"{scenario}: {'learning online' if learning else 'one day'}, seed {root}")
    )
    console.print(f"run folder: {out}")


@app.command()
@user_errors
def batch(
    scenario: Annotated[str, typer.Argument(help="scenario name with a batched engine (museum)")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    policy: Annotated[
        list[str] | None, typer.Option("--policy", help="heuristic policy (repeatable; default: the scenario's)")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, help="days per policy")] = 1000,
    device: Annotated[str, typer.Option("--device", help="torch device: cpu, cuda, cuda:1, ...")] = "cpu",
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="days per tensor program (bounds memory)")] = 2048,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="also evaluate a trained multi-agent run (its config is used)")
    ] = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    trust_checkpoint: TrustOpt = False,
) -> None:
    """Run thousands of days per heuristic in the batched torch engine; paired days, 95% CIs."""
    import scenarios
    from cpss.runs.batch import batch_command

    scenarios.batched_env_class(scenario, "batch")
    if checkpoint is not None and (config or set_):
        raise ConfigError("--checkpoint: the run's own config is used; drop --config and --set")
    scen, root = scenario_from_cli(scenario, config, set_, seed)
    policies = policy if policy is not None else ([] if checkpoint else [scen.default_policy()])
    batch_command(scen, root, policies, checkpoint, days, device, chunk, out, progress, console, trust_checkpoint)


@app.command()
@user_errors
def demo(
    days: Annotated[int, typer.Option("--days", min=1, help="paired days per policy")] = 100,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    device: Annotated[str, typer.Option("--device", help="torch device: cpu, cuda, ...")] = "cpu",
    out: OutOpt = None,
    compare: Annotated[
        str, typer.Option("--compare", help="heuristic compared with interest, e.g. crowd_coordinated")
    ] = "crowd_aware",
) -> None:
    """Crowd-blind (interest) vs crowd-aware guides on many paired days of museum-small and museum-busy.

    Prints, per config, both policies' means and the paired difference with its 95% CI per
    metric (batched engine; day i has the visitors of seed SEED + i). --config runs one config.
    """
    from cpss.runs.demo import DEFAULT_CONFIGS, demo_command

    names = [config] if config else list(DEFAULT_CONFIGS)
    runs = [(Path(name).stem, *scenario_from_cli("museum", name, set_, seed)) for name in names]
    demo_command(runs, days, device, out, progress, console, compare)


@app.command()
@user_errors
def bandits(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="runs per policy (learner seeds 0..N-1)")] = 20,
    pulls: Annotated[int | None, typer.Option("--pulls", min=1, help="pulls per run (default: a day)")] = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="only these policies (repeatable)")] = None,
    out: OutOpt = None,
) -> None:
    """Every bandit policy on the ads scenario over many seeds: regret curves with 95% confidence bands."""
    from cpss.runs.bandits import bandits_command

    scen, _ = scenario_from_cli("ads", config, set_, None)
    bandits_command(scen, policy or list(scen.learner_policies), seeds, pulls, out, progress, console)


def _hyperparams(items: list[str] | None) -> dict[str, Any]:
    from cpss.kit.config import parse_override

    out: dict[str, Any] = {}
    for text in items or []:
        keys, value = parse_override(text, "--hp")
        out[".".join(keys)] = value
    return out


@app.command()
@user_errors
def train(
    scenario: Annotated[str, typer.Argument(help="scenario name, e.g. museum")],
    algo: Annotated[
        str | None, typer.Option("--algo", help="learner name (see agents.available()); a resumed run keeps its own")
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="total env steps")] = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    hp: Annotated[list[str] | None, typer.Option("--hp", help="hyperparameter NAME=VALUE (repeatable)")] = None,
    out: OutOpt = None,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda")] = "cpu",
    resume: Annotated[Path | None, typer.Option("--resume", help="run folder to continue")] = None,
    eval_every: Annotated[int, typer.Option("--eval-every", min=0, help="env steps between evaluations")] = 0,
    eval_episodes: Annotated[int, typer.Option("--eval-episodes", min=1)] = 3,
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="also log to TensorBoard")] = False,
    time_limit: Annotated[float | None, typer.Option("--time-limit", min=1.0, help="seconds of training")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads (1 is fastest here)")] = 1,
    engine: Annotated[
        str, typer.Option("--engine", help="per-agent (PettingZoo env) or batched (museum)")
    ] = "per-agent",
    days: Annotated[int, typer.Option("--days", min=1, help="--engine batched: days stepped together")] = 64,
    backend: Annotated[str, typer.Option("--backend", help="native or rllib (Ray RLlib, PPO)")] = "native",
    policies: Annotated[str, typer.Option("--policies", help="rllib: shared or per-agent")] = "shared",
    workers: Annotated[int, typer.Option("--workers", help="rllib: EnvRunner actors (0: sample in the driver)")] = 0,
    address: Annotated[str | None, typer.Option("--address", help="rllib: Ray cluster address")] = None,
    trust_checkpoint: TrustOpt = False,
) -> None:
    """Train a learner on a scenario; checkpoints, metrics and a learning curve go to a run folder."""
    from cpss.runs.rllib import is_rllib_run, train_command
    from cpss.runs.training import native_train_command

    hyper = _hyperparams(hp)
    if algo is None and resume is None:
        raise ConfigError("--algo: required for a new run (see agents.available())")
    if engine != "per-agent" and backend == "rllib":
        raise ConfigError("--engine batched: only with --backend native")
    if backend not in ("native", "rllib"):
        raise ConfigError(f"--backend: must be native or rllib (got {backend!r})")
    if backend == "rllib" or is_rllib_run(resume):
        return train_command(
            scenario,
            algo=algo,
            steps=steps,
            seed=seed,
            config=config,
            sets=set_,
            hyper=hyper,
            out=out,
            resume=resume,
            eval_every=eval_every,
            eval_episodes=eval_episodes,
            time_limit=time_limit,
            policies=policies,
            workers=workers,
            address=address,
            make_scenario=scenario_from_cli,
            progress=progress,
            console=console,
            trust_checkpoint=trust_checkpoint,
        )
    if workers or address:
        raise ConfigError("--workers/--address: only with --backend rllib (see cpss sweep for parallel runs)")
    return native_train_command(
        scenario,
        algo=algo,
        steps=steps,
        seed=seed,
        config=config,
        sets=set_,
        hyper=hyper,
        out=out,
        device=device,
        resume=resume,
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        tensorboard=tensorboard,
        time_limit=time_limit,
        threads=threads,
        engine=engine,
        days=days,
        make_scenario=scenario_from_cli,
        progress=progress,
        console=console,
    )


@app.command("eval")
@user_errors
def evaluate_cmd(
    target: Annotated[Path, typer.Argument(help="training run folder or checkpoint file")],
    episodes: Annotated[int, typer.Option("--episodes", min=1)] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 100_000,
    trust_checkpoint: TrustOpt = False,
) -> None:
    """Evaluate a trained learner against every heuristic: mean and 95% CI of each metric."""
    from cpss.runs.evaluation import eval_command

    eval_command(target, episodes, seed, trust_checkpoint, console, err_console)


@app.command()
@user_errors
def viz(
    scenario: Annotated[str, typer.Argument(help="scenario name, e.g. museum or workshop")],
    config: ConfigOpt = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="training run folder or checkpoint")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port on localhost")] = 8765,
) -> None:
    """Serve a live browser dashboard of a scenario (Mesa SolaraViz) on localhost; Ctrl-C stops it."""
    from cpss.viz import serve

    code = serve(
        scenario,
        config,
        checkpoint,
        port,
        on_ready=lambda url: console.print(f"dashboard: {url}  (Ctrl-C stops it)", highlight=False, soft_wrap=True),
    )
    if code:
        raise typer.Exit(code=code)


@app.command()
@user_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="scenario name, e.g. museum")],
    grid: Annotated[list[str] | None, typer.Option("--grid", help="KEY=V1,V2,... (repeatable; key policy too)")] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="seeds 0..N-1 per grid point")] = 1,
    policy: Annotated[str | None, typer.Option("--policy", help="heuristic of every run")] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="trained run folder: its policy acts")] = None,
    backend: Annotated[str, typer.Option("--backend", help="local (process pool) or ray")] = "local",
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address (ray://host:10001)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="parallel runs (default: CPUs)")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out: OutOpt = None,
    trust_checkpoint: TrustOpt = False,
) -> None:
    """Run a grid of config values x seeds in parallel; one row per run in results.csv (resumable)."""
    from cpss.runs.sweep import sweep_command

    code = sweep_command(
        scenario,
        config=config,
        sets=set_,
        grid=grid,
        seeds=seeds,
        policy=policy,
        checkpoint=checkpoint,
        trust_checkpoint=trust_checkpoint,
        backend=backend,
        workers=workers,
        address=address,
        out=out,
        console=console,
        err_console=err_console,
    )
    if code:
        raise typer.Exit(code=code)


@app.command()
@user_errors
def report(
    target: Annotated[Path, typer.Argument(help="sweep folder, training run folder, or a folder of runs")],
    out: Annotated[Path | None, typer.Option("--out", help="where report.md and figures go (default: TARGET)")] = None,
    html: Annotated[bool, typer.Option("--html", help="also write report.html")] = False,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="sweep metric to plot (repeatable)")] = None,
    x: Annotated[list[str] | None, typer.Option("--x", help="sweep key on the x axis (repeatable)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the report that --out already holds")] = False,
) -> None:
    """Figures with 95% confidence bands across seeds and a Markdown report of a sweep or of training runs."""
    from cpss.runs.report import make_report

    path = make_report(target, out, html=html, metrics=metric or None, xs=x or None, force=force)
    console.print(f"report: {path}")


app.command("compare")(user_errors(compare_command))
app.command("calibrate")(user_errors(calibrate_command))


def main() -> None:
    """Entry point for ``python -m cpss``."""
    app(prog_name="cpss")


if __name__ == "__main__":
    sys.exit(main())
