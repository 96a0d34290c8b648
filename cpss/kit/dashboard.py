"""The Mesa model a dashboard page shows: a scenario's world driven tick by tick by a policy.

SolaraViz steps a Mesa model and re-creates it with ``Model(**model_params)`` when the user
presses Reset, so every dashboard model takes keyword arguments only (each one a slider or a
fixed value) and turns them into a validated scenario config. The world itself runs inside a
:class:`cpss.kit.env.CPSSParallelEnv`, so heuristic personalisers and trained learners act through
the same observations, masks and actions as in training: each tick the dashboard asks the
policy for one action per personaliser and calls ``env.step``. ``Dashboard.world`` is the live
world model; its DataCollector is the dashboard's, so Mesa's plot components read it directly.

A scenario's page (a :class:`Page`: its model class, sliders and components) lives in the
scenario's package and is named by :attr:`cpss.kit.scenario.Scenario.dashboard_page`. The page's
model class finds scenarios through its ``registry`` (``scenarios.registry``). Reading training
run folders and restoring their learners is the application's business: the app
(:mod:`cpss.viz`) installs its :class:`Runs` with :func:`set_runs`, so a page runs without the
app as long as it is given no checkpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import mesa
import numpy as np

from cpss.kit.config import ConfigError, StrictModel, build_config
from cpss.kit.env import CPSSParallelEnv
from cpss.kit.scenario import Scenario

TRAINED = "trained"
"""Policy name that selects the learner restored from ``checkpoint``."""

__all__ = [
    "TRAINED",
    "Dashboard",
    "Page",
    "Registry",
    "Runs",
    "default_policy",
    "get_runs",
    "policy_choices",
    "policy_select",
    "set_runs",
]


@dataclasses.dataclass(frozen=True)
class Page:
    """A scenario's dashboard page.

    Attributes:
        title: Page title.
        model_cls: The dashboard model (a :class:`Dashboard` subclass; keyword arguments = sliders).
        model_params: ``(config, checkpoint) -> model_params`` of SolaraViz: the sliders at the
            config's (or checkpoint's) values, plus fixed values.
        components: ``() -> list`` of SolaraViz components.
    """

    title: str
    model_cls: type[Dashboard]
    model_params: Callable[[str | None, str | None], dict[str, Any]]
    components: Callable[[], list[Any]]


class Registry(Protocol):
    """Scenarios by name: what a page's model class needs (the module ``scenarios.registry`` is one)."""

    def scenario_class(self, name: str) -> type[Scenario]:
        """The Scenario subclass registered as ``name``."""
        ...

    def load_config(self, name: str, config: str | None, overrides: dict[str, Any]) -> StrictModel:
        """The validated config (``config``: shipped name, TOML path or None for the default)."""
        ...


class Runs(Protocol):
    """Training run folders: what the application gives the pages for ``--checkpoint``."""

    def locate(self, checkpoint: Path) -> tuple[Path, dict[str, Any]]:
        """``(checkpoint file, run config)`` of a run folder or checkpoint; ConfigError if there is none."""
        ...

    def learner(self, scenario: Scenario, checkpoint: Path, saved: dict[str, Any]) -> tuple[Any, Any]:
        """``(env, learner)``: the trained learner of ``checkpoint`` and the env it acts in.

        The env is a :class:`cpss.kit.env.CPSSParallelEnv` for a multi-agent learner, else a
        :class:`cpss.kit.env.CPSSGymEnv`. A checkpoint that does not fit the scenario raises
        RuntimeError, KeyError or ValueError.
        """
        ...


_runs: Runs | None = None


def set_runs(runs: Runs | None) -> None:
    """Install the application's :class:`Runs` (the app, :mod:`cpss.viz`, does this on import)."""
    global _runs
    _runs = runs


def get_runs() -> Runs:
    """The installed :class:`Runs`.

    Raises:
        RuntimeError: None is installed (import :mod:`cpss.viz`, the app, first).
    """
    if _runs is None:
        raise RuntimeError("a dashboard with a checkpoint needs the app's run folders: import cpss.viz first")
    return _runs


