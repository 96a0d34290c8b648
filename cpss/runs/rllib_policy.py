"""Acting with an RLlib-trained policy: its weights-only export by default, its raw checkpoint on request.

An RLlib checkpoint (``checkpoints/last/`` of a ``--backend rllib`` run) is a tree of pickles
(``class_and_ctor_args.pkl``, ``state.pkl``): RLlib's ``from_checkpoint`` unpickles them, which
runs any code a crafted folder holds. So every save of a training run also exports the policies
as two plain files inside the checkpoint (:func:`cpss.runs.rllib_modules.write_export`):

* ``cpss_policy.json``: per RLModule id, the observation size, the action space (``discrete``
  with ``n``, or ``box`` with ``dim``) and the actor's dense layers (``in``, ``out``, ``bias``,
  ``activation``), plus the log-std clip of a Box policy;
* ``cpss_policy.pt``: those layers' weights and biases, a flat dict of tensors.

:func:`load_export` reads the JSON field by field (a one-line ``ConfigError`` names the file and
the field), the tensors with ``torch.load(weights_only=True)`` (names, shapes and finite values
checked against the JSON), and rebuilds each actor as a torch MLP. :class:`ExportedPolicy` acts
as RLlib's default PPO module does at inference: ``forward_inference`` is the encoder's actor MLP
followed by the policy head's MLP, and the deterministic action is the argmax of the logits
(Discrete) or the mean, the first half of the outputs (Box). Where the env's infos carry action
masks, invalid actions' logits become :data:`MASKED_LOGIT` (:func:`mask_logits`, the function the
masking training module applies: :mod:`cpss.runs.rllib_masking`). Loading the raw checkpoint
(:func:`cpss.runs.rllib_modules.load_rllib_checkpoint`) is left to ``--trust-checkpoint``.

This module imports neither Ray nor RLlib. The export covers RLlib's default PPO module with MLP
encoder and head (``model.fcnet_*``, ``model.head_fcnet_*``, ``vf_share_layers`` either way);
:func:`cpss.runs.rllib_modules.actor_layers` refuses LayerNorm, LSTM, CNN and free-log-std
models when training starts.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cpss.kit.config import ConfigError

EXPORT_SPEC = "cpss_policy.json"
EXPORT_WEIGHTS = "cpss_policy.pt"
EXPORT_FORMAT = "cpss-rllib-policy"
EXPORT_VERSION = 1
TRUST_FLAG = "--trust-checkpoint"
ACTIVATIONS = ("linear", "tanh", "relu", "silu", "elu", "sigmoid")
MAX_UNITS = 65_536
"""Largest observation size, action count or layer width an export may declare."""
MAX_LAYERS = 64
MAX_MODULES = 1024
MAX_PARAMETERS = 50_000_000
MAX_SPEC_BYTES = 1 << 20
_MODULE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
MASKED_LOGIT = float(np.finfo(np.float32).min)
"""The logit of an invalid action: finite, so masked distributions keep finite log-probabilities and KLs."""


def mask_logits(logits: Any, mask: Any) -> Any:
    """``logits`` (..., n) with the entries where ``mask`` (..., n; 1 valid, 0 invalid) is 0 set to MASKED_LOGIT."""
    import torch

    invalid = torch.as_tensor(mask, device=logits.device) <= 0
    return logits.masked_fill(invalid, MASKED_LOGIT)


def untrusted_error(ckpt: Path) -> ConfigError:
    """The error for an RLlib checkpoint without a weights-only export (it names the opt-in flag)."""
    return ConfigError(
        f"{ckpt}: no weights-only policy export ({EXPORT_SPEC}); loading the raw RLlib checkpoint unpickles it, "
        f"which executes code from the folder: pass {TRUST_FLAG} only if you trust it"
    )


# ---- reading the export (untrusted input) -----------------------------------------------
def _describe(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Field checks of one spec file; every failure is a one-line ConfigError naming file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {field}: {problem}")

    def obj(self, value: Any, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected an object, got {_describe(value)}")
        for key in keys:
            if key not in value:
                raise self.fail(f"{field}.{key}" if field else key, "missing")
        extra = sorted(str(k) for k in value if k not in keys)
        if extra:
            raise self.fail(f"{field}.{extra[0]}" if field else extra[0], "unknown field")
        return value

    def integer(self, value: Any, field: str, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(field, f"expected an integer in {lo}..{hi}, got {_describe(value)}")
        return value

    def choice(self, value: Any, field: str, options: tuple[Any, ...]) -> Any:
        if isinstance(value, bool) or value not in options:
            raise self.fail(field, f"expected one of {', '.join(map(str, options))}, got {_describe(value)}")
        return value


def _check_module(check: _Checker, mid: str, module: Any) -> int:
    """Check one module's spec; returns its number of parameters."""
    field = f"modules.{mid}"
    check.obj(module, field, ("obs_dim", "action", "layers", "log_std_clip"))
    obs_dim = check.integer(module["obs_dim"], f"{field}.obs_dim", 1, MAX_UNITS)
    action = module["action"]
    if not isinstance(action, dict):
        raise check.fail(f"{field}.action", f"expected an object, got {_describe(action)}")
    kind = check.choice(action.get("type"), f"{field}.action.type", ("discrete", "box"))
    size_key = "n" if kind == "discrete" else "dim"
    check.obj(action, f"{field}.action", ("type", size_key))
    size = check.integer(action[size_key], f"{field}.action.{size_key}", 1, MAX_UNITS)
    clip = module["log_std_clip"]
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float) or not 0 < clip < math.inf):
        raise check.fail(f"{field}.log_std_clip", f"expected null or a positive number, got {_describe(clip)}")
    layers = module["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise check.fail(f"{field}.layers", f"expected a list of 1..{MAX_LAYERS} layers, got {_describe(layers)}")
    params, width = 0, obs_dim
    for i, layer in enumerate(layers):
        where = f"{field}.layers[{i}]"
        check.obj(layer, where, ("in", "out", "bias", "activation"))
        n_in = check.integer(layer["in"], f"{where}.in", 1, MAX_UNITS)
        n_out = check.integer(layer["out"], f"{where}.out", 1, MAX_UNITS)
        if not isinstance(layer["bias"], bool):
            raise check.fail(f"{where}.bias", f"expected true or false, got {_describe(layer['bias'])}")
        check.choice(layer["activation"], f"{where}.activation", ACTIVATIONS)
        if n_in != width:
            raise check.fail(f"{where}.in", f"{n_in}, but the input to this layer has {width} values")
        params += n_in * n_out + (n_out if layer["bias"] else 0)
        width = n_out
    outputs = size if kind == "discrete" else 2 * size
    if width != outputs:
        raise check.fail(f"{field}.layers[{len(layers) - 1}].out", f"{width}, but the {kind} action needs {outputs}")
    return params


def read_spec(path: Path) -> dict[str, Any]:
    """Read and check ``cpss_policy.json`` (every field; one-line ConfigError naming file and field)."""
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_SPEC_BYTES} bytes; not a policy spec")
        spec = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{path}: not a readable JSON policy spec ({first})") from None
    check = _Checker(path)
    check.obj(spec, "", ("format", "version", "algo", "policies", "modules"))
    check.choice(spec["format"], "format", (EXPORT_FORMAT,))
    check.integer(spec["version"], "version", EXPORT_VERSION, EXPORT_VERSION)
    check.choice(spec["algo"], "algo", ("ppo",))
    policies = check.choice(spec["policies"], "policies", ("shared", "per-agent"))
    modules = spec["modules"]
    if not isinstance(modules, dict) or not 1 <= len(modules) <= MAX_MODULES:
        raise check.fail("modules", f"expected an object of 1..{MAX_MODULES} modules, got {_describe(modules)}")
    for mid in modules:
        if not _MODULE_ID.fullmatch(mid):
            raise check.fail("modules", f"bad module id {_describe(mid)} (letters, digits, _ . - only)")
    if policies == "shared" and set(modules) != {"shared"}:
        raise check.fail("modules", "shared policies have exactly one module, 'shared'")
    total = sum(_check_module(check, mid, module) for mid, module in modules.items())
    if total > MAX_PARAMETERS:
        raise check.fail("modules", f"{total} parameters, more than {MAX_PARAMETERS}")
    spec["parameters"] = total
    return spec


