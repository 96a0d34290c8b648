"""`cpss viz`: the command line, the guarded server (token, Host, Origin, dies with its parent) and a real browser.

The end-to-end test serves both pages with ``cpss viz``, drives them in Debian's Chromium through
the ``playwright`` package (never ``playwright install``), and saves the screenshots shown in
docs/dashboard.md; it is skipped only when no Chromium binary can be found.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
from conftest import TINY_MUSEUM_GUIDED, untrained_run_folder
from typer.testing import CliRunner

pytest.importorskip("solara", reason="the dashboard needs the viz extra: pip install -e '.[viz]'")
warnings.filterwarnings("ignore", message=".*`use_state` found despite early return")  # Mesa 3.3.1, harmless

import cpss.viz  # noqa: E402
from cpss.runs.cli import app  # noqa: E402
from cpss.viz.guard import TokenGuard  # noqa: E402

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
LINUX = sys.platform.startswith("linux")  # the process checks read /proc
SMALL_MUSEUM = TINY_MUSEUM_GUIDED


# ---------------------------------------------------------------- the command line
def test_cli_bad_input(tmp_path):
    run = untrained_run_folder(tmp_path / "run", "museum", "dqn", **SMALL_MUSEUM)
    cases = [
        (["viz", "atlantis"], "unknown scenario 'atlantis'"),
        (["viz", "museum", "--checkpoint", str(tmp_path / "missing")], "no such run folder or checkpoint"),
        (["viz", "workshop", "--checkpoint", str(run)], "trained on 'museum', not 'workshop'"),
        (["viz", "museum", "--config", "nope"], "unknown config 'nope'"),
        (["viz", "museum", "--port", "0"], "--port"),
    ]
    for args, message in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)
        assert "Traceback" not in res.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        res = runner.invoke(app, ["viz", "museum", "--port", str(busy.getsockname()[1])])
        assert res.exit_code == 2 and "already in use" in res.output


def test_cli_starts_the_guarded_server_in_a_session_of_its_own(monkeypatch, tmp_path):
    run = untrained_run_folder(tmp_path / "run", "museum", "dqn", **SMALL_MUSEUM)
    seen = {}

    class FakeServer:
        def __init__(self, cmd, env, **kwargs):
            seen.update(cmd=cmd, env=env, **kwargs)

        def wait(self, timeout=None):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr(cpss.viz.subprocess, "Popen", FakeServer)
    port = _free_port()
    res = runner.invoke(app, ["viz", "museum", "--checkpoint", str(run), "--port", str(port)])
    assert res.exit_code == 0, res.output
    env, cmd = seen["env"], seen["cmd"]
    token = env[cpss.viz.ENV_TOKEN]
    assert len(token) >= 40 and f"dashboard: http://127.0.0.1:{port}/?token={token}  (Ctrl-C" in res.output
    assert cmd[1:] == ["-m", "cpss.viz.server", "--host", "127.0.0.1", "--port", str(port)]  # no secret in argv
    assert (env["SOLARA_APP"], env["SOLARA_MODE"], env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"]) == (
        "cpss.viz.app",
        "production",
        "false",
    )
    assert env[cpss.viz.ENV_PARENT] == str(os.getpid())
    assert seen["start_new_session"] is True and callable(seen["preexec_fn"])
    assert env[cpss.viz.ENV_SCENARIO] == "museum"
    assert env[cpss.viz.ENV_CHECKPOINT] == str(run.resolve())
    runner.invoke(app, ["viz", "museum", "--port", str(port)])
    assert seen["env"][cpss.viz.ENV_TOKEN] != token  # a fresh token per run


# ---------------------------------------------------------------- who may use the server
TOKEN = "the-run-token_0123456789abcdefghijklmnopqrstu"
PORT = 8765
HOME = f"127.0.0.1:{PORT}"


class _Page:
    """The protected app: records what reaches it; answers 200 or accepts the websocket."""

    def __init__(self):
        self.scopes = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": b"page"})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.accept"})


def _asgi(kind="http", query="", headers=(("host", HOME),), extensions=None):
    """Call a guarded :class:`_Page` once with raw ASGI; (status, response headers, what reached the page)."""
    page = _Page()
    scope = {
        "type": kind,
        "path": "/",
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }
    if extensions is not None:
        scope["extensions"] = extensions
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""} if kind == "http" else {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    asyncio.run(TokenGuard(page, TOKEN, PORT)(scope, receive, send))
    first = sent[0]
    status = {"websocket.accept": 101, "websocket.close": 403}.get(first["type"], first.get("status"))
    return status, [(k.decode(), v.decode()) for k, v in first.get("headers", [])], page.scopes


COOKIE = ("cookie", f"theme=dark; cpss-viz-token-{PORT}={TOKEN}")
WS = ("websocket", {"websocket.http.response": {}})


@pytest.mark.parametrize(
    ("kind", "query", "headers", "status"),
    [
        ("http", "", [("host", HOME)], 403),  # no token
        ("http", "token=wrong", [("host", HOME)], 403),
        ("http", f"token={TOKEN}x", [("host", HOME)], 403),
        ("http", f"token={TOKEN}", [("host", HOME)], 200),
        ("http", "", [("host", HOME), COOKIE], 200),
        ("http", "", [("host", f"localhost:{PORT}"), COOKIE], 200),
        ("http", "", [("host", HOME), ("cookie", f"cpss-viz-token-9999={TOKEN}")], 403),  # another server's
        ("http", f"token={TOKEN}", [("host", f"evil.example.com:{PORT}")], 403),  # DNS rebinding
        ("http", f"token={TOKEN}", [("host", "127.0.0.1:9999")], 403),
        ("http", f"token={TOKEN}", [], 403),  # no Host
        ("http", f"token={TOKEN}", [("host", HOME), ("host", "evil.example.com")], 403),
        ("http", "", [("host", HOME), COOKIE, ("origin", "http://evil.example.com")], 403),
        ("http", "", [("host", HOME), COOKIE, ("origin", "http://127.0.0.1:9999")], 403),  # another local server
        ("http", "", [("host", HOME), COOKIE, ("origin", "null")], 403),
        ("http", "", [("host", HOME), COOKIE, ("origin", f"http://{HOME}")], 200),
        ("http", "", [("host", f"localhost:{PORT}"), COOKIE, ("origin", f"http://localhost:{PORT}")], 200),
        (WS, "", [("host", HOME), COOKIE, ("origin", f"http://{HOME}")], 101),
        (WS, "", [("host", HOME), COOKIE, ("origin", "http://evil.example.com")], 403),
        (WS, "", [("host", HOME), ("origin", f"http://{HOME}")], 403),  # no cookie
        ("websocket", "", [("host", HOME), COOKIE, ("origin", "http://evil.example.com")], 403),  # no extension
        ("websocket", "", [("host", f"evil.example.com:{PORT}"), COOKIE], 403),
    ],
)
def test_guard_lets_through_only_the_token_holder_at_home(kind, query, headers, status):
    kind, extensions = kind if isinstance(kind, tuple) else (kind, None)
    got, _, reached = _asgi(kind, query, headers, extensions)
    assert got == status
    assert len(reached) == (status != 403)


def test_guard_trades_the_url_token_for_a_strict_cookie():
    status, headers, (scope,) = _asgi(query=f"a=1&token={TOKEN}&b=", headers=[("host", HOME)])
    assert status == 200 and scope["query_string"] == b"a=1&b="  # the page never sees the token
    assert ("set-cookie", f"cpss-viz-token-{PORT}={TOKEN}; Path=/; HttpOnly; SameSite=Strict") in headers
    assert ("referrer-policy", "no-referrer") in headers
    assert ("content-security-policy", "frame-ancestors 'self'") in headers
    _, headers, _ = _asgi(headers=[("host", HOME), COOKIE])
    assert not any(k == "set-cookie" for k, _ in headers)  # the cookie is set once, from the URL
    status, headers, _ = _asgi(headers=[("host", HOME)])
    assert status == 403 and not any(k == "set-cookie" for k, _ in headers)
    with pytest.raises(ValueError, match="empty"):
        TokenGuard(_Page(), "", PORT)


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_server_stops_when_its_parent_is_killed():
    """The fallback alone (no prctl): a process watching its parent ends within a second of kill -9."""
    grandchild = (
        "import os, time; from cpss.viz.server import watch_parent; "
        "watch_parent(os.getppid(), poll_s=0.05, grace_s=0.5); print('ready', flush=True); time.sleep(60)"
    )
    middle = (
        "import subprocess, sys; "
        f"p = subprocess.Popen([sys.executable, '-c', {grandchild!r}]); print(p.pid, flush=True); p.wait()"
    )
    parent = subprocess.Popen([sys.executable, "-c", middle], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    try:
        assert parent.stdout.readline().strip() == "ready"
        parent.kill()
        parent.wait()
        assert _gone(pid, limit=5.0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        parent.stdout.close()


def _gone(pid: int, limit: float) -> bool:
    """Whether process ``pid`` has ended (or is a zombie) within ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------- a real browser
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


