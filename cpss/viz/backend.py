"""The app's side of the dashboard pages: training run folders and their learners.

The pages (``scenarios/<name>/dashboard.py``, built on :mod:`cpss.kit.dashboard`) sit below the
application and cannot read run folders themselves; :class:`RunFolders` does it for them, and
:mod:`cpss.viz` installs it with :func:`cpss.kit.dashboard.set_runs` when it is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cpss.kit.scenario import Scenario


class RunFolders:
    """The :class:`cpss.kit.dashboard.Runs` of the app: native training run folders."""

    def locate(self, checkpoint: Path) -> tuple[Path, dict[str, Any]]:
        """``(checkpoint file, run config)`` (:func:`cpss.runs.training.locate_checkpoint`)."""
        from cpss.runs.training import locate_checkpoint

        return locate_checkpoint(checkpoint)

    def learner(self, scenario: Scenario, checkpoint: Path, saved: dict[str, Any]) -> tuple[Any, Any]:
        """``(env, learner)``: the native learner of ``checkpoint`` and the env it was trained in."""
        import agents
        from cpss.runs.training import make_env

        env = make_env(scenario, bool(saved.get("multi_agent", True)), saved.get("others"))
        return env, agents.load(checkpoint, env)
