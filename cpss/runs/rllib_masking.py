"""Action masks in RLlib training: the env puts them in the observations, a PPO module applies them.

RLlib's new API stack hands an RLModule nothing but observations, so a scenario with discrete
actions is trained through :class:`MaskedPettingZooEnv`, which gives every agent the
observation ``{"observations": <the scenario's Box>, "action_mask": Box(0, 1, (n,))}`` (the
layout of RLlib's action-masking example, ``ray/rllib/examples/rl_modules/classes/
action_masking_rlm.py``) with the mask of ``infos[agent]["action_mask"]``. :class:`MaskedPPOModule`
is RLlib's default PPO torch module built for the inner Box; its ``forward_inference``,
``forward_exploration`` and ``forward_train`` replace the logits of invalid actions by
:data:`cpss.runs.rllib_policy.MASKED_LOGIT` (:func:`cpss.runs.rllib_policy.mask_logits`) before
the action distribution, so sampling never picks them and the PPO loss gives them no
probability; the value function reads the inner observations only. The weights-only export
holds the same networks and applies the same :func:`mask_logits` to the env's masks, so it
gives the module's masked logits exactly. :func:`env_creator` builds the env RLlib samples
from: masked when the run's ``env_config`` says so (runs trained before masking say nothing).

:func:`count_invalid_actions` is an ``on_episode_end`` callback: it logs the invalid actions
of every finished episode (the env's ``infos[agent]["invalid_action"]`` counts) as the
``invalid_actions`` metric, which ``metrics.csv`` records per training iteration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

from cpss.runs.rllib_policy import mask_logits

OBS_KEY = "observations"
MASK_KEY = "action_mask"


def masked_space(inner: spaces.Box, n_actions: int) -> spaces.Dict:
    """The observation space of a masked agent: its observations and its action mask."""
    mask = spaces.Box(0.0, 1.0, shape=(n_actions,), dtype=np.float32)
    return spaces.Dict({OBS_KEY: inner, MASK_KEY: mask})


class MaskedPettingZooEnv(ParallelPettingZooEnv):
    """RLlib's PettingZoo wrapper with each agent's action mask folded into its observation.

    Args:
        env: A PettingZoo ParallelEnv with ``Discrete`` actions whose infos carry
            ``action_mask`` (an agent without one gets a mask of ones).
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.observation_space = spaces.Dict(
            {
                aid: masked_space(self.par_env.observation_space(aid), int(self.par_env.action_space(aid).n))
                for aid in self._agent_ids
            }
        )

    def _fold(self, obs: dict[str, Any], infos: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for aid, value in obs.items():
            n = int(self.par_env.action_space(aid).n)
            mask = (infos.get(aid) or {}).get(MASK_KEY)
            mask = np.ones(n, dtype=np.float32) if mask is None else np.asarray(mask, dtype=np.float32)
            out[aid] = {OBS_KEY: value, MASK_KEY: mask}
        return out

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset the wrapped env; observations carry the masks."""
        obs, infos = super().reset(seed=seed, options=options)
        return self._fold(obs, infos), infos

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Step the wrapped env; observations carry the masks."""
        obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
        return self._fold(obs, infos), rewards, terminateds, truncateds, infos


class MaskedPPOModule(DefaultPPOTorchRLModule):
    """RLlib's default PPO torch module that never gives an invalid action probability.

    Built with the ``Dict`` space of :func:`masked_space`: the networks are those of the default
    module for the inner ``observations`` Box (so the weights-only export covers them), and
    the action mask replaces invalid actions' logits by ``MASKED_LOGIT`` in every forward pass.
    """

    def __init__(self, *args: Any, observation_space: spaces.Space | None = None, **kwargs: Any) -> None:
        if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {OBS_KEY, MASK_KEY}:
            raise ValueError(f"MaskedPPOModule needs a Dict({OBS_KEY}, {MASK_KEY}) observation space")
        self.masked_observation_space = observation_space
        super().__init__(*args, observation_space=observation_space[OBS_KEY], **kwargs)

    def setup(self) -> None:
        """Build the default networks for the inner Box, then expose the Dict space again (what the env gives)."""
        super().setup()
        self.observation_space = self.masked_observation_space

    @staticmethod
    def _split(batch: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """The batch with the inner observations, and the mask (from the obs dict or a column)."""
        obs = batch[Columns.OBS]
        if isinstance(obs, dict):
            return {**batch, Columns.OBS: obs[OBS_KEY]}, obs[MASK_KEY]
        return batch, batch[MASK_KEY]

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Inference and exploration: the default forward pass, invalid actions masked."""
        inner, mask = self._split(batch)
        out = super()._forward(inner, **kwargs)
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Training: the default forward pass (with its value embeddings), invalid actions masked."""
        inner, mask = self._split(batch)
        out = super()._forward_train(inner, **kwargs)
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
        """Values of the inner observations.

        As in RLlib's example, a batch still holding the obs dict is rewritten in place (inner
        observations in ``obs``, the mask as its own column): the learner's GAE connector calls
        this first and the training forward pass then finds the mask column.
        """
        obs = batch[Columns.OBS]
        if isinstance(obs, dict):
            batch[Columns.OBS], batch[MASK_KEY] = obs[OBS_KEY], obs[MASK_KEY]
        return super().compute_values(batch, embeddings)


def env_creator(env_config: dict[str, Any]) -> Any:
    """RLlib env factory: the scenario of ``env_config`` as RLlib's PettingZoo env (masked if ``masked``)."""
    import scenarios
    from cpss.kit.env import CPSSParallelEnv

    cls = scenarios.scenario_class(env_config["scenario"])
    wrapper = MaskedPettingZooEnv if env_config.get("masked", False) else ParallelPettingZooEnv
    return wrapper(CPSSParallelEnv(cls(cls.config_cls.model_validate(env_config["config"]))))


def count_invalid_actions(*, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
    """``on_episode_end``: log the episode's invalid actions (summed over agents) as ``invalid_actions``."""
    last = episode.get_infos(-1)
    total = sum(int((info or {}).get("invalid_action", 0)) for info in last.values())
    if metrics_logger is not None:
        metrics_logger.log_value("invalid_actions", total, reduce="sum")
