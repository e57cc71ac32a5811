"""What a web page elsewhere must not make a browser do to this server: one ASGI middleware.

- **Other origins** (a page on another site, or on another port of this machine): a request whose
  ``Origin`` is not this server's own (compared with the ``Host`` it was sent to) may not change
  anything (403 for POST/PUT/PATCH/DELETE, a refused CORS preflight, a closed websocket), and no
  response to it carries ``Access-Control-Allow-Origin`` (Gradio's own CORS middleware would
  reflect any origin with credentials when the server listens on a public address).
- **DNS rebinding**, without a token: a ``Host`` that is not a loopback name is refused (403).
- **Cookies**: every cookie set (Gradio's sign-in token) gets ``SameSite=Strict``, so a cross-site
  request never carries the session.
Clients without an ``Origin`` header (curl, scripts, gradio_client) are not affected. Starlette's
``TrustedHostMiddleware`` was measured for the host check and not kept: it takes exact names only
(127.0.0.2 or ``[0:0:0:0:0:0:0:1]`` are loopback too) and answers plain text, where the API promises
JSON with a message saying what to do. Out of scope: TLS and rate limits.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_CORS = (b"access-control-allow-origin", b"access-control-allow-credentials")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (any of 127.0.0.0/8, ``::1`` in any spelling)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local_name(host: str) -> bool:
    """A loopback address, ``localhost`` or a ``*.localhost`` name (browsers resolve those to loopback)."""
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost") or is_loopback(host)


def hostname(host: str) -> str:
    """``example.com:80`` -> ``example.com``, ``[::1]:7860`` -> ``::1`` (a URL's path is dropped too)."""
    host = host.split("/", 1)[0]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _netloc(host: str, port: int | None, default: int | None) -> str:
    return f"{host.lower().rstrip('.')}:{port if port is not None else default}"


def same_origin(origin: str, host: str, scheme: str = "http") -> bool:
    """Whether a page at ``origin`` is this server, reached as ``host`` (host[:port], the Host header).

    Host names and ports are compared (a default port counts as given); the scheme is not, so a
    TLS proxy in front (Origin https://x, Host x) still matches. ``null`` is never this server."""
    try:
        page = urlsplit(origin)
        here = urlsplit(f"//{host}")
        page_port, here_port = page.port, here.port
    except ValueError:
        return False
    if not page.hostname or not here.hostname or page.scheme not in DEFAULT_PORTS:
        return False
    page_at = _netloc(page.hostname, page_port, DEFAULT_PORTS[page.scheme])
    candidates = {_netloc(here.hostname, here_port, DEFAULT_PORTS.get(scheme, 80))}
    if here_port is None:  # behind a proxy the Host may omit the port of the page's scheme
        candidates.add(_netloc(here.hostname, None, DEFAULT_PORTS[page.scheme]))
    return page_at in candidates


class OriginGuard:
    """Refuse other origins' writes and websockets, never grant them CORS, SameSite every cookie;
    with ``local_only`` (no token) also refuse a Host that is not this machine."""

    def __init__(self, app: ASGIApp, local_only: bool):
        self.app, self.local_only = app, local_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host, origin = headers.get("host", ""), headers.get("origin")
        foreign = origin is not None and not same_origin(origin, host, scope.get("scheme", "http"))
        message = self._refusal(scope, headers, host, origin if foreign else None)
        if message is None:
            return await self.app(scope, receive, self._sender(send, foreign))
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return await JSONResponse({"message": message}, status_code=403)(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str], host: str, foreign: str | None) -> str | None:
        """Why this request is refused, or None."""
        if self.local_only and host and not is_local_name(hostname(host)):
            return (f"refused: Host {host!r} is not this machine (DNS rebinding?). This server has no token and "
                    "answers only http://127.0.0.1 or http://localhost; start it with --token to serve others.")
        if foreign is None:
            return None
        preflight = scope.get("method") == "OPTIONS" and "access-control-request-method" in headers
        if scope["type"] == "websocket" or preflight or scope.get("method") not in SAFE_METHODS:
            return (f"refused: a request from a page of another origin ({foreign}). Only this server's own page "
                    f"(http://{host}) and tools that send no Origin (curl, scripts) may change documents or chat.")
        return None

    @staticmethod
    def _sender(send: Send, foreign: bool) -> Send:
        """``send`` with CORS grants dropped for another origin and SameSite added to every cookie."""

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(k, v) for k, v in message.get("headers", []) if not (foreign and k.lower() in _CORS)]
                message["headers"] = [(k, _same_site(v) if k.lower() == b"set-cookie" else v) for k, v in raw]
            await send(message)

        return guarded


def _same_site(cookie: bytes) -> bytes:
    """A Set-Cookie value with ``SameSite=Strict`` (replacing any other SameSite)."""
    parts = [p for p in cookie.split(b";") if not p.strip().lower().startswith(b"samesite")]
    return b";".join([*parts, b" SameSite=Strict"])
