"""Compile a kernel or an equation with numba, with a disk cache that notices what it calls.

numba's on-disk cache checks only the source file of the function it compiles: a kernel in
``cpss/venue/kernels/visits.py`` that calls an equation from ``cpss/venue/equations.py`` would
keep running the old equation after that file changed. :func:`jit` therefore keys the cache
folder on a fingerprint of every source file that compiled code here may call (the world kit
and the venue, plus the package folder of the compiled function itself, e.g. a scenario's), so
editing an equation recompiles what uses it, and nothing goes stale.

The cache lives in ``$CPSS_NUMBA_CACHE`` if set, else ``$NUMBA_CACHE_DIR/cpss`` if set, else
``~/.cache/cpss-sim/numba``; old fingerprints are left for the user to delete.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import config as numba_config

_PACKAGE = Path(__file__).resolve().parents[1]
WATCHED = ("kit", "venue")
"""Folders of ``cpss`` whose compiled code may call each other: any change there renews the cache."""


@functools.cache
def fingerprint(extra: Path | None = None) -> str:
    """Hash of the sources of :data:`WATCHED` and of the folder ``extra`` (16 hex digits)."""
    folders = {(_PACKAGE / name).resolve() for name in WATCHED}
    if extra is not None:
        folders.add(extra.resolve())
    digest = hashlib.sha256()
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir(source: str | None = None) -> Path:
    """The folder compiled code from the file ``source`` is cached in, for this version of the sources."""
    base = os.environ.get("CPSS_NUMBA_CACHE")
    if base is None and os.environ.get("NUMBA_CACHE_DIR"):
        base = os.path.join(os.environ["NUMBA_CACHE_DIR"], "cpss")
    if base is None:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "cpss-sim", "numba")
    return Path(base) / fingerprint(Path(source).parent if source else None)


def record(params: tuple) -> np.ndarray:
    """A named parameter record (a ``NamedTuple``, nested ones included) as a (1,) structured array.

    Kernels take it and read ``params[0].family.field`` by name, as they would the tuple: numba
    unboxes an array in a fraction of the time a tuple of tuples costs (about 0.3 µs against
    5 µs a call), which adds up at a dozen kernel calls per tick. Fields are float64.

    Records of the same layout share one ``np.dtype`` object (:func:`_record_dtype`): numba's
    dispatcher looks structured dtypes up in a dict, and a new but equal dtype (one per model
    otherwise) costs a field-by-field comparison there, ~2 µs on every kernel call.
    """

    def fill(out: np.ndarray, rec: tuple) -> None:
        for name, value in zip(rec._fields, rec, strict=True):  # type: ignore[attr-defined]
            if isinstance(value, tuple):
                fill(out[name], value)
            else:
                out[name] = value

    out = np.zeros(1, _record_dtype(_layout(params)))
    fill(out, params)
    return out


def _layout(rec: tuple) -> tuple:
    """The field names of a (nested) named tuple, as nested tuples: ``((name, sub-layout or None), ...)``."""
    fields = zip(rec._fields, rec, strict=True)  # type: ignore[attr-defined]
    return tuple((n, _layout(v) if isinstance(v, tuple) else None) for n, v in fields)


@functools.cache
def _record_dtype(layout: tuple) -> np.dtype:
    """The structured dtype of a :func:`_layout` (one object per layout)."""
    return np.dtype([(n, np.float64 if sub is None else _record_dtype(sub)) for n, sub in layout])


def jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit`` with numpy's error model (x/0 gives inf/nan, no raise) and the cache above."""
    dispatcher = numba.njit(cache=False, error_model="numpy")(fn)
    previous = numba_config.CACHE_DIR
    numba_config.CACHE_DIR = str(cache_dir(inspect.getsourcefile(fn)))
    try:
        dispatcher.enable_caching()
    except RuntimeError:  # no writable cache folder: compile on every start, still correct
        pass
    finally:
        numba_config.CACHE_DIR = previous
    return dispatcher
