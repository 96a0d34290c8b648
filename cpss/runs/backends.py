"""Where independent runs execute: a local process pool, or Ray tasks (this machine or a cluster).

:func:`map_unordered` applies a module-level function to plain-data items and yields the results
as they finish. Workers import the function by module path, so they work under the ``spawn``
start method that ``import mesa`` forces, and on Ray nodes that have cpss-sim installed. Ray is
an optional dependency (the ``distributed`` extra) and is imported only when used.

A local Ray instance started here listens on the loopback interface only (:func:`ray_init`);
docs/experiments.md lists its services and how to run one that other machines can reach.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cpss.kit.config import ConfigError

BACKENDS = ("local", "ray")
LOOPBACK = "127.0.0.1"


def ray_init_check(option: str = "--backend ray") -> None:
    """Fail with one line if Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"{option}: Ray is not installed; install the 'distributed' extra (pip install 'cpss-sim[distributed]')"
        ) from None


def check_backend(backend: str, workers: int | None, address: str | None) -> None:
    """Validate the backend options (and that Ray is installed for ``ray``)."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend: must be local or ray (got {backend!r})")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: must be >= 1 (got {workers})")
    if backend == "local" and address is not None:
        raise ConfigError("--address: only with --backend ray")
    if backend == "ray":
        ray_init_check()


@contextmanager
def _loopback_node() -> Iterator[None]:
    """Make a Ray instance started in this block take 127.0.0.1 as its node address.

    Ray binds its GCS, raylet (node and object manager), worker, runtime-env agent, dashboard
    agent and metrics servers to 127.0.0.1 when the node address is a loopback one, and to all
    interfaces otherwise. ``ray.init(_node_ip_address="127.0.0.1")`` does not do it: Ray 2.60
    replaces a loopback address with the machine's routable one. It keeps 127.0.0.1 where
    multi-node clusters are disabled (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), a flag that it
    reads at import; this sets it for the duration of the start only, and warns if a Ray
    version no longer honours it.
    """
    from ray._private import ray_constants, services

    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        if services.get_node_ip_address() != LOOPBACK:
            logging.getLogger(__name__).warning(
                "this Ray version ignores the loopback setting: a local Ray instance listens on all interfaces"
            )
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def ray_init(address: str | None, num_cpus: int | None) -> bool:
    """Start (or connect to) Ray unless it is running; return whether this call started it.

    A local instance listens on 127.0.0.1 only and starts no dashboard, so nothing it runs is
    reachable from other machines. Connecting to a cluster (``address``, or one that Ray finds by
    itself through ``RAY_ADDRESS`` or ``ray start`` on this machine) leaves its settings alone.

    Args:
        address: A cluster address (``ray://head:10001`` or ``auto``); None starts a local instance.
        num_cpus: CPUs of a local instance (None: all); ignored with ``address``.
    """
    ray_init_check()
    import ray

    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "ignore_reinit_error": True,
        "logging_level": logging.WARNING,
    }
    if address:
        ray.init(address=address, **options)
    else:
        with _loopback_node():
            ray.init(num_cpus=num_cpus, **options)
    return True


def _one_thread() -> None:
    """Pool initializer: one math thread per worker process (N workers on N cores, no oversubscription)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def _local(
    fn: Callable[[Any], Any], items: list[Any], workers: int, on_error: Callable[[Any, BaseException], Any]
) -> Iterator[Any]:
    if workers <= 1:  # in-process: no start-up cost, easy to debug
        for item in items:
            yield fn(item)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
    )
    try:
        futures = {pool.submit(fn, item): item for item in items}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                exc = fut.exception()
                yield on_error(futures[fut], exc) if exc is not None else fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray(
    fn: Callable[[Any], Any],
    items: list[Any],
    workers: int | None,
    address: str | None,
    on_error: Callable[[Any, BaseException], Any],
) -> Iterator[Any]:
    started = ray_init(address, workers)
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(fn)
    pending = {remote.remote(item): item for item in items}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=min(len(pending), 8), timeout=0.5)
            for ref in done:
                item = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # the task's worker died (e.g. out of memory)
                    yield on_error(item, exc)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started:
            ray.shutdown()


def map_unordered(
    fn: Callable[[Any], Any],
    items: list[Any],
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_error: Callable[[Any, BaseException], Any],
) -> Iterator[Any]:
    """Yield ``fn(item)`` for every item, in the order the runs finish.

    Args:
        fn: A module-level function (imported by the workers by name).
        items: Picklable arguments.
        backend: ``local`` (process pool; one worker runs in-process) or ``ray``.
        workers: Parallel runs (default: the number of CPUs; for Ray, a local instance's CPUs).
        address: Ray cluster address; None starts a local Ray (and shuts it down at the end) unless
            Ray is already running.
        on_error: Builds the result of an item whose worker crashed from (item, exception).
    """
    check_backend(backend, workers, address)
    if backend == "ray":
        return _ray(fn, items, workers, address, on_error)
    return _local(fn, items, workers or os.cpu_count() or 1, on_error)
