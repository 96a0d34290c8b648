"""A browser dashboard of the scenarios: Mesa's SolaraViz pages, served on localhost to its user only.

``cpss viz SCENARIO [--config FILE] [--checkpoint RUN] [--port N]`` checks its arguments here
(:func:`serve`), draws a fresh token for the run and starts ``python -m cpss.viz.server`` (Solara's
app in production mode under uvicorn, behind :class:`cpss.viz.guard.TokenGuard`) in a session of
its own that ends with this process. The scenario, config, checkpoint and token reach it through
the environment variables ``CPSS_VIZ_*``; the page's URL, with the token, is the only place the
token is shown. :mod:`cpss.viz.app` turns the variables into a page (:func:`page_spec`): the
dashboard model class, its sliders and its components, from the page a scenario declares
(``Scenario.dashboard_page``, e.g. :mod:`scenarios.museum.dashboard`, found through
:func:`scenarios.dashboard_page`). Importing this package installs the app's
:class:`cpss.viz.backend.RunFolders` for the pages (run folders and trained learners are the
application's business).

This package needs the ``viz`` extra (solara with its offline assets, pinned for Mesa 3.3.1);
docs/dashboard.md explains the pins and what the token and the Host/Origin checks protect.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import scenarios
from cpss.kit.config import ConfigError
from cpss.kit.dashboard import set_runs
from cpss.viz.backend import RunFolders

ENV_SCENARIO = "CPSS_VIZ_SCENARIO"
ENV_CONFIG = "CPSS_VIZ_CONFIG"
ENV_CHECKPOINT = "CPSS_VIZ_CHECKPOINT"
ENV_TOKEN = "CPSS_VIZ_TOKEN"
ENV_PARENT = "CPSS_VIZ_PARENT"
APP_MODULE = "cpss.viz.app"
SERVER_MODULE = "cpss.viz.server"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

set_runs(RunFolders())

# Known, harmless warnings: Mesa 3.3.1's ComponentsView trips Solara's hook check, and Solara
# warns that a session cookie on http://127.0.0.1 falls back to samesite=lax.
warnings.filterwarnings("ignore", message=".*`use_state` found despite early return", category=UserWarning)
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

__all__ = [
    "APP_MODULE",
    "ENV_CHECKPOINT",
    "ENV_CONFIG",
    "ENV_PARENT",
    "ENV_SCENARIO",
    "ENV_TOKEN",
    "PageSpec",
    "page_spec",
    "serve",
    "server_command",
]


@dataclasses.dataclass
class PageSpec:
    """Everything SolaraViz needs for one scenario's page."""

    title: str
    model_cls: type
    model_params: dict[str, Any]
    components: list[Any]

    def make_model(self) -> Any:
        """The dashboard model at the sliders' starting values."""
        from mesa.visualization.solara_viz import split_model_params

        adjustable, fixed = split_model_params(self.model_params)
        return self.model_cls(**fixed, **{k: v.get("value") for k, v in adjustable.items()})


def page_spec(scenario: str, config: str | None = None, checkpoint: str | None = None) -> PageSpec:
    """The page of ``scenario`` with sliders starting at the config's (or checkpoint's) values.

    Raises:
        ConfigError: Unknown scenario, a bad config, or a checkpoint that does not exist or
            belongs to another scenario.
    """
    page = scenarios.dashboard_page(scenario)
    return PageSpec(
        title=page.title,
        model_cls=page.model_cls,
        model_params=page.model_params(config, checkpoint),
        components=page.components(),
    )


def _absolute(path: str | Path | None) -> str | None:
    """A config or checkpoint argument as the server will see it (paths made absolute)."""
    if path is None:
        return None
    p = Path(path)
    return str(p.resolve()) if p.exists() else str(path)


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise ConfigError(f"--port {port}: already in use on {host}") from None


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the app (:mod:`cpss.viz.server`); it carries no secret."""
    return [sys.executable, "-m", SERVER_MODULE, "--host", host, "--port", str(port)]


def _server_environment(
    scenario: str, config: str | None, checkpoint: str | None, token: str, port: int, host: str
) -> dict[str, str]:
    """The server's environment: the page, the token, this process's pid, Solara's settings."""
    return {
        **os.environ,
        ENV_SCENARIO: scenario,
        ENV_CONFIG: config or "",
        ENV_CHECKPOINT: checkpoint or "",
        ENV_TOKEN: token,
        ENV_PARENT: str(os.getpid()),
        "SOLARA_APP": APP_MODULE,  # what `solara run cpss.viz.app --production` sets
        "SOLARA_MODE": "production",
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    }


def _prctl() -> Callable[..., int] | None:
    """Linux's ``prctl`` from the C library, looked up before forking (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _exit_with_parent(parent: int, prctl: Callable[..., int] | None) -> None:
    """Run in the forked child before exec: SIGTERM it when ``parent`` dies; exit if it already has."""
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def serve(
    scenario: str,
    config: str | None = None,
    checkpoint: str | Path | None = None,
    port: int = 8765,
    host: str = "127.0.0.1",
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Check the arguments, then serve the dashboard until the server stops (Ctrl-C).

    The page's model is built once first, so a bad config or a checkpoint that does not fit
    fails here with one line instead of in the browser. The server runs in a session of its own
    and stops when this process stops, however it stops (``kill -9`` included). It answers only
    requests that carry this run's token (in the URL given to ``on_ready``, then in a cookie) to
    its own host and port from its own origin (:class:`cpss.viz.guard.TokenGuard`).

    Args:
        scenario: Scenario name.
        config: Shipped config name or TOML path.
        checkpoint: Training run folder or checkpoint file.
        port: TCP port on ``host``.
        host: Interface to listen on (localhost by default).
        on_ready: Called with the page's URL, token included, once the arguments are checked.

    Returns:
        The server's exit code (0 after Ctrl-C).

    Raises:
        ConfigError: Bad arguments, a port in use, or the ``viz`` extra missing.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"--port: must be in 1..65535 (got {port})")
    if importlib.util.find_spec("solara") is None:
        raise ConfigError("the dashboard needs the viz extra: pip install -e '.[viz]'")
    config, ckpt = _absolute(config), _absolute(checkpoint)
    page_spec(scenario, config, ckpt).make_model()
    _check_port(host, port)
    token = secrets.token_urlsafe(32)
    env = _server_environment(scenario, config, ckpt, token, port, host)
    if on_ready is not None:
        on_ready(f"http://{host}:{port}/?token={token}")
    proc = subprocess.Popen(
        server_command(host, port),
        env=env,
        start_new_session=True,  # no terminal signals; this process stops it (and its death does)
        preexec_fn=functools.partial(_exit_with_parent, os.getpid(), _prctl()),
    )
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if main:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop like Ctrl-C, so that the server process is stopped too."""
    raise KeyboardInterrupt
