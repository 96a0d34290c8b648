"""Experience storage for the off-policy learners.

:class:`ReplayBuffer` keeps a fixed number of transitions as named, preallocated torch tensors
(one tensor per field, first dimension = capacity) and overwrites the oldest ones when full.
A sample draws **one** index set for all fields, so a multi-agent "joint" buffer is the same
class with one field per agent (``obs_0``, ``obs_1``, ...), as MADDPG requires.

Its :meth:`ReplayBuffer.state_dict` holds tensors and ints only, so checkpoints that contain
it load with ``torch.load(..., weights_only=True)``.

Example:
    >>> import numpy as np, torch
    >>> buf = ReplayBuffer(100, {"obs": ((3,), torch.float32), "action": ((), torch.int64)})
    >>> buf.add(obs=np.zeros(3), action=1)
    >>> batch = buf.sample(8, np.random.default_rng(0))
    >>> batch["obs"].shape
    torch.Size([8, 3])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

FieldSpec = tuple[tuple[int, ...], torch.dtype]
"""Shape of one entry (without the batch dimension) and its dtype."""


class ReplayBuffer:
    """A ring buffer of transitions with named fields.

    Args:
        capacity: Maximum number of transitions kept.
        fields: ``{name: (shape, dtype)}`` of every field a transition carries.
    """

    def __init__(self, capacity: int, fields: Mapping[str, FieldSpec]) -> None:
        if capacity < 1:
            raise ValueError(f"ReplayBuffer capacity must be >= 1, got {capacity}")
        if not fields:
            raise ValueError("ReplayBuffer needs at least one field")
        self.capacity = int(capacity)
        self.fields = {name: (tuple(shape), dtype) for name, (shape, dtype) in fields.items()}
        self.storage = {
            name: torch.zeros((self.capacity, *shape), dtype=dtype) for name, (shape, dtype) in self.fields.items()
        }
        self.pos = 0
        """Index the next transition is written to."""
        self.size = 0
        """Number of transitions held."""

    def __len__(self) -> int:
        return self.size

    def add(self, **transition: Any) -> None:
        """Append one transition; every field must be given, and no other.

        Raises:
            ValueError: A field is missing or unknown.
        """
        if transition.keys() != self.fields.keys():
            missing = sorted(self.fields.keys() - transition.keys())
            unknown = sorted(transition.keys() - self.fields.keys())
            raise ValueError(f"ReplayBuffer.add: missing fields {missing}, unknown {unknown}")
        for name, value in transition.items():
            self.storage[name][self.pos] = torch.as_tensor(np.asarray(value), dtype=self.fields[name][1])
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Draw ``batch_size`` transitions uniformly with replacement.

        Args:
            batch_size: Number of transitions.
            rng: The learner's generator (so sampling is part of its checkpointed state).

        Returns:
            ``{field: tensor of shape (batch_size, *shape)}``, all rows from one index set.
        """
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample called on an empty buffer")
        idx = torch.from_numpy(rng.integers(0, self.size, size=batch_size))
        return {name: tensor[idx] for name, tensor in self.storage.items()}

    def state_dict(self) -> dict[str, Any]:
        """The filled part of the storage plus the write position (tensors and ints only)."""
        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "size": self.size,
            "storage": {name: t[: self.size].clone() for name, t in self.storage.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict` (the capacity and fields must match).

        Raises:
            ValueError: The saved buffer has another capacity or other fields.
        """
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"ReplayBuffer: checkpoint capacity {state['capacity']} != {self.capacity}")
        if state["storage"].keys() != self.storage.keys():
            raise ValueError(f"ReplayBuffer: checkpoint fields {sorted(state['storage'])} != {sorted(self.storage)}")
        self.pos, self.size = int(state["pos"]), int(state["size"])
        for name, saved in state["storage"].items():
            self.storage[name].zero_()
            self.storage[name][: self.size] = saved
