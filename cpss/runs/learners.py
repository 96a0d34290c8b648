"""Restoring the trained policy of a run folder, whichever backend trained it.

Above both backends: a native run's checkpoint loads through ``agents.load``
(:mod:`cpss.runs.training` writes it), an RLlib run's (``backend: rllib`` in its config.json)
through :func:`cpss.runs.rllib.load_policy`. Used by ``cpss eval``, ``cpss sweep --checkpoint``
and ``cpss batch --checkpoint``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_learner(ckpt: Path, env: Any, saved: dict[str, Any]) -> Any:
    """Rebuild the trained policy of a run: a native learner, or an RLlib one (``backend: rllib``).

    Args:
        ckpt: The checkpoint (from :func:`cpss.runs.training.locate_checkpoint`).
        env: The env the learner acts in (:func:`cpss.runs.training.make_env` of the run's scenario).
        saved: The run's config.json.

    Returns:
        An object with ``name`` and ``act(observations, infos, deterministic)``.
    """
    if saved.get("backend") == "rllib":
        from cpss.runs.rllib import load_policy

        return load_policy(ckpt, saved)
    import agents

    return agents.load(ckpt, env)
