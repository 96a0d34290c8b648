"""Training personalisers with Ray RLlib (PPO, new API stack) through its PettingZoo wrapper.

Used by ``cpss train SCENARIO --backend rllib --algo ppo``. The scenario's ParallelEnv is
wrapped in :class:`ray.rllib.env.wrappers.pettingzoo_env.ParallelPettingZooEnv`; the agents
share one policy (``--policies shared``, parameter sharing) or have one each (``per-agent``).
Sampling runs in the driver (``--workers 0``) or in ``--workers N`` EnvRunner actors, on this
machine or on a Ray cluster (``--address``); the cluster's nodes need cpss-sim installed.

The run folder has the layout of the native learners (``cpss.runs.training``): ``config.json``
(with ``backend: "rllib"`` and ``policies``), ``metrics.csv`` (one row per training iteration:
``env_steps``, ``episode``, ``iteration``, ``return`` = mean over agents of an agent's episode
return, as the native learners log it, and the learner losses), ``eval.csv`` and
``baselines.json`` with ``--eval-every``, ``checkpoints/last`` (a link to
``checkpoints/iteration-N/``, moved atomically after every iteration: ``algo.save_to_path``,
``cpss_progress.json`` and the weights-only policy export ``cpss_policy.json`` and
``cpss_policy.pt``), ``learning_curve.png``, ``summary.json`` and ``status.json``.
:func:`cpss.runs.rllib_modules.load_policy` rebuilds the trained policies from the export,
without Ray and without unpickling anything, and acts with them through the learner interface
(``name``, ``act``), so ``cpss eval``, ``sweep --checkpoint``, ``batch --checkpoint`` and
``viz --checkpoint`` work on an RLlib run. The raw RLlib checkpoint, which ``--resume`` needs,
is a tree of pickles and loads only with ``--trust-checkpoint``. Scenarios with discrete actions
train with their action masks (:mod:`cpss.runs.rllib_masking`: masks in the observations, a PPO
module that gives invalid actions no probability); ``metrics.csv`` counts ``invalid_actions``.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpss.kit.config import ConfigError
from cpss.kit.scenario import Scenario
from cpss.runs.rllib_modules import RLlibPolicy, actor_layers, save_checkpoint
from cpss.runs.rllib_policy import TRUST_FLAG
from cpss.runs.runio import atomic_write_text, versions, write_json
from cpss.runs.training import (
    RLLIB_CHECKPOINT,
    TrainSettings,
    evaluate_policies,
    learning_curve,
    make_env,
    next_multiple,
    read_rows,
    resolve_run,
)

ENV_NAME = "cpss_scenario"
ALGOS = ("ppo",)
POLICIES = ("shared", "per-agent")
LOSSES = ("policy_loss", "vf_loss", "entropy", "mean_kl_loss")


def shared_mapping(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    """Every agent uses the module ``shared``."""
    return "shared"


def per_agent_mapping(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    """Each agent uses the module named after it."""
    return str(agent_id)


def module_ids(scenario: Scenario, policies: str) -> list[str]:
    """RLModule ids: ``["shared"]`` or one per agent id."""
    if policies == "shared":
        return ["shared"]
    return [f"{scenario.agent_prefix}_{k}" for k in range(scenario.n_agents())]


def algo_config(scenario: Scenario, settings: TrainSettings, policies: str, workers: int, masked: bool = True) -> Any:
    """The PPOConfig of a run (new API stack); discrete actions train masked unless ``masked`` is False.

    ``--hp`` names are PPO ``training()`` arguments (``lr``, ``train_batch_size_per_learner``, ...)
    or ``model.<field>`` of RLlib's DefaultModelConfig (e.g. ``model.fcnet_hiddens=[64, 64]``).
    """
    from gymnasium.spaces import Discrete
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    train_hp = {k: v for k, v in settings.hyperparams.items() if not k.startswith("model.")}
    model_hp = {k[6:]: v for k, v in settings.hyperparams.items() if k.startswith("model.")}
    valid = {
        name
        for cls in PPOConfig.__mro__
        if "training" in vars(cls)
        for name in inspect.signature(cls.training).parameters
    } - {"self", "kwargs"}
    model_fields = set(inspect.signature(DefaultModelConfig).parameters)
    unknown = sorted({*(set(train_hp) - valid), *(f"model.{k}" for k in set(model_hp) - model_fields)})
    if unknown:
        raise ConfigError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for rllib ppo; valid: PPOConfig.training() "
            "arguments (lr, gamma, train_batch_size_per_learner, minibatch_size, num_epochs, ...) "
            "and model.<DefaultModelConfig field>"
        )
    from cpss.runs.rllib_masking import MaskedPPOModule, count_invalid_actions

    ids = module_ids(scenario, policies)
    env = make_env(scenario, True)
    masked = masked and isinstance(env.action_space(env.possible_agents[0]), Discrete)
    env_config = {"scenario": scenario.name, "config": scenario.config.model_dump(mode="json"), "masked": masked}
    spec = RLModuleSpec(module_class=MaskedPPOModule) if masked else RLModuleSpec()
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config)
        .env_runners(num_env_runners=workers)
        .callbacks(on_episode_end=count_invalid_actions)
        .multi_agent(policies=set(ids), policy_mapping_fn=shared_mapping if policies == "shared" else per_agent_mapping)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in ids}),
            model_config=DefaultModelConfig(**model_hp),
        )
        .training(**train_hp)
        .debugging(seed=settings.seed)
    )


def _row(result: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    runners = result.get("env_runners", {})
    state["env_steps"] += int(runners.get("num_env_steps_sampled", 0))
    state["episodes"] += int(runners.get("num_episodes", 0))
    state["iteration"] += 1
    per_agent = runners.get("agent_episode_returns_mean") or {}
    row = {
        "env_steps": state["env_steps"],
        "episode": state["episodes"],
        "iteration": state["iteration"],
        "return": float(np.mean(list(per_agent.values()))) if per_agent else float("nan"),
        "episode_return_sum": float(runners.get("episode_return_mean", float("nan"))),
        "invalid_actions": int(runners.get("invalid_actions", 0)),  # in the episodes that ended this iteration
    }
    learners = {k: v for k, v in result.get("learners", {}).items() if k != "__all_modules__"}
    for loss in LOSSES:
        values = [float(v[loss]) for v in learners.values() if isinstance(v, dict) and loss in v]
        if values:
            row[loss] = float(np.mean(values))
    return row


def check_options(algo: str, policies: str, workers: int) -> None:
    """Validate the rllib options and that Ray is installed (one-line errors)."""
    from cpss.runs.backends import ray_init_check

    if algo not in ALGOS:
        raise ConfigError(f"--algo {algo}: the rllib backend trains {', '.join(ALGOS)}")
    if policies not in POLICIES:
        raise ConfigError(f"--policies: must be shared or per-agent (got {policies!r})")
    if workers < 0:
        raise ConfigError(f"--workers: must be >= 0 (got {workers})")
    ray_init_check("--backend rllib")


def resume_error(folder: Path) -> ConfigError:
    """The error for ``--resume`` of an RLlib run without ``--trust-checkpoint`` (names the flag)."""
    return ConfigError(
        f"--resume {folder}: continuing an RLlib run loads its raw checkpoint (Algorithm.from_checkpoint), "
        f"which unpickles it and so executes code from the folder: pass {TRUST_FLAG} only if you trust it"
    )


def train_rllib(
    scenario: Scenario,
    settings: TrainSettings,
    folder: Path,
    *,
    policies: str = "shared",
    workers: int = 0,
    address: str | None = None,
    resume: bool = False,
    trust: bool = False,
    on_progress: Callable[[int, dict], None] | None = None,
    masked: bool = True,
) -> dict[str, Any]:
    """Train (or resume) RLlib PPO on a scenario and keep the run folder up to date.

    Args:
        scenario: The scenario with its config.
        settings: ``algo`` (``ppo``), env-step budget, seed, hyperparameters, evaluation cadence.
        folder: The run folder.
        policies: ``shared`` (one policy for all agents) or ``per-agent``.
        workers: EnvRunner actors (0 samples in the driver).
        address: Ray cluster address; None starts (or reuses) a local Ray instance.
        resume: Continue from ``folder/checkpoints/last``.
        trust: Allow ``resume``, which unpickles the raw RLlib checkpoint (runs code from the folder).
        on_progress: Called with (env_steps, metrics row) after each iteration.
        masked: Train discrete actions with their masks (False: the unmasked module, for comparison).

    Returns:
        The final summary.

    Raises:
        ConfigError: Bad options, ``resume`` without ``trust`` or without a checkpoint, or a model
            the weights-only export does not cover.
    """
    if resume and not trust:
        raise resume_error(folder)
    check_options(settings.algo, policies, workers)
    from cpss.runs.backends import ray_init

    config = algo_config(scenario, settings, policies, workers, masked)
    ckpt = folder / RLLIB_CHECKPOINT
    if resume and not (ckpt / "cpss_progress.json").is_file():
        raise ConfigError(f"--resume {folder}: no RLlib checkpoint at {ckpt}")
    started = ray_init(address, None)
    import ray
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.tune.registry import register_env

    from cpss.runs.rllib_masking import env_creator

    algo = None
    try:
        register_env(ENV_NAME, env_creator)
        if resume:
            state = json.loads((ckpt / "cpss_progress.json").read_text())
            algo = Algorithm.from_checkpoint(str(ckpt.resolve()))
            plans = {m: actor_layers(algo.get_module(m), m) for m in module_ids(scenario, policies)}
        else:
            state = {"env_steps": 0, "episodes": 0, "iteration": 0}
            algo = config.build_algo()
            plans = {m: actor_layers(algo.get_module(m), m) for m in module_ids(scenario, policies)}
            write_json(
                folder / "config.json",
                {
                    "scenario": scenario.name,
                    "algo": settings.algo,
                    "backend": "rllib",
                    "policies": policies,
                    "seed": settings.seed,
                    "steps": settings.steps,
                    "hyperparams": settings.hyperparams,
                    "multi_agent": True,
                    "others": None,
                    "workers": workers,
                    "config": scenario.config.model_dump(mode="json"),
                    "versions": {**versions(), "ray": ray.__version__},
                },
            )
        return _train_loop(algo, scenario, settings, folder, (policies, plans), state, on_progress)
    finally:
        if algo is not None:
            algo.stop()
        if started:
            ray.shutdown()


def _train_loop(
    algo: Any,
    scenario: Scenario,
    settings: TrainSettings,
    folder: Path,
    modules: tuple[str, dict[str, Any]],
    state: dict[str, Any],
    on_progress: Callable[[int, dict], None] | None,
) -> dict[str, Any]:
    policies, plans = modules
    write_json(folder / "status.json", {"state": "running", "env_steps": state["env_steps"]})
    history = read_rows(folder / "metrics.csv", state["env_steps"])
    evals = read_rows(folder / "eval.csv", state["env_steps"])
    eval_env = make_env(scenario, True)
    baselines_path = folder / "baselines.json"
    if settings.eval_every and not baselines_path.is_file():
        base = evaluate_policies(
            scenario, eval_env, None, settings.eval_episodes, settings.seed + 10_000, scenario.heuristic_policies
        )
        write_json(baselines_path, {k: float(np.mean([r["return"] for r in v])) for k, v in base.items()})
    baselines = json.loads(baselines_path.read_text()) if baselines_path.is_file() else {}
    next_eval = next_multiple(state["env_steps"], settings.eval_every)
    t0 = time.perf_counter()
    while state["env_steps"] < settings.steps:
        before = state["env_steps"]
        row = _row(algo.train(), state)
        history.append(row)
        if settings.eval_every and state["env_steps"] >= next_eval:
            live = RLlibPolicy({m: algo.get_module(m) for m in module_ids(scenario, policies)}, policies)
            rows = evaluate_policies(scenario, eval_env, live, settings.eval_episodes, settings.seed + 10_000, ())
            evals.append(
                {"env_steps": state["env_steps"], "return": float(np.mean([r["return"] for r in rows[live.name]]))}
            )
            next_eval = next_multiple(state["env_steps"], settings.eval_every)
        save_checkpoint(algo, folder / RLLIB_CHECKPOINT, state, plans, policies)
        atomic_write_text(folder / "metrics.csv", pd.DataFrame(history).to_csv(index=False))
        if evals:
            atomic_write_text(folder / "eval.csv", pd.DataFrame(evals).to_csv(index=False))
        if on_progress is not None:
            on_progress(state["env_steps"], row)
        timed_out = settings.time_limit is not None and time.perf_counter() - t0 >= settings.time_limit
        if timed_out or state["env_steps"] == before:
            break
    learning_curve(folder, pd.DataFrame(history), pd.DataFrame(evals), baselines)
    summary = {
        "algo": settings.algo,
        "backend": "rllib",
        "env_steps": state["env_steps"],
        "episodes": state["episodes"],
        "iterations": state["iteration"],
        "stopped_by_time_limit": state["env_steps"] < settings.steps,
        "wall_seconds": time.perf_counter() - t0,
        "last_eval_return": evals[-1]["return"] if evals else None,
        "baselines": baselines,
    }
    write_json(folder / "summary.json", summary)
    write_json(folder / "status.json", {"state": "done", "env_steps": state["env_steps"]})
    return summary


def is_rllib_run(folder: Path | None) -> bool:
    """Whether ``folder`` is a training run folder written by this backend."""
    from cpss.runs.runio import read_json

    path = folder / "config.json" if folder is not None else None
    return bool(path and path.is_file() and read_json(path).get("backend") == "rllib")


def train_command(
    scenario_name: str,
    *,
    algo: str,
    steps: int | None,
    seed: int | None,
    config: str | None,
    sets: list[str] | None,
    hyper: dict[str, Any],
    out: Path | None,
    resume: Path | None,
    eval_every: int,
    eval_episodes: int,
    time_limit: float | None,
    policies: str,
    workers: int,
    address: str | None,
    make_scenario: Callable[..., Any],
    progress: Callable[[], Any],
    console: Any,
    trust_checkpoint: bool = False,
) -> None:
    """The body of ``cpss train --backend rllib`` (``make_scenario`` and ``progress`` come from the CLI).

    ``--resume`` of an RLlib run needs ``trust_checkpoint`` (``--trust-checkpoint``): RLlib restores
    the algorithm by unpickling the checkpoint. Without it nothing of the folder but its JSON is read.
    """
    if resume is not None and not trust_checkpoint:
        raise resume_error(resume)
    check_options(algo if resume is None else "ppo", policies, workers)
    for name in ("ray", "ray.rllib"):  # RLlib's start-up warnings (new API stack, deprecations) are noise here
        logging.getLogger(name).setLevel(logging.ERROR)
    scen, settings, folder, saved = resolve_run(
        scenario_name,
        algo=algo,
        steps=steps,
        seed=seed,
        config=config,
        sets=sets,
        hyper=hyper,
        out=out,
        resume=resume,
        make_scenario=make_scenario,
        out_name=f"rllib-{algo}",
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        time_limit=time_limit,
    )
    if saved is not None:
        policies, workers = saved["policies"], saved.get("workers", workers)
    else:
        algo_config(scen, settings, policies, workers)  # unknown hyperparameters fail before the folder exists
        folder.mkdir(parents=True, exist_ok=True)
    with progress() as bar:
        task = bar.add_task(f"rllib {settings.algo} on {scen.name}", total=settings.steps)

        def on_progress(done: int, row: dict) -> None:
            bar.update(
                task,
                completed=min(done, settings.steps),
                description=f"rllib {settings.algo} on {scen.name}  iteration {row['iteration']}  "
                f"return {row['return']:.3f}",
            )

        summary = train_rllib(
            scen,
            settings,
            folder,
            policies=policies,
            workers=workers,
            address=address,
            resume=resume is not None,
            trust=trust_checkpoint,
            on_progress=on_progress,
        )
    console.print(
        f"trained rllib {settings.algo} ({policies} policies) for {summary['env_steps']} env steps in "
        f"{summary['iterations']} iterations, {summary['wall_seconds']:.1f} s"
    )
    console.print(f"run folder: {folder}")
