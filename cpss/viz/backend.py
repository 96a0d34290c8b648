"""The app's side of the dashboard pages: training run folders and their learners.

The pages (``scenarios/<name>/dashboard.py``, built on :mod:`cpss.kit.dashboard`) sit below the
application and cannot read run folders themselves; :class:`RunFolders` does it for them, and
:mod:`cpss.viz` installs it with :func:`cpss.kit.dashboard.set_runs` when it is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cpss.kit.config import ConfigError
from cpss.kit.scenario import Scenario


class RunFolders:
    """The :class:`cpss.kit.dashboard.Runs` of the app: native and RLlib training run folders."""

    def locate(self, checkpoint: Path) -> tuple[Path, dict[str, Any]]:
        """``(checkpoint file, run config)`` (:func:`cpss.runs.training.locate_checkpoint`)."""
        from cpss.runs.training import locate_checkpoint

        return locate_checkpoint(checkpoint)

    def learner(self, scenario: Scenario, checkpoint: Path, saved: dict[str, Any]) -> tuple[Any, Any]:
        """``(env, learner)``: the trained policy of ``checkpoint`` and the env it was trained in.

        A native checkpoint loads with ``weights_only=True``; an RLlib run's policy from its
        weights-only export (:func:`cpss.runs.learners.load_learner`). The dashboard never loads a
        raw RLlib checkpoint, which would unpickle (run code from) the folder.

        Raises:
            ConfigError: The checkpoint cannot be read (one line naming the file); a checkpoint
                that reads but does not fit ``scenario`` raises the learner's own error.
        """
        from cpss.runs.learners import load_learner
        from cpss.runs.rllib_policy import EXPORT_SPEC
        from cpss.runs.training import make_env

        if saved.get("backend") == "rllib" and not (checkpoint / EXPORT_SPEC).is_file():
            raise ConfigError(
                f"{checkpoint}: no weights-only policy export ({EXPORT_SPEC}); the dashboard does not load raw "
                "RLlib checkpoints (unpickling one executes code from the folder)"
            )
        from agents.base import CheckpointError

        env = make_env(scenario, bool(saved.get("multi_agent", True)), saved.get("others"))
        try:
            return env, load_learner(checkpoint, env, saved)
        except CheckpointError as exc:  # unreadable (corrupt, truncated, foreign): not a misfit
            raise ConfigError(str(exc)) from None