def read_weights(path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Read ``cpss_policy.pt`` with ``torch.load(weights_only=True)`` and check it against the spec.

    Returns:
        Tensor name (``MODULE/layers.I.weight`` or ``.bias``) -> float32 tensor.
    """
    import torch

    expected: dict[str, tuple[int, ...]] = {}
    for mid, module in spec["modules"].items():
        for i, layer in enumerate(module["layers"]):
            expected[f"{mid}/layers.{i}.weight"] = (layer["out"], layer["in"])
            if layer["bias"]:
                expected[f"{mid}/layers.{i}.bias"] = (layer["out"],)
    if not path.is_file():
        raise ConfigError(f"{path}: missing (the weights of {path.with_name(EXPORT_SPEC).name})")
    if path.stat().st_size > 8 * spec["parameters"] + 4096 * len(expected) + (1 << 20):
        raise ConfigError(f"{path}: far larger than the {spec['parameters']} parameters its spec declares")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: RuntimeError, UnpicklingError, EOFError, BadZipFile, OSError, ...
        raise ConfigError(
            f"{path}: not a readable weights file: corrupt, truncated, or not a weights-only torch file "
            f"({type(exc).__name__})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a dict of tensors, got {type(data).__name__}")
    for name in data:
        if name not in expected:
            raise ConfigError(f"{path}: {_describe(name)}: a tensor the spec does not declare")
    out = {}
    for name, shape in expected.items():
        tensor = data.get(name)
        if tensor is None:
            raise ConfigError(f"{path}: {name}: missing")
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided or not tensor.dtype.is_floating_point:
            raise ConfigError(f"{path}: {name}: expected a dense float tensor, got {type(tensor).__name__}")
        if tuple(tensor.shape) != shape:
            raise ConfigError(f"{path}: {name}: shape {tuple(tensor.shape)}, the spec says {shape}")
        if not bool(torch.isfinite(tensor).all()):
            raise ConfigError(f"{path}: {name}: not all values are finite")
        out[name] = tensor.detach().to(torch.float32).contiguous()
    return out


def _network(mid: str, module: dict[str, Any], tensors: dict[str, Any]) -> Any:
    """The actor MLP of one module, built without drawing from torch's global RNG."""
    import torch
    from torch import nn

    kinds = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU, "elu": nn.ELU, "sigmoid": nn.Sigmoid}
    parts: list[Any] = []
    for i, layer in enumerate(module["layers"]):
        linear = torch.nn.utils.skip_init(nn.Linear, layer["in"], layer["out"], bias=layer["bias"])
        with torch.no_grad():
            linear.weight.copy_(tensors[f"{mid}/layers.{i}.weight"])
            if layer["bias"]:
                linear.bias.copy_(tensors[f"{mid}/layers.{i}.bias"])
        parts.append(linear)
        if layer["activation"] != "linear":
            parts.append(kinds[layer["activation"]]())
    return nn.Sequential(*parts).eval().requires_grad_(False)


