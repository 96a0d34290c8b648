"""The dashboard's server process: ``python -m cpss.viz.server --host H --port N``.

:func:`cpss.viz.serve` starts this module in a session of its own. It serves Solara's Starlette
app (:mod:`solara.server.starlette`, the app ``solara run`` serves) with uvicorn, in production
mode and without an access log, behind :class:`cpss.viz.guard.TokenGuard`. The parent passes
the run's token in the environment variable ``CPSS_VIZ_TOKEN`` (never on the command line, which
other local users can read) and its own pid in ``CPSS_VIZ_PARENT``; this process removes both from
its environment. The Solara app is :mod:`cpss.viz.app` (``SOLARA_APP``, which the parent sets,
because Solara reads it on import).

The server stops when its parent dies, even by ``kill -9``: the parent asks the kernel for a
SIGTERM then (Linux ``PR_SET_PDEATHSIG``), and :func:`watch_parent` polls ``os.getppid()`` as a
fallback on every platform, ending the process outright if uvicorn has not stopped in time.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any

from cpss.viz import APP_MODULE, ENV_PARENT, ENV_TOKEN
from cpss.viz.guard import ASGIApp, TokenGuard

GRACEFUL_SHUTDOWN_S = 5

# Solara's own `solara run` logging, less chatty: only errors, no access log (it would show URLs).
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"}},
    "handlers": {"default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
    "loggers": {
        name: {"handlers": ["default"], "level": "ERROR", "propagate": False}
        for name in ("solara", "reacton", "uvicorn", "uvicorn.error", "uvicorn.access")
    },
}

__all__ = ["GRACEFUL_SHUTDOWN_S", "build_app", "main", "watch_parent"]


def build_app(token: str, port: int, host: str = "127.0.0.1") -> ASGIApp:
    """Solara's Starlette app serving :mod:`cpss.viz.app` in production mode, behind the token guard."""
    os.environ.setdefault("SOLARA_APP", APP_MODULE)
    from solara.server import settings

    settings.main.mode = "production"
    import solara.server.app as solara_apps
    import solara.server.starlette as solara_starlette

    if "__default__" not in solara_apps.apps:  # solara.server.app was imported before SOLARA_APP was set
        solara_apps.apps["__default__"] = solara_apps.AppScript(APP_MODULE)
    return TokenGuard(solara_starlette.app, token=token, port=port, host=host)


def watch_parent(parent: int, poll_s: float = 0.5, grace_s: float = GRACEFUL_SHUTDOWN_S + 5) -> threading.Thread:
    """Stop this process once ``parent`` is no longer its parent: SIGTERM, then exit after ``grace_s``."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="cpss-viz-parent-watch", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    """Serve the dashboard until SIGTERM/SIGINT or the parent's death; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m cpss.viz.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    token = os.environ.pop(ENV_TOKEN, "")
    if not token:
        print(f"error: {ENV_TOKEN} is not set (start the dashboard with `cpss viz`)", file=sys.stderr)
        return 2
    parent = os.environ.pop(ENV_PARENT, "")
    if parent:
        if os.getppid() != int(parent):
            return 1  # the parent is already gone
        watch_parent(int(parent))
    import uvicorn

    config = uvicorn.Config(
        build_app(token, args.port, args.host),
        host=args.host,
        port=args.port,
        log_config=LOGGING,
        log_level="error",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
