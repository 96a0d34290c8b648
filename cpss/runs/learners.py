"""Restoring the trained policy of a run folder, whichever backend trained it.

Above both backends: a native run's checkpoint loads through ``agents.load`` (``torch.load``
with ``weights_only=True``; :mod:`cpss.runs.training` writes it), an RLlib run's (``backend:
rllib`` in its config.json) through :func:`cpss.runs.rllib_modules.load_policy`: its weights-only
export by default, the raw RLlib checkpoint (pickles: it runs code from the folder) only with
``trust``. Used by ``cpss eval``, ``cpss sweep --checkpoint``, ``cpss batch --checkpoint`` and
the dashboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_learner(ckpt: Path, env: Any, saved: dict[str, Any], *, trust: bool = False) -> Any:
    """Rebuild the trained policy of a run: a native learner, or an RLlib one (``backend: rllib``).

    Args:
        ckpt: The checkpoint (from :func:`cpss.runs.training.locate_checkpoint`).
        env: The env the learner acts in (:func:`cpss.runs.training.make_env` of the run's scenario).
        saved: The run's config.json.
        trust: For an RLlib run, load the raw RLlib checkpoint instead of the weights-only export
            (``--trust-checkpoint``: unpickling executes code from the folder).

    Returns:
        An object with ``name`` and ``act(observations, infos, deterministic)``.

    Raises:
        ValueError: One line naming the file (``ConfigError`` for RLlib runs): a missing, corrupt,
            truncated or foreign checkpoint, or one that does not fit ``env``.
    """
    if saved.get("backend") == "rllib":
        from cpss.runs.rllib_modules import load_policy

        return load_policy(ckpt, saved, env, trust=trust)
    import agents

    return agents.load(ckpt, env)


def check_checkpoint(ckpt: Path, saved: dict[str, Any], *, trust: bool = False) -> None:
    """Read and check a run's checkpoint before any work starts (``cpss sweep --checkpoint``).

    A native checkpoint is read with ``weights_only=True`` and its layout checked; an RLlib run's
    weights-only export is read and checked (unless ``trust``: then the raw checkpoint is what
    loads, later). Whether it fits the env is checked when the policy is loaded.

    Raises:
        ValueError: One line naming the file and what is wrong with it.
    """
    if saved.get("backend") == "rllib":
        if not trust:
            from cpss.runs.rllib_policy import EXPORT_SPEC, EXPORT_WEIGHTS, read_spec, read_weights, untrusted_error

            if not (ckpt / EXPORT_SPEC).is_file():
                raise untrusted_error(ckpt)
            read_weights(ckpt / EXPORT_WEIGHTS, read_spec(ckpt / EXPORT_SPEC))
        return
    from agents.base import read_checkpoint

    read_checkpoint(ckpt)