def _env_spaces(path: Path, spec: dict[str, Any], env: Any) -> dict[str, Any]:
    """Module id -> the env's action space, after checking every agent's spaces against the spec."""
    from gymnasium import spaces

    if not hasattr(env, "possible_agents"):
        raise ConfigError(f"{path}: an RLlib policy acts in the multi-agent env (the run's multi_agent is false)")
    check, found = _Checker(path), {}
    for agent in env.possible_agents:
        mid = "shared" if spec["policies"] == "shared" else agent
        module = spec["modules"].get(mid)
        if module is None:
            raise check.fail("modules", f"no module for agent {agent!r}")
        n_obs = int(np.prod(env.observation_space(agent).shape))
        if n_obs != module["obs_dim"]:
            raise check.fail(f"modules.{mid}.obs_dim", f"{module['obs_dim']}, but {agent} observes {n_obs} values")
        space, action = env.action_space(agent), module["action"]
        if isinstance(space, spaces.Discrete):
            fits = action["type"] == "discrete" and action["n"] == int(space.n)
        else:
            fits = (
                isinstance(space, spaces.Box) and action["type"] == "box" and action["dim"] == int(np.prod(space.shape))
            )
        if not fits:
            raise check.fail(
                f"modules.{mid}.action", f"{_describe(action)} does not fit {agent}'s action space {space}"
            )
        found.setdefault(mid, space)
    return found


