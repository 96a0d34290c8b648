"""Small torch building blocks shared by the deep learners.

Besides the networks, this module holds the few space helpers the single-agent learners share:
flattening observations (``Discrete`` becomes one-hot), reading an action mask from an info
dict, and mapping normalised actions in ``[-1, 1]`` onto a ``Box`` action space.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.distributions import Categorical, Distribution, Normal


def layer_init(layer: nn.Linear, std: float = float(np.sqrt(2)), bias: float = 0.0) -> nn.Linear:
    """Orthogonal weight init with a constant bias (the usual PPO/A2C initialisation).

    Args:
        layer: The linear layer to initialise in place.
        std: Gain of the orthogonal initialisation.
        bias: Constant bias value.

    Returns:
        The same layer, for chaining.
    """
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int] = (64, 64),
    activation: type[nn.Module] = nn.Tanh,
    out_std: float = 1.0,
) -> nn.Sequential:
    """A multi-layer perceptron ``in_dim -> hidden... -> out_dim``.

    Args:
        in_dim: Input features.
        out_dim: Output features.
        hidden: Widths of the hidden layers.
        activation: Activation class placed after each hidden layer.
        out_std: Init gain of the output layer (small for policy heads, 1 for values).

    Returns:
        The network.
    """
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [layer_init(nn.Linear(last, width)), activation()]
        last = width
    layers.append(layer_init(nn.Linear(last, out_dim), std=out_std))
    return nn.Sequential(*layers)


def masked_logits(logits_BA: torch.Tensor, mask_BA: torch.Tensor | None) -> torch.Tensor:
    """Set the logits of invalid actions to a large negative value.

    Args:
        logits_BA: Logits, batch x actions.
        mask_BA: 1 for valid, 0 for invalid actions (or None for no mask). A row with no valid
            action is left unmasked.

    Returns:
        The masked logits.
    """
    if mask_BA is None:
        return logits_BA
    valid = mask_BA > 0
    valid = valid | ~valid.any(dim=-1, keepdim=True)
    return torch.where(valid, logits_BA, torch.full_like(logits_BA, -1e9))


def flatten_obs(space: spaces.Space, obs: Any) -> np.ndarray:
    """Flatten one observation to a float32 vector (``Discrete`` observations become one-hot).

    Args:
        space: The observation space.
        obs: One observation from that space.

    Returns:
        A 1-D float32 array of length ``spaces.flatdim(space)``.
    """
    return np.asarray(spaces.flatten(space, obs), dtype=np.float32).reshape(-1)


def info_action_mask(info: Mapping[str, Any] | None, n: int) -> np.ndarray | None:
    """Return ``info["action_mask"]`` as an int8 array of length ``n``, or None without one.

    Args:
        info: A Gymnasium info dict (or None).
        n: Number of discrete actions.

    Raises:
        ValueError: The mask has the wrong length.
    """
    if not info or info.get("action_mask") is None:
        return None
    mask = np.asarray(info["action_mask"], dtype=np.int8).reshape(-1)
    if mask.shape[0] != n:
        raise ValueError(f"action_mask has {mask.shape[0]} entries, the action space has {n}")
    return mask


def has_finite_bounds(space: spaces.Space) -> bool:
    """Whether ``space`` is a Box whose every bound is finite."""
    return (
        isinstance(space, spaces.Box) and bool(np.all(np.isfinite(space.low))) and bool(np.all(np.isfinite(space.high)))
    )


def scale_action(space: spaces.Box, action_norm: np.ndarray) -> np.ndarray:
    """Map a normalised action in ``[-1, 1]`` onto ``space`` (clipped to its bounds).

    Dimensions with an infinite bound are passed through unscaled.

    Args:
        space: The Box action space.
        action_norm: Flat normalised action.

    Returns:
        An action of ``space.shape`` and ``space.dtype``.
    """
    low, high = space.low.reshape(-1).astype(np.float64), space.high.reshape(-1).astype(np.float64)
    a = np.asarray(action_norm, dtype=np.float64).reshape(-1)
    finite = np.isfinite(low) & np.isfinite(high)
    scaled = np.where(finite, low + (np.clip(a, -1.0, 1.0) + 1.0) * 0.5 * (high - low), a)
    return np.clip(scaled, low, high).reshape(space.shape).astype(space.dtype)


class StochasticPolicy(nn.Module):
    """A policy network: categorical for ``Discrete`` actions, Gaussian for ``Box`` actions.

    The Gaussian head outputs a state-dependent mean and either a learned state-independent
    log-std or, with ``state_dependent_std``, a second head for the log-std: the "mean and
    variance" network of the seed lecture's policy-gradient slide. Gaussian actions live in
    normalised coordinates; :func:`scale_action` maps them onto the env's bounds. With
    ``bounded_mean`` the mean is squashed by ``tanh`` into ``[-1, 1]`` (for finite bounds), so
    it cannot drift to where every sample is clipped and the gradient signal vanishes.

    Args:
        obs_dim: Flat observation size.
        action_space: ``Discrete`` or ``Box``.
        hidden: Widths of the hidden layers.
        state_dependent_std: Learn the log-std as a function of the observation.
        init_log_std: Initial log-std of the Gaussian.
        bounded_mean: Squash the Gaussian mean into ``[-1, 1]`` with ``tanh``.
    """

    def __init__(
        self,
        obs_dim: int,
        action_space: spaces.Space,
        hidden: Sequence[int] = (64, 64),
        state_dependent_std: bool = False,
        init_log_std: float = -0.5,
        bounded_mean: bool = False,
    ) -> None:
        super().__init__()
        self.discrete = isinstance(action_space, spaces.Discrete)
        self.bounded_mean = bounded_mean
        self.state_dependent_std = state_dependent_std
        if self.discrete:
            self.head = mlp(obs_dim, int(action_space.n), hidden, out_std=0.01)
            return
        act_dim = int(np.prod(action_space.shape))
        self.head = mlp(obs_dim, act_dim, hidden, out_std=0.01)
        if state_dependent_std:
            self.log_std_head = mlp(obs_dim, act_dim, hidden, out_std=0.01)
            nn.init.constant_(self.log_std_head[-1].bias, init_log_std)
        else:
            self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def distribution(self, obs_BO: torch.Tensor, mask_BA: torch.Tensor | None = None) -> Distribution:
        """The action distribution for a batch of observations (masks apply to Discrete)."""
        if self.discrete:
            return Categorical(logits=masked_logits(self.head(obs_BO), mask_BA))
        mean_BA = self.head(obs_BO)
        if self.bounded_mean:
            mean_BA = torch.tanh(mean_BA)
        log_std = self.log_std_head(obs_BO) if self.state_dependent_std else self.log_std
        return Normal(mean_BA, log_std.clamp(-5.0, 2.0).expand_as(mean_BA).exp())

    def log_prob(self, dist: Distribution, actions_B: torch.Tensor) -> torch.Tensor:
        """Log-probability of a batch of actions, one value per row."""
        if self.discrete:
            return dist.log_prob(actions_B.long())
        return dist.log_prob(actions_B).sum(-1)

    def entropy(self, dist: Distribution) -> torch.Tensor:
        """Entropy of the distribution, one value per row."""
        return dist.entropy() if self.discrete else dist.entropy().sum(-1)

    def sample(self, dist: Distribution, generator: torch.Generator, deterministic: bool = False) -> torch.Tensor:
        """Draw actions with the learner's own generator (or take the mode)."""
        if self.discrete:
            if deterministic:
                return dist.probs.argmax(-1)
            return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
        if deterministic:
            return dist.mean
        noise = torch.randn(dist.mean.shape, generator=generator)
        return dist.mean + dist.stddev * noise


def stack_masks(masks: Sequence[np.ndarray | None], n: int) -> torch.Tensor | None:
    """Stack per-step action masks into a ``T x n`` tensor (None when no step had a mask).

    Steps without a mask count as "all actions allowed".
    """
    if all(m is None for m in masks):
        return None
    ones = np.ones(n, dtype=np.float32)
    return torch.as_tensor(np.stack([ones if m is None else m for m in masks]), dtype=torch.float32)
