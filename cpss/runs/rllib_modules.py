"""RLlib's side of a trained policy: checkpoints with a weights-only export, the raw modules on request.

:func:`save_checkpoint` writes each checkpoint of a ``--backend rllib`` run; into it,
:func:`write_export` writes the network that :func:`actor_layers` reads from each trained
RLModule (RLlib's default PPO torch module, or its masking subclass
:class:`cpss.runs.rllib_masking.MaskedPPOModule`) and its weights, as ``cpss_policy.json`` and
``cpss_policy.pt`` (format and reader: :mod:`cpss.runs.rllib_policy`). :class:`RLlibPolicy` acts
with live RLModules: during training, and from :func:`load_rllib_checkpoint`, which unpickles a
checkpoint folder and so runs code from it (only behind ``--trust-checkpoint``).
:func:`load_policy` picks between the two loaders.

How RLlib 2.60 stores an RLModule: ``learner_group/learner/rl_module/<module id>/`` holds
``class_and_ctor_args.pkl`` (the class and its constructor arguments, cloudpickled),
``module_state.pkl`` (the ``state_dict`` as numpy arrays, pickled) and ``metadata.json``. Its
``forward_inference`` runs ``encoder`` (``encoder.encoder`` when the value function shares the
layers, else ``encoder.actor_encoder``: a ``TorchMLPEncoder`` whose ``net.mlp`` is a
``Sequential`` of ``Linear`` and activation layers) and then ``pi`` (a ``TorchMLPHead``, again
``net.mlp``), giving the action distribution inputs: Categorical logits, or a diagonal Gaussian's
means and log-stds (clipped to ``log_std_clip_param``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from cpss.kit.config import ConfigError
from cpss.runs.rllib_policy import (
    EXPORT_FORMAT,
    EXPORT_SPEC,
    EXPORT_VERSION,
    EXPORT_WEIGHTS,
    ExportedPolicy,
    group_agents,
    load_export,
    mask_logits,
)
from cpss.runs.runio import write_json

MODULE_DIR = Path("learner_group") / "learner" / "rl_module"


def _activation_name(layer: Any) -> str | None:
    from torch import nn

    names = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu", nn.Sigmoid: "sigmoid"}
    if type(layer) is nn.ELU and layer.alpha == 1.0:
        return "elu"
    return names.get(type(layer))


def actor_layers(module: Any, module_id: str) -> dict[str, Any]:
    """The export spec of one RLModule's actor, each layer with its state-dict name (``param``).

    Args:
        module: A trained RLModule (RLlib's default PPO torch module).
        module_id: Its id, for messages.

    Returns:
        ``{"obs_dim", "action", "layers", "log_std_clip"}``; each layer is
        ``{"in", "out", "bias", "activation", "param"}``.

    Raises:
        ConfigError: A model the export does not cover.
    """
    from gymnasium import spaces
    from torch import nn

    def refuse(why: str) -> ConfigError:
        return ConfigError(
            f"rllib module {module_id!r}: {why}; the weights-only policy export (what cpss eval, sweep, batch and "
            "viz load) covers MLP models only (model.fcnet_*, model.head_fcnet_*; no LayerNorm, LSTM or free_log_std)"
        )

    encoder = getattr(module, "encoder", None)
    actor = getattr(encoder, "actor_encoder", None)
    actor = actor if actor is not None else getattr(encoder, "encoder", None)
    pi = getattr(module, "pi", None)
    if module.is_stateful() or type(actor).__name__ != "TorchMLPEncoder" or type(pi).__name__ != "TorchMLPHead":
        raise refuse(f"encoder {type(actor).__name__}, policy head {type(pi).__name__}")
    paths = {id(sub): name for name, sub in module.named_modules()}
    layers: list[dict[str, Any]] = []
    for seq in (actor.net.mlp, pi.net.mlp):
        for idx, child in enumerate(seq):
            name = f"{paths[id(seq)]}.{idx}"
            activation = _activation_name(child)
            if isinstance(child, nn.Linear):
                bias = child.bias is not None
                layers.append({"in": child.in_features, "out": child.out_features, "bias": bias, "param": name})
                layers[-1]["activation"] = "linear"
            elif activation is not None and layers and layers[-1]["activation"] == "linear":
                layers[-1]["activation"] = activation
            else:
                raise refuse(f"layer {name} is {type(child).__name__}")
    obs, act = module.observation_space, module.action_space
    if isinstance(obs, spaces.Dict) and "observations" in obs.spaces:  # a masking module (cpss.runs.rllib_masking)
        obs = obs["observations"]
    if not isinstance(obs, spaces.Box) or len(obs.shape) != 1:
        raise refuse(f"observation space {obs}")
    if isinstance(act, spaces.Discrete):
        action, outputs = {"type": "discrete", "n": int(act.n)}, int(act.n)
    elif isinstance(act, spaces.Box) and len(act.shape) == 1:
        action, outputs = {"type": "box", "dim": int(act.shape[0])}, 2 * int(act.shape[0])
    else:
        raise refuse(f"action space {act}")
    if not layers or layers[0]["in"] != obs.shape[0] or layers[-1]["out"] != outputs:
        raise refuse("layer sizes that do not match its spaces")
    clip = float(pi.log_std_clip_param_const.item()) if pi.clip_log_std and action["type"] == "box" else None
    return {"obs_dim": int(obs.shape[0]), "action": action, "layers": layers, "log_std_clip": clip}


def write_export(
    folder: Path, plans: dict[str, dict[str, Any]], weights: dict[str, Any], policies: str, algo: str
) -> None:
    """Write ``cpss_policy.json`` and ``cpss_policy.pt`` into a checkpoint folder.

    Args:
        folder: The (new) checkpoint folder.
        plans: Module id -> :func:`actor_layers`.
        weights: Module id -> the module's state dict (RLlib's ``learner_group.get_weights()``).
        policies: ``shared`` or ``per-agent``.
        algo: The RLlib algorithm (``ppo``).
    """
    import torch

    tensors: dict[str, Any] = {}
    modules: dict[str, Any] = {}
    for mid, plan in plans.items():
        state = weights[mid]
        for i, layer in enumerate(plan["layers"]):
            for part in ("weight", "bias") if layer["bias"] else ("weight",):
                value = np.asarray(state[f"{layer['param']}.{part}"], dtype=np.float32)
                tensors[f"{mid}/layers.{i}.{part}"] = torch.from_numpy(value.copy())
        modules[mid] = {
            **{k: plan[k] for k in ("obs_dim", "action", "log_std_clip")},
            "layers": [{k: layer[k] for k in ("in", "out", "bias", "activation")} for layer in plan["layers"]],
        }
    spec = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "algo": algo, "policies": policies, "modules": modules}
    torch.save(tensors, folder / EXPORT_WEIGHTS)
    (folder / EXPORT_SPEC).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ---- the raw RLlib modules (trusted folders only) ---------------------------------------
def _fsync(path: Path) -> None:
    """Flush one file or folder to disk; a no-op where it cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk (before it becomes the checkpoint)."""
    for path in [*sorted(folder.rglob("*"), reverse=True), folder]:
        if not path.is_symlink():
            _fsync(path)


def _point_last(last: Path, name: str) -> None:
    """Make ``last`` name the checkpoint folder ``name`` beside it, with no moment without ``last``.

    ``last`` is a relative symlink replaced by a rename (atomic). Two cases leave a short gap: the
    first save into a run folder written before ``last`` became a link (its ``last`` is the folder
    itself), and a file system without symlinks, where ``last`` is renamed away and the new folder
    renamed into its place.
    """
    link, old = last.with_name(".last.link"), last.with_name(".last.old")
    link.unlink(missing_ok=True)
    try:
        os.symlink(name, link, target_is_directory=True)
    except OSError:  # no symlinks here: swap the folders
        shutil.rmtree(old, ignore_errors=True)
        if last.exists() or last.is_symlink():
            os.replace(last, old)
        os.replace(last.with_name(name), last)
        return
    if last.is_dir() and not last.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(last, old)
    os.replace(link, last)


def save_checkpoint(algo: Any, last: Path, progress: dict[str, Any], plans: dict[str, Any], policies: str) -> None:
    """Save a training run's checkpoint: ``iteration-N`` beside ``last``, then point ``last`` at it.

    The new folder holds RLlib's checkpoint (``algo.save_to_path``), ``cpss_progress.json`` and
    the weights-only export (:func:`write_export`); it is flushed to disk before ``last`` moves
    (:func:`_point_last`), and older ``iteration-*`` folders are removed after.

    Args:
        algo: The RLlib Algorithm.
        last: ``RUN/checkpoints/last``.
        progress: The run's counters (``env_steps``, ``episodes``, ``iteration``).
        plans: Module id -> :func:`actor_layers` of the algorithm's modules.
        policies: ``shared`` or ``per-agent``.
    """
    root = last.parent
    root.mkdir(parents=True, exist_ok=True)
    name = f"iteration-{progress['iteration']:06d}"
    if last.is_symlink() and os.readlink(last) == name:  # never rewrite the folder ``last`` names
        name += "-b"
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    algo.save_to_path(str(target.resolve()))
    write_json(target / "cpss_progress.json", progress)
    write_export(target, plans, algo.learner_group.get_weights(module_ids=list(plans)), policies, "ppo")
    _fsync_tree(target)
    _point_last(last, name)
    _fsync(root)
    keep = os.readlink(last) if last.is_symlink() else None
    for stale in root.iterdir():
        if stale.name in (keep, last.name) or not stale.name.startswith(("iteration-", ".last")):
            continue
        if stale.is_symlink() or stale.is_file():
            stale.unlink(missing_ok=True)
        else:
            shutil.rmtree(stale, ignore_errors=True)


class RLlibPolicy:
    """Trained RLlib modules behind the learner interface of ``agents.evaluate.evaluate``.

    Args:
        modules: Module id -> RLModule.
        policies: ``shared`` or ``per-agent``.
        name: Label in evaluation tables.
    """

    def __init__(self, modules: dict[str, Any], policies: str, name: str = "rllib-ppo") -> None:
        self.modules, self.policies, self.name = modules, policies, name

    def act(
        self, observations: dict[str, np.ndarray], infos: dict[str, dict] | None = None, deterministic: bool = True
    ) -> dict[str, Any]:
        """One action per agent in ``observations`` (invalid discrete actions masked out)."""
        import torch
        from gymnasium import spaces

        actions: dict[str, Any] = {}
        for mid, names in group_agents(observations, self.policies).items():
            module = self.modules[mid]
            obs = torch.as_tensor(np.stack([observations[a] for a in names]), dtype=torch.float32)
            discrete = isinstance(module.action_space, spaces.Discrete)
            masks = [(infos or {}).get(a, {}).get("action_mask") for a in names]
            mask = np.stack(masks) if discrete and all(m is not None and np.any(m) for m in masks) else None
            batch = {"obs": obs}
            if isinstance(module.observation_space, spaces.Dict):  # trained with masks: they go in the observation
                n = int(module.action_space.n)
                ones = np.ones((len(names), n), dtype=np.float32)
                batch = {"obs": {"observations": obs, "action_mask": torch.as_tensor(ones if mask is None else mask)}}
            with torch.no_grad():
                logits = module.forward_inference(batch)["action_dist_inputs"]
            if mask is not None:
                logits = mask_logits(logits, mask)
            dist = module.get_inference_action_dist_cls().from_logits(logits)
            sample = (dist.to_deterministic() if deterministic else dist).sample().numpy()
            for agent, action in zip(names, sample, strict=True):
                if discrete:
                    actions[agent] = int(action)
                else:
                    space = module.action_space
                    actions[agent] = np.clip(action, space.low, space.high).astype(space.dtype)
        return actions


def load_rllib_checkpoint(ckpt: Path, saved: dict[str, Any]) -> RLlibPolicy:
    """Restore the RLModules of an RLlib checkpoint folder (no Ray instance needed).

    This unpickles files of the folder, which runs any code they hold: only for trusted folders
    (``--trust-checkpoint``).
    """
    try:
        from ray.rllib.core.rl_module.rl_module import RLModule
    except ImportError:
        raise ConfigError(f"{ckpt}: an RLlib run; install the 'distributed' extra to load it") from None
    root = ckpt.resolve() / MODULE_DIR
    ids = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not ids:
        raise ConfigError(f"{ckpt}: no RLlib modules under {root}")
    rllib_logger = logging.getLogger("ray")
    level = rllib_logger.level
    rllib_logger.setLevel(logging.ERROR)  # RLlib 2.60 warns about its own deprecated RLModule(config=...) here
    try:
        modules = {mid: RLModule.from_checkpoint(str(root / mid)) for mid in ids}
    finally:
        rllib_logger.setLevel(level)
    return RLlibPolicy(modules, saved.get("policies", "shared"), f"rllib-{saved.get('algo', 'ppo')}")


def load_policy(ckpt: Path, saved: dict[str, Any], env: Any, *, trust: bool = False) -> ExportedPolicy | RLlibPolicy:
    """The policy of an RLlib run: its weights-only export, or with ``trust`` the raw checkpoint.

    Args:
        ckpt: The checkpoint folder.
        saved: The run's config.json.
        env: The multi-agent env the policy acts in.
        trust: Load the raw RLlib checkpoint (unpickles, so runs code from the folder).
    """
    return load_rllib_checkpoint(ckpt, saved) if trust else load_export(ckpt, saved, env)
