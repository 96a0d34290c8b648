"""BenchMARL's MAPPO on the batched museum (scenarios.make_torchrl), beside the crowd_aware heuristic.

BenchMARL plugs a custom env in through a ``TaskClass`` (how to build the TorchRL env, its group
map and which entries are observation, state and action mask) and a ``Task`` enum that names
it; ``Task.MEMBER.get_task(config={...})`` gives the task without BenchMARL's YAML files. This
script does that for the museum (``MuseumTask``), trains MAPPO (shared actor with the masked
categorical, centralised critic on ``state``) for a few minutes on the CPU, then plays the
trained policy (deterministic actions) and the ``crowd_aware`` heuristic on the same evaluation
days and prints the figures of docs/results.md, "BenchMARL on the batched museum".

    pip install -e '.[benchmarl]'     # benchmarl 1.5.2 (it pulls torchrl 0.11.1)
    python docs/results/benchmarl_museum.py --config museum-small --days 16 --iterations 10
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from benchmarl.algorithms import MappoConfig
from benchmarl.environments.common import Task, TaskClass
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.models.mlp import MlpConfig
from torchrl.data import Composite
from torchrl.envs.utils import ExplorationType, set_exploration_type

import scenarios
from scenarios.museum.torchrl_env import GROUP


class MuseumTaskClass(TaskClass):
    """How BenchMARL builds and reads the museum env (``config``: ``{"config": "museum-small"}``)."""

    def get_env_fun(self, num_envs, continuous_actions, seed, device):
        name = self.config["config"]
        return lambda: scenarios.make_torchrl(name, num_days=num_envs, seed=seed or 0, device=device)

    def supports_continuous_actions(self):
        return False

    def supports_discrete_actions(self):
        return True

    def has_render(self, env):
        return False

    def max_steps(self, env):
        return env.max_steps()

    def group_map(self, env):
        return env.group_map

    def observation_spec(self, env):  # the guides' observations only (not the mask, not the state)
        spec = env.full_observation_spec_unbatched.clone()
        del spec["state"]
        del spec[GROUP, "action_mask"]
        return spec

    def info_spec(self, env):
        return None

    def state_spec(self, env):
        return Composite({"state": env.full_observation_spec_unbatched["state"].clone()})

    def action_mask_spec(self, env):
        group = env.full_observation_spec_unbatched[GROUP]
        return Composite({GROUP: Composite({"action_mask": group["action_mask"].clone()}, shape=group.shape)})

    def action_spec(self, env):
        return env.full_action_spec_unbatched

    @staticmethod
    def env_name():
        return "cpss_museum"


class MuseumTask(Task):
    """The museum configs as BenchMARL tasks."""

    MUSEUM = None

    @staticmethod
    def associated_class():
        return MuseumTaskClass


def play(env, seed, policy):
    """Per-day return per guide, mean satisfaction and invalid actions of days ``seed .. seed + B - 1``."""
    env.set_seed(seed)
    with torch.no_grad(), set_exploration_type(ExplorationType.DETERMINISTIC):
        data = env.rollout(env.max_steps(), policy=policy, break_when_any_done=True)
    returns = data["next", GROUP, "reward"].squeeze(-1).sum(dim=1).mean(dim=1)  # (B,)
    invalid = int(env.base.infos()["invalid_action"].sum())
    return returns, env.base.summary()["mean_satisfaction"].float(), invalid


def paired(diff):
    """Mean and 95% t-interval half-width of paired differences."""
    from scipy import stats

    n = diff.numel()
    return float(diff.mean()), float(stats.t.ppf(0.975, n - 1) * diff.std(unbiased=True) / n**0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="museum-small")
    parser.add_argument("--days", type=int, default=16, help="days collected side by side per iteration")
    parser.add_argument("--iterations", type=int, default=10, help="training iterations (one day of all days each)")
    parser.add_argument("--eval-days", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    task = MuseumTask.MUSEUM.get_task(config={"config": args.config})
    probe = scenarios.make_torchrl(args.config, num_days=1)
    frames = args.days * probe.max_steps()  # one museum day of every env per iteration
    cfg = ExperimentConfig.get_from_yaml()
    cfg.max_n_frames = frames * args.iterations
    cfg.on_policy_collected_frames_per_batch = frames
    cfg.on_policy_n_envs_per_worker = args.days
    cfg.on_policy_n_minibatch_iters = 4
    cfg.on_policy_minibatch_size = 960
    cfg.lr = 3e-4
    cfg.evaluation, cfg.render, cfg.loggers, cfg.create_json = False, False, [], False
    cfg.checkpoint_interval, cfg.checkpoint_at_end = 0, False
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_folder = tmp
        experiment = Experiment(
            task=task,
            algorithm_config=MappoConfig.get_from_yaml(),
            model_config=MlpConfig.get_from_yaml(),
            critic_model_config=MlpConfig.get_from_yaml(),
            seed=args.seed,
            config=cfg,
        )
        t0 = time.perf_counter()
        experiment.run()
        train_s = time.perf_counter() - t0

    # ---- the trained policy and crowd_aware on the same evaluation days -------------------
    env = scenarios.make_torchrl(args.config, num_days=args.eval_days)
    eval_seed = 100_000
    t0 = time.perf_counter()
    mappo_ret, mappo_sat, mappo_invalid = play(env, eval_seed, experiment.policy)
    eval_s = time.perf_counter() - t0
    heur_ret, heur_sat, _ = play(
        env, eval_seed, lambda td: td.set((GROUP, "action"), env.heuristic_actions("crowd_aware"))
    )
    figures = {
        "config": args.config,
        "train_env_steps": cfg.max_n_frames,
        "train_days": args.days * args.iterations,
        "train_seconds": round(train_s, 1),
        "train_env_steps_per_s": round(cfg.max_n_frames / train_s, 1),
        "eval_days": args.eval_days,
        "eval_env_steps_per_s": round(args.eval_days * env.max_steps() / eval_s, 1),
        "mappo_invalid_actions": mappo_invalid,
        "mappo_return": round(float(mappo_ret.mean()), 3),
        "crowd_aware_return": round(float(heur_ret.mean()), 3),
        "return_diff": [round(x, 3) for x in paired(mappo_ret - heur_ret)],
        "mappo_mean_satisfaction": round(float(mappo_sat.mean()), 4),
        "crowd_aware_mean_satisfaction": round(float(heur_sat.mean()), 4),
        "satisfaction_diff": [round(x, 4) for x in paired(mappo_sat - heur_sat)],
    }
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
