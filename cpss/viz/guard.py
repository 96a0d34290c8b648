"""Who may use the dashboard: the holder of the run's token, through this server's own address.

:class:`TokenGuard` is a pure ASGI middleware in front of Solara's Starlette app. It refuses with
HTTP 403, before Solara sees the request, every HTTP request and websocket upgrade that

* has a ``Host`` header other than ``127.0.0.1:PORT`` or ``localhost:PORT`` (DNS rebinding: a
  page on ``evil.example.com`` whose name now resolves to 127.0.0.1 still sends its own name),
* has an ``Origin`` header other than ``http://127.0.0.1:PORT`` or ``http://localhost:PORT``
  (another web page, or another server on this machine, driving the dashboard), or
* carries neither the run's token as ``?token=...`` nor the cookie that a request with the token
  set (``cpss-viz-token-PORT``, ``HttpOnly; SameSite=Strict``).

Tokens are compared with :func:`hmac.compare_digest`. The ``token`` query parameter is taken off
the request before Solara sees it, and every HTTP response says ``Referrer-Policy: no-referrer``
and ``Content-Security-Policy: frame-ancestors 'self'`` (no other page may frame the dashboard).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE_PREFIX = "cpss-viz-token-"
QUERY_KEY = "token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
SECURITY_HEADERS = (
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
)

__all__ = ["COOKIE_PREFIX", "QUERY_KEY", "TokenGuard", "cookie_name"]


def cookie_name(port: int) -> str:
    """The cookie that holds the token of the server on ``port`` (cookies ignore ports, names do not)."""
    return f"{COOKIE_PREFIX}{port}"


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies (first value of each name), from every ``Cookie`` header."""
    found: dict[str, str] = {}
    for header in _header_values(scope, b"cookie"):
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep:
                found.setdefault(name.strip(), value.strip())
    return found


class TokenGuard:
    """ASGI middleware: only requests with the token (or its cookie) to this host and origin pass.

    Args:
        app: The ASGI app to protect (Solara's Starlette app).
        token: The run's secret; requests prove they know it with ``?token=`` or the cookie.
        port: The port the server listens on (part of the allowed Host and Origin values).
        host: The interface the server listens on; it and ``localhost`` are the allowed names.
    """

    def __init__(self, app: ASGIApp, token: str, port: int, host: str = "127.0.0.1") -> None:
        if not token:
            raise ValueError("the dashboard token must not be empty")
        self.app = app
        self._token = token.encode()
        self.cookie = cookie_name(port)
        names = dict.fromkeys((host, *LOOPBACK_NAMES))
        self.hosts = frozenset(f"{name}:{port}" for name in names)
        self.origins = frozenset(f"http://{name}" for name in self.hosts)

    def _valid(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), self._token)

    def refusal(self, scope: Scope) -> str | None:
        """Why the request in ``scope`` is refused, or None when it may pass."""
        hosts = _header_values(scope, b"host")
        if len(hosts) != 1 or hosts[0].lower() not in self.hosts:
            return "this dashboard answers only to http://127.0.0.1 and http://localhost on its own port"
        origins = _header_values(scope, b"origin")
        if len(origins) > 1 or (origins and origins[0].lower() not in self.origins):
            return "cross-origin requests are refused"
        if self._valid(self._query_token(scope)) or self._valid(_cookies(scope).get(self.cookie)):
            return None
        return "open the dashboard with the URL that `cpss viz` printed (it carries the token)"

    @staticmethod
    def _query_token(scope: Scope) -> str | None:
        query = scope.get("query_string", b"").decode("latin-1")
        return next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == QUERY_KEY), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request with 403, or pass it on (without the token in its query string)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is not None:
            await _refuse(scope, send, reason)
            return
        set_cookie = self._valid(self._query_token(scope))
        query = scope.get("query_string", b"").decode("latin-1")
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != QUERY_KEY]
        scope = dict(scope, query_string=urlencode(kept).encode("latin-1"))
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        cookie = f"{self.cookie}={self._token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if set_cookie:
                    headers.append((b"set-cookie", cookie))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(scope: Scope, send: Send, reason: str) -> None:
    """Answer 403 with ``reason`` as plain text (a websocket upgrade too, where the server can)."""
    body = f"403 Forbidden: {reason}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 403, "headers": [*headers, *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # closing before the handshake is accepted is a 403 in uvicorn
        await send({"type": "websocket.close", "code": 1008})