CHROMIUM = _chromium()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(scenario: str, log: Path) -> subprocess.Popen:
    """Start `cpss viz SCENARIO --port N` in its own process group."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cpss", "viz", scenario, "--port", str(_free_port())],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until_served(proc: subprocess.Popen, log: Path, limit: float = 60.0) -> str:
    """The URL `cpss viz` printed (token included), once the page answers 200 there."""
    deadline = time.monotonic() + limit
    while True:
        assert proc.poll() is None, f"cpss viz exited: {log.read_text()[-2000:]}"
        if found := re.search(r"dashboard: (http://127\.0\.0\.1:\d+/\?token=[\w-]+)", log.read_text()):
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(found[1], timeout=2) as resp:
                    if resp.status == 200:
                        return found[1]
        assert time.monotonic() < deadline, f"no page after {limit:.0f} s: {log.read_text()[-2000:]}"
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the CLI (the whole process group), which stops its server."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _drive(page, url: str, n_images: int, plot_index: int, screenshot: Path) -> None:
    """Load the page, step it 3 times and then 100 at once; check the counter, a plot, no error."""
    page.goto(url, timeout=60_000)
    page.get_by_text("Step: 0", exact=True).wait_for(timeout=60_000)
    images = page.locator("img")
    page.wait_for_function(
        f"() => [...document.images].filter(i => i.naturalWidth > 0).length >= {n_images}", timeout=60_000
    )
    plot = images.nth(plot_index)
    before = plot.screenshot()
    step = page.get_by_role("button", name="Step")
    for k in range(1, 4):
        step.click()
        page.get_by_text(f"Step: {k}", exact=True).wait_for(timeout=20_000)
    deadline = time.monotonic() + 20
    while plot.screenshot() == before:
        assert time.monotonic() < deadline, "the plot did not change after 3 steps"
        page.wait_for_timeout(250)
    page.get_by_role("slider").nth(1).focus()  # "Render Interval (steps)": one click = 100 steps
    page.keyboard.press("End")
    page.wait_for_timeout(300)
    step.click()
    page.get_by_text("Step: 103", exact=True).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    text = page.inner_text("body")
    assert "Traceback" not in text and "Error" not in text, text[:2000]
    page.screenshot(path=str(screenshot))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (apt-get install chromium); .ci/run installs it")
def test_dashboards_in_a_real_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    pages = {"museum": (6, 1), "workshop": (7, 2)}  # images on the page, index of a DataCollector plot
    servers = {}
    try:
        for scenario in pages:  # both servers start at once
            servers[scenario] = _start(scenario, tmp_path / f"{scenario}.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1400, "height": 1900},
            )
            try:
                for scenario, (n_images, plot_index) in pages.items():
                    url = _wait_until_served(servers[scenario], tmp_path / f"{scenario}.log")
                    page = browser.new_page()
                    _drive(page, url, n_images, plot_index, IMAGES / f"dashboard_{scenario}.png")
                    page.close()
            finally:
                browser.close()
    finally:
        for proc in servers.values():
            _stop(proc)
    for scenario in pages:
        assert (IMAGES / f"dashboard_{scenario}.png").stat().st_size > 20_000


def _raw_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """One raw HTTP/1.1 GET (any Host, a websocket upgrade too): the status and the head of the answer."""
    request = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\n{request}\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data and (chunk := sock.recv(4096)):
            data += chunk
    head = data.split(b"\r\n\r\n")[0].decode("latin-1")
    return int(head.split()[1]), head


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.slow  # starts a real server: 5-15 s
@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_served_dashboard_refuses_strangers_and_dies_with_cpss_viz(tmp_path):
    log = tmp_path / "viz.log"
    proc = _start("workshop", log)
    servers = []
    try:
        url = _wait_until_served(proc, log)
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        servers = _children(proc.pid)
        home = f"127.0.0.1:{port}"
        assert _raw_get(port, "/", {"Host": home, "Connection": "close"})[0] == 403
        status, head = _raw_get(port, f"/?token={token}", {"Host": home, "Connection": "close"})
        assert status == 200 and f"cpss-viz-token-{port}={token}; Path=/; HttpOnly; SameSite=Strict" in head
        cookie = f"cpss-viz-token-{port}={token}"
        rebound = {"Host": f"evil.example.com:{port}", "Cookie": cookie, "Connection": "close"}
        assert _raw_get(port, f"/?token={token}", rebound)[0] == 403
        upgrade = {
            "Host": home,
            "Cookie": cookie,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": "13",
        }
        kernel = "/jupyter/api/kernels/k1/channels?session_id=s1"
        assert _raw_get(port, kernel, {**upgrade, "Origin": "http://evil.example.com"})[0] == 403
        assert _raw_get(port, kernel, {**upgrade, "Origin": f"http://{home}"})[0] == 101  # the page's own
        assert log.read_text().count(token) == 1  # only in the printed URL
        assert servers, "no server process"
        os.kill(proc.pid, signal.SIGKILL)  # cpss viz alone, not its server
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _listening(port):
            assert time.monotonic() < deadline, "the server still serves after kill -9 of cpss viz"
            time.sleep(0.2)
        assert all(_gone(pid, limit=10.0) for pid in servers)
    finally:
        _stop(proc)
        for pid in servers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
