"""The app's side of the dashboard pages: scenarios from the registry, learners from run folders.

The pages (``scenarios/<name>/dashboard.py``, built on :mod:`cpss.kit.dashboard`) sit below the
application and cannot read run folders themselves; :class:`RunsBackend` does it for them, and
:mod:`cpss.viz` installs it with :func:`cpss.kit.dashboard.set_backend` when it is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scenarios
from cpss.kit.config import ConfigError, build_config
from cpss.kit.scenario import Scenario


class RunsBackend:
    """A :class:`cpss.kit.dashboard.Backend` over the scenario registry and training run folders."""

    def scenario(
        self, name: str, config: str | None, checkpoint: str | None, overrides: dict[str, Any]
    ) -> tuple[Scenario, Path | None, dict[str, Any] | None]:
        """The scenario with its validated config, plus the checkpoint and its run config.

        Without ``config``, a checkpoint's run config is the base (a learner only fits the spaces
        it was trained on); otherwise the named or given TOML config.

        Raises:
            ConfigError: Unknown scenario or config, bad values, or a checkpoint of another scenario.
        """
        from cpss.runs.training import locate_checkpoint

        cls = scenarios.scenario_class(name)
        if checkpoint is None:
            return cls(scenarios.load_config(name, config, overrides)), None, None
        ckpt, saved = locate_checkpoint(Path(checkpoint))
        if saved.get("scenario") != name:
            raise ConfigError(f"--checkpoint {checkpoint}: trained on {saved.get('scenario')!r}, not {name!r}")
        if config is None:
            cfg = build_config(cls.config_cls, saved["config"], overrides=overrides, source=f"{ckpt} run config")
        else:
            cfg = scenarios.load_config(name, config, overrides)
        return cls(cfg), ckpt, saved

    def learner(self, scenario: Scenario, checkpoint: Path, saved: dict[str, Any]) -> tuple[Any, Any]:
        """``(env, learner)``: the native learner of ``checkpoint`` and the env it was trained in."""
        import agents
        from cpss.runs.training import make_env

        env = make_env(scenario, bool(saved.get("multi_agent", True)), saved.get("others"))
        return env, agents.load(checkpoint, env)