def load_export(ckpt: Path, saved: dict[str, Any], env: Any) -> ExportedPolicy:
    """The policy of an RLlib checkpoint from its weights-only export; nothing is unpickled.

    Args:
        ckpt: The checkpoint folder (``checkpoints/last``).
        saved: The run's config.json.
        env: The multi-agent env the policy acts in (its spaces are checked against the export).

    Raises:
        ConfigError: No export (the message names ``--trust-checkpoint``), or a field, tensor or
            space that is wrong, naming the file and the field.
    """
    spec_path = ckpt / EXPORT_SPEC
    if not spec_path.is_file():
        raise untrusted_error(ckpt)
    spec = read_spec(spec_path)
    if saved.get("policies", spec["policies"]) != spec["policies"]:
        raise ConfigError(
            f"{spec_path}: policies: {spec['policies']}, but the run's config.json says {saved['policies']}"
        )
    tensors = read_weights(ckpt / EXPORT_WEIGHTS, spec)
    found = _env_spaces(spec_path, spec, env)
    networks = {mid: _network(mid, spec["modules"][mid], tensors) for mid in found}
    clips = {mid: spec["modules"][mid]["log_std_clip"] for mid in found}
    return ExportedPolicy(networks, found, clips, spec["policies"], f"rllib-{spec['algo']}")


def group_agents(observations: dict[str, Any], policies: str) -> dict[str, list[str]]:
    """Module id -> the agents of ``observations`` it acts for (``shared``: one module for all)."""
    groups: dict[str, list[str]] = {}
    for agent in observations:
        groups.setdefault("shared" if policies == "shared" else agent, []).append(agent)
    return groups


class ExportedPolicy:
    """An RLlib policy rebuilt from its weights-only export, behind the learner interface (``name``, ``act``).

    Args:
        networks: Module id -> actor MLP (observations -> action distribution inputs).
        action_spaces: Module id -> the action space of its agents.
        log_std_clips: Module id -> the clip of a Box policy's log-std outputs (None: unclipped).
        policies: ``shared`` or ``per-agent``.
        name: Label in evaluation tables.
    """

    def __init__(
        self,
        networks: dict[str, Any],
        action_spaces: dict[str, Any],
        log_std_clips: dict[str, float | None],
        policies: str,
        name: str = "rllib-ppo",
    ) -> None:
        self.networks, self.action_spaces, self.log_std_clips = networks, action_spaces, log_std_clips
        self.policies, self.name = policies, name

    def logits(self, module_id: str, obs: np.ndarray, mask: np.ndarray | None = None) -> Any:
        """(N, n) logits of a discrete module for (N, obs_dim) observations, masked where ``mask`` is 0.

        The same values as the RLlib module's ``forward_inference`` ``action_dist_inputs`` (with
        the masks in its observations, for a module trained with masks).
        """
        import torch

        with torch.no_grad():
            out = self.networks[module_id](torch.as_tensor(obs, dtype=torch.float32))
        return out if mask is None else mask_logits(out, mask)

    def act(
        self, observations: dict[str, np.ndarray], infos: dict[str, dict] | None = None, deterministic: bool = True
    ) -> dict[str, Any]:
        """One action per agent in ``observations`` (invalid discrete actions masked out)."""
        import torch
        from gymnasium import spaces

        actions: dict[str, Any] = {}
        for mid, names in group_agents(observations, self.policies).items():
            if mid not in self.networks:
                raise ValueError(f"no policy for agent {names[0]!r}")
            obs = np.stack([np.asarray(observations[a], dtype=np.float32).reshape(-1) for a in names])
            space = self.action_spaces[mid]
            if isinstance(space, spaces.Discrete):
                masks = [(infos or {}).get(a, {}).get("action_mask") for a in names]
                mask = np.stack(masks) if all(m is not None and np.any(m) for m in masks) else None
                out = self.logits(mid, obs, mask)
                sample = out.argmax(-1) if deterministic else torch.distributions.Categorical(logits=out).sample()
                actions.update({a: int(x) for a, x in zip(names, sample.numpy(), strict=True)})
                continue
            with torch.no_grad():
                out = self.networks[mid](torch.from_numpy(obs))
            mean, log_std = out.chunk(2, dim=-1)
            clip = self.log_std_clips.get(mid)
            if clip is not None:
                log_std = log_std.clamp(-clip, clip)
            sample = mean if deterministic else torch.distributions.Normal(mean, log_std.exp()).sample()
            for agent, action in zip(names, sample.numpy(), strict=True):
                actions[agent] = np.clip(action.reshape(space.shape), space.low, space.high).astype(space.dtype)
        return actions
