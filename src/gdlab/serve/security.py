"""The guard in front of the playground's app (an ASGI middleware), for a server that any web
page the user visits could try to reach:

* **Host**: only the server's own names with its port (``127.0.0.1``, ``localhost``,
  ``[::1]``, and the host it was bound to): a page on another name that resolves to this
  machine (DNS rebinding) is refused with 400;
* **compute requests** (any method but GET/HEAD) need ``Content-Type: application/json``
  (415 otherwise), so a plain HTML form cannot post to them, and, when an ``Origin`` header
  is present, the page's own origin (403 otherwise);
* **body size**: more than ``MAX_BODY_BYTES`` is refused with 413, by ``Content-Length`` and
  by counting the bytes as they arrive (the body is read here, before the app sees it);
* **headers on every response**: a Content-Security-Policy without inline scripts
  (``script-src 'self'``) or framing (``frame-ancestors 'none'``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, and no caching of
  API answers.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Iterable

from .limits import MAX_BODY_BYTES

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Any  # Starlette's app, or any ASGI callable

#: Plotly sets element styles at run time, so styles allow 'unsafe-inline'; scripts do not
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"),
           (b"cross-origin-opener-policy", b"same-origin"),
           (b"cross-origin-resource-policy", b"same-origin")]
SAFE_METHODS = ("GET", "HEAD")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values that name this server: loopback names and the bound host, with
    the port (and without it when the port is 80, as browsers send it)."""
    names = set(LOOPBACK)
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    out = {f"{n}:{port}" for n in names}
    if port == 80:
        out |= names
    return {h.lower() for h in out}


class Guard:
    """The checks above, around ``app``."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str], max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.hosts = {h.lower() for h in hosts}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        if scope["method"] not in SAFE_METHODS:
            body = await self._body(receive, headers)
            if body is None:
                await _answer(send, 413, f"the request body is larger than "
                                         f"{self.max_body:,} bytes")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, _with_headers(send, scope["path"]))

    def _refusal(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get("host", "").lower() not in self.hosts:
            return 400, "unknown Host header: this server answers only to its own address"
        if method in SAFE_METHODS:
            return None
        if method != "POST":
            return 405, f"method {method} is not allowed"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return 403, "cross-origin requests are refused"
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return 415, "the request body must be JSON (Content-Type: application/json)"
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "bad Content-Length"
            if int(length) > self.max_body:
                return 413, f"the request body is larger than {self.max_body:,} bytes"
        return None

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes | None:
        """The whole body, or ``None`` once more than ``max_body`` bytes have arrived."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


def _with_headers(send: Send, path: str) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", [])
                       if h[0].lower() not in {k for k, _ in HEADERS}]
            headers += HEADERS
            if path.startswith("/api/"):
                headers.append((b"cache-control", b"no-store"))
            message = dict(message, headers=headers)
        await send(message)
    return send_with_headers


async def _answer(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})
