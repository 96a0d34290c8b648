"""The registry of equations: each written once per form, checked across backends by one test.

An equation of a world is a pure function of array inputs and one named parameter record (a
``NamedTuple`` whose fields are read by name, never by position). It has two forms, written
side by side in its world's equations module:

* the **numpy form**: plain numpy ufuncs (``np.exp``, ``np.maximum``…) over broadcastable arrays;
  numba compiles the very same function, which kernels call on scalars;
* the **torch form**: the same formula over tensors, for the batched engine (where the formula
  is plain arithmetic, the numpy form serves torch as it is, and no second copy is written).
  Torch forms use tensor methods (``x.exp()``, ``x.clamp()``), so that the numpy world never
  imports torch.

:func:`register` records both forms and the input domains and returns the compiled (numba)
numpy form itself. It also tells numba to compile the numpy form wherever compiled code calls
it (a numba ``overload``), so kernels call ``crowd_term(...)`` by its own name on scalars, and
equations may call each other::

    def crowd_term(viewers, density, queue_wait, p: FParams):
        return social_proof(viewers, p) - crowding(density, p) - p.wait_cost * queue_wait

    def crowd_term_torch(viewers, density, queue_wait, p: FParams):
        return social_proof_torch(viewers, p) - crowding_torch(density, p) - p.wait_cost * queue_wait

    register(crowd_term, crowd_term_torch, params=(FParams,), viewers=COUNT, density=DENSITY, queue_wait=MINUTES)

``tests/test_equations.py`` walks :data:`EQUATIONS` and checks, for every registered equation,
that the numpy, numba and torch forms agree on random inputs from the declared domains and on
their edge values (zero occupancy, full rooms, closed items), with parameters drawn around
each field's default. A new equation, or a new parameter field with a default, is covered
without editing the test.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from numba.extending import overload

from cpss.kit.jit import jit


@dataclasses.dataclass(frozen=True)
class Domain:
    """Where one input of an equation lives (for the cross-backend test and the docs).

    Attributes:
        low: Smallest value drawn.
        high: Largest value drawn.
        integer: Draw integers (counts, flags).
        edges: Values always tested, e.g. 0 for an empty room.
    """

    low: float
    high: float
    integer: bool = False
    edges: tuple[float, ...] = ()


COUNT = Domain(0, 40, integer=True, edges=(0.0, 1.0))
"""People counted at an item or in a room (viewers, queue length)."""
FLAG = Domain(0, 1, integer=True, edges=(0.0, 1.0))
"""A 0/1 indicator (guided, event running, item open)."""
UNIT = Domain(0.0, 1.0, edges=(0.0, 1.0))
"""A share or level in [0, 1] (attention, trust, noise)."""
SIGNED_UNIT = Domain(-0.5, 1.5, edges=(-0.5, 0.0, 1.0, 1.5))
"""A score that may leave [0, 1] before clipping (interest match)."""
DENSITY = Domain(0.0, 4.0, edges=(0.0, 0.5, 4.0))
"""Persons per m² (0: empty room; 4: packed, past the safety cap)."""
MINUTES = Domain(0.0, 120.0, edges=(0.0,))
"""Minutes (walking, queueing, elapsed)."""
EXPOSURE = Domain(0.0, 30.0, edges=(0.0,))
"""Accumulated exposure to an item's topics."""
UTILITY = Domain(-3.0, 3.0, edges=(0.0,))
"""A utility or logit."""
NORMAL = Domain(-4.0, 4.0, edges=(0.0,))
"""A standard normal draw."""


@dataclasses.dataclass(frozen=True)
class Equation:
    """One registered equation.

    Attributes:
        name: The numpy form's name.
        numpy: The numpy form (also what numba compiles).
        torch: The torch form (the numpy form itself where the body is plain arithmetic).
        compiled: The numpy form compiled on its own by numba (what the test calls on scalars).
        inputs: Input name -> its domain, in call order (the parameter records come last).
        params: The types (``NamedTuple``) of the parameter records that end the signature.
        module: Module of the numpy form.
    """

    name: str
    numpy: Callable[..., Any]
    torch: Callable[..., Any]
    compiled: Callable[..., Any]
    inputs: dict[str, Domain]
    params: tuple[type, ...]
    module: str


EQUATIONS: dict[str, Equation] = {}
"""Every registered equation, by ``module:name``."""


def register(
    numpy_form: Callable[..., Any],
    torch_form: Callable[..., Any] | None = None,
    *,
    params: tuple[type, ...] = (),
    **inputs: Domain,
) -> Callable[..., Any]:
    """Record an equation's forms and input domains, and let compiled code call the numpy form.

    Args:
        numpy_form: The numpy form, ``f(*inputs, *records)``.
        torch_form: The torch form with the same signature; None where the numpy form's body is
            plain arithmetic that works on tensors as written.
        params: The types of the parameter records the equation reads by name (last arguments).
        **inputs: Each input's :class:`Domain`, in the order of the signature.

    Returns:
        The numpy form, unchanged (so ``register`` can sit right under it).

    Raises:
        TypeError: The domains do not name the inputs in signature order, or the forms' signatures differ.
    """
    names = list(inspect.signature(numpy_form).parameters)
    if list(inputs) != names[: len(names) - len(params)]:
        raise TypeError(f"{numpy_form.__name__}: domains {list(inputs)} must name the inputs {names} minus the records")
    if torch_form is not None and list(inspect.signature(torch_form).parameters) != names:
        raise TypeError(f"{torch_form.__name__}: its signature must be {numpy_form.__name__}'s")
    _compile_where_called(numpy_form)
    compiled = jit(numpy_form)
    key = f"{numpy_form.__module__}:{numpy_form.__name__}"
    EQUATIONS[key] = Equation(
        name=numpy_form.__name__,
        numpy=numpy_form,
        torch=torch_form or numpy_form,
        compiled=compiled,
        inputs=dict(inputs),
        params=params,
        module=numpy_form.__module__,
    )
    return numpy_form


def _compile_where_called(fn: Callable[..., Any]) -> None:
    """Register ``fn`` as a numba overload of itself: compiled code that calls it compiles it.

    numba wants the typing function to have the implementation's signature, so it gets a copy
    of ``fn``'s; it returns ``fn`` itself as the implementation.
    """

    def typing(*args: Any) -> Callable[..., Any]:
        return fn

    typing.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    overload(fn, jit_options={"error_model": "numpy"})(typing)