class Dashboard(mesa.Model):
    """Base of the dashboard models: a scenario's env, its world and the acting policy.

    Subclasses set ``scenario_name`` and ``registry`` (``scenarios.registry``) and give
    ``__init__`` one keyword argument per slider, mapping them to config overrides.

    Args:
        overrides: Dotted-key config overrides from the sliders.
        policy: A heuristic of the scenario, or ``"trained"`` (needs ``checkpoint``); None: the
            scenario's default heuristic.
        seed: Seed of the day (None: the config's root seed).
        config: Shipped config name or TOML path (None: the scenario's default, or the
            checkpoint's run config).
        checkpoint: Training run folder or checkpoint file of a learner for this scenario.

    Attributes:
        env: The ParallelEnv that runs the world.
        world: The live world model (``env.model``).
        returns: Mean personaliser return so far, one entry per DataCollector row.
    """

    scenario_name: ClassVar[str]
    """Registry name of the scenario shown."""
    registry: ClassVar[Registry]
    """Where scenarios are found by name."""

    @classmethod
    def build_scenario(
        cls, config: str | None, checkpoint: str | None, overrides: dict[str, Any]
    ) -> tuple[Scenario, Path | None, dict[str, Any] | None]:
        """The scenario with its validated config, plus the checkpoint and its run config.

        Without ``config``, a checkpoint's run config is the base (a learner only fits the spaces
        it was trained on); otherwise the named or given TOML config.

        Args:
            config: Shipped config name or TOML path, or None.
            checkpoint: Training run folder or checkpoint file, or None.
            overrides: Dotted-key config overrides (``{"visitors.count": 50}``).

        Returns:
            ``(scenario, checkpoint file or None, run config or None)``.

        Raises:
            ConfigError: Unknown config, bad values, or a checkpoint of another scenario.
        """
        name = cls.scenario_name
        scenario_cls = cls.registry.scenario_class(name)
        if checkpoint is None:
            return scenario_cls(cls.registry.load_config(name, config, overrides)), None, None
        ckpt, saved = get_runs().locate(Path(checkpoint))
        if saved.get("scenario") != name:
            raise ConfigError(f"--checkpoint {checkpoint}: trained on {saved.get('scenario')!r}, not {name!r}")
        if config is None:
            cfg = build_config(
                scenario_cls.config_cls, saved["config"], overrides=overrides, source=f"{ckpt} run config"
            )
        else:
            cfg = cls.registry.load_config(name, config, overrides)
        return scenario_cls(cfg), ckpt, saved

    def __init__(
        self,
        *,
        overrides: dict[str, Any],
        policy: str | None,
        seed: int | None,
        config: str | None,
        checkpoint: str | None,
    ) -> None:
        scen, ckpt, saved = self.build_scenario(config, checkpoint, overrides)
        day = scen.seed if seed is None else seed
        if isinstance(day, bool) or not isinstance(day, int | np.integer) or day < 0:
            raise ConfigError(f"seed: must be an integer >= 0 (got {seed!r})")
        super().__init__(seed=int(day))
        self.scenario = scen
        self.checkpoint = ckpt
        self.policy = policy or default_policy(scen)
        self.learner: Any = None
        self._single_agent = False
        self._others = ""
        if self.policy == TRAINED:
            if ckpt is None:
                raise ConfigError("policy 'trained': start the dashboard with --checkpoint RUN_FOLDER")
            self.env = self._load_learner(scen, ckpt, saved or {})
        elif self.policy in scen.heuristic_policies:
            self.env = CPSSParallelEnv(scen)
        else:
            raise ConfigError(
                f"policy: unknown policy {self.policy!r}; choose from "
                f"{', '.join(policy_choices(scen, ckpt is not None))}"
            )
        self.observations, self.infos = self.env.reset(seed=int(day))
        self.world = self.env.model
        self.datacollector = self.world.datacollector
        self.returns = [0.0]

    def _load_learner(self, scen: Scenario, ckpt: Path, saved: dict[str, Any]) -> CPSSParallelEnv:
        try:
            learner_env, self.learner = get_runs().learner(scen, ckpt, saved)
        except ConfigError:
            raise  # one line naming the file: unreadable, untrusted or of another scenario
        except (RuntimeError, KeyError, ValueError) as exc:  # weights of another shape, another space
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"--checkpoint {ckpt}: does not fit this {scen.name} config ({first})") from None
        if isinstance(learner_env, CPSSParallelEnv):
            return learner_env
        self._single_agent = True
        self._others = learner_env.others
        return learner_env.parallel

    def _actions(self) -> dict[str, Any]:
        """One action per live personaliser from the selected policy."""
        if self.learner is None:
            return self.env.heuristic_actions(self.policy)
        if self._single_agent:
            actions = self.env.heuristic_actions(self._others)
            first = self.env.possible_agents[0]
            actions[first] = self.learner.act(self.observations[first], self.infos[first], True)
            return actions
        live = self.env.agents
        return self.learner.act({a: self.observations[a] for a in live}, {a: self.infos[a] for a in live}, True)

    def step(self) -> None:
        """One tick: the policy acts, the world advances; ``running`` turns False at closing."""
        if self.env.day_over:
            self.running = False
            return
        self.observations, rewards, _, _, self.infos = self.env.step(self._actions())
        mean = float(np.mean(list(rewards.values()))) if rewards else 0.0
        self.returns.append(self.returns[-1] + mean)
        self.running = not self.env.day_over


def default_policy(scen: Scenario) -> str:
    """The scenario's default heuristic (:meth:`cpss.kit.scenario.Scenario.default_policy`)."""
    return scen.default_policy()


def policy_choices(scen: Scenario, trained: bool) -> list[str]:
    """Names the policy selector offers: the heuristics, plus ``"trained"`` with a checkpoint."""
    return [*scen.heuristic_policies, *([TRAINED] if trained else [])]


def policy_select(scen: Scenario, label: str, trained: bool) -> dict[str, Any]:
    """The SolaraViz selector of the policy; it starts at ``"trained"`` when there is a checkpoint."""
    return {
        "type": "Select",
        "label": label,
        "values": policy_choices(scen, trained),
        "value": TRAINED if trained else default_policy(scen),
    }
