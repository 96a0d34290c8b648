"""Saved training runs: finding a run's checkpoint, reading its ``config.json``, resuming it safely.

A run folder comes from disk and is not trusted: :func:`read_run_config` checks that its
``config.json`` is a JSON object with the keys a run has, names a known scenario and holds a
valid config for it, and says which file and key is wrong otherwise. :func:`check_resume`
refuses command-line arguments that contradict the run being resumed, and a run that is still
running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cpss.kit.config import ConfigError
from cpss.runs.runio import read_json, read_status

CHECKPOINT = Path("checkpoints") / "last.pt"
RLLIB_CHECKPOINT = Path("checkpoints") / "last"

RUN_KEYS = ("scenario", "config", "multi_agent")
TRAIN_KEYS = ("scenario", "config", "algo", "seed", "steps", "hyperparams")


def read_run_config(run_dir: Path, required: tuple[str, ...] = RUN_KEYS) -> dict[str, Any]:
    """A training run's ``config.json``, checked: the keys present, the scenario known, its config valid.

    Raises:
        ConfigError: One line naming the file and what is wrong with it.
    """
    from pydantic import ValidationError

    import scenarios
    from cpss.kit.config import format_validation_error

    path = run_dir / "config.json"
    saved = read_json(path, required, what="a training run")
    name = saved["scenario"]
    if not isinstance(name, str) or name not in scenarios.names():
        raise ConfigError(f"{path}: scenario: unknown scenario {name!r}")
    try:
        scenarios.scenario_class(name).config_cls.model_validate(saved["config"])
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, f"{path}: config")) from None
    return saved


def locate_checkpoint(target: Path) -> tuple[Path, dict[str, Any]]:
    """Resolve a run folder or checkpoint to (checkpoint, run config).

    A native run's checkpoint is the file ``checkpoints/last.pt``; an RLlib run's (``backend:
    rllib`` in config.json) is the folder ``checkpoints/last``. The run config is checked by
    :func:`read_run_config`.
    """
    if target.is_dir() and not (target / "config.json").is_file() and (target.parent.parent / "config.json").is_file():
        ckpt, run_dir = target, target.parent.parent  # an RLlib checkpoint folder
    elif target.is_dir():
        ckpt, run_dir = target / CHECKPOINT, target
        if (target / RLLIB_CHECKPOINT).is_dir():
            ckpt = target / RLLIB_CHECKPOINT
    elif target.is_file():
        ckpt, run_dir = target, target.parent.parent
    else:
        raise ConfigError(f"{target}: no such run folder or checkpoint")
    if not ckpt.exists():
        raise ConfigError(f"{target}: no checkpoint at {ckpt}")
    if not (run_dir / "config.json").is_file():
        raise ConfigError(f"{target}: no config.json in {run_dir}")
    return ckpt, read_run_config(run_dir)


def check_resume(resume: Path, saved: dict[str, Any], **given: Any) -> None:
    """Refuse arguments that contradict the run being resumed, naming the first one.

    Args:
        resume: The run folder.
        saved: Its ``config.json``.
        **given: The command line's values: ``scenario``, ``algo``, ``seed``, ``config``, ``sets``,
            ``hyper``, ``out`` (None or empty where not given).
    """
    what = f"--resume {resume}: the run trains {saved['algo']} on {saved['scenario']}"
    if given.get("scenario") not in (None, saved["scenario"]):
        raise ConfigError(f"{what}, not on {given['scenario']}; give scenario {saved['scenario']} or start a new run")
    if given.get("algo") not in (None, saved["algo"]):
        raise ConfigError(f"{what}; --algo {given['algo']} contradicts it (leave --algo out)")
    if given.get("seed") not in (None, saved["seed"]):
        raise ConfigError(f"{what} with seed {saved['seed']}; --seed {given['seed']} contradicts it")
    if given.get("config") or given.get("sets"):
        raise ConfigError(f"{what}; a resumed run keeps its config: leave --config and --set out")
    for key, value in (given.get("hyper") or {}).items():
        if saved["hyperparams"].get(key) != value:
            was = saved["hyperparams"].get(key, "its default")
            raise ConfigError(f"{what} with {key}={was!r}; --hp {key}={value!r} contradicts it")
    out = given.get("out")
    if out is not None and Path(out).resolve() != resume.resolve():
        raise ConfigError(f"--out {out}: a resumed run stays in its folder {resume}; leave --out out")
    status = read_status(resume)
    if status.get("state") == "running":
        raise ConfigError(f"--resume {resume}: the run is still running (process {status.get('pid')})")
