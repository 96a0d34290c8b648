"""A browser dashboard of the scenarios: Mesa's SolaraViz pages, served on localhost.

``cpss viz SCENARIO [--config FILE] [--checkpoint RUN] [--port N]`` checks its arguments here
(:func:`serve`), then runs ``python -m solara run cpss.viz.app`` in production mode with the
scenario, config and checkpoint passed through the environment variables ``CPSS_VIZ_*``.
:mod:`cpss.viz.app` turns them into a page (:func:`page_spec`): the dashboard model class, its
sliders and its components, from the page a scenario declares (``Scenario.dashboard_page``, e.g.
:mod:`scenarios.museum.dashboard`, found through :func:`scenarios.dashboard_page`). Importing this
package installs the app's :class:`cpss.viz.backend.RunFolders` for the pages (run folders and
trained learners are the application's business).

This package needs the ``viz`` extra (solara with its offline assets, pinned for Mesa 3.3.1);
docs/dashboard.md explains the pins.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
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
APP_MODULE = "cpss.viz.app"

set_runs(RunFolders())

# Known, harmless warnings: Mesa 3.3.1's ComponentsView trips Solara's hook check, and Solara
# warns that a session cookie on http://127.0.0.1 falls back to samesite=lax.
warnings.filterwarnings("ignore", message=".*`use_state` found despite early return", category=UserWarning)
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

__all__ = ["ENV_CHECKPOINT", "ENV_CONFIG", "ENV_SCENARIO", "PageSpec", "page_spec", "serve", "solara_command"]


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


def solara_command(host: str, port: int) -> list[str]:
    """The command that serves the app: Solara in production mode, no browser opened."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


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
    fails here with one line instead of in the browser.

    Args:
        scenario: Scenario name.
        config: Shipped config name or TOML path.
        checkpoint: Training run folder or checkpoint file.
        port: TCP port on ``host``.
        host: Interface to listen on (localhost by default).
        on_ready: Called with the page's URL once the arguments are checked.

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
    env = {
        **os.environ,
        ENV_SCENARIO: scenario,
        ENV_CONFIG: config or "",
        ENV_CHECKPOINT: ckpt or "",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    }
    if on_ready is not None:
        on_ready(f"http://{host}:{port}/")
    proc = subprocess.Popen(solara_command(host, port), env=env)
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
        if main:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop like Ctrl-C, so that the server process is stopped too."""
    raise KeyboardInterrupt
