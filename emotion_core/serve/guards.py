"""ASGI middlewares that let the API face a network: Host names, a rate per client, a bearer token, body limits.

Each refuses with a one-line JSON ``{"detail": ...}`` and ``Connection: close`` before the app sees the request,
so a refused upload is never read, buffered or spooled. Outermost first: ``HostGuard`` (DNS rebinding: a page on
another site that resolves its name to this machine sends its own Host), ``RateLimit`` (a token bucket per client
address), ``BearerAuth`` (every route but the open ones), ``BodyGuard`` (size, time, and bytes being received at once).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


async def refuse(send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """A complete JSON error response that also closes the connection (any unread body is dropped with it)."""
    body = json.dumps({"detail": detail}).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


def host_name(host: str) -> str:
    """The name part of a Host header or an --allowed-hosts entry, lower case: ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") > 1:  # a bare IPv6 address, as typed in --allowed-hosts
        return f"[{host}]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class HostGuard:
    """400 unless the Host header names this server: ``*`` allows any, ``*.example.org`` its subdomains."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed}
        self.any = "*" in self.allowed
        self.suffixes = tuple(h[1:] for h in self.allowed if h.startswith("*."))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.any and not self.allows(header(scope, b"host")):
            await refuse(send, 400, "host not allowed: this server answers only the names given by --allowed-hosts")
            return
        await self.app(scope, receive, send)

    def allows(self, raw: bytes | None) -> bool:
        if raw is None:
            return False
        name = host_name(raw.decode("latin-1"))
        return name in self.allowed or (bool(self.suffixes) and name.endswith(self.suffixes))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimit:
    """429 with Retry-After once a client address spends its burst faster than ``per_s`` refills it.

    Buckets live in memory, one per address; past ``max_clients`` addresses the full ones are forgotten (a full
    bucket is the same as none), so a flood of spoofed addresses cannot grow the table without bound.
    """

    def __init__(self, app: ASGIApp, per_s: float, burst: int, max_clients: int = 10_000) -> None:
        self.app, self.per_s, self.burst, self.max_clients = app, per_s, burst, max_clients
        self.buckets: dict[str, _Bucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.per_s > 0:
            wait_s = self.take(_client(scope), time.monotonic())
            if wait_s > 0:
                retry = str(max(1, math.ceil(wait_s))).encode()
                await refuse(send, 429, "too many requests from this address: retry later", [(b"retry-after", retry)])
                return
        await self.app(scope, receive, send)

    def take(self, client: str, now: float) -> float:
        """0 when the client may go ahead (one token spent), else the seconds until it may."""
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= self.max_clients:
                self._forget_full(now)
            bucket = self.buckets[client] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_s)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.per_s

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self.buckets.items() if b.tokens + (now - b.updated) * self.per_s >= self.burst]
        for key in full:
            del self.buckets[key]
        if len(self.buckets) >= self.max_clients:  # all busy: start over rather than grow
            self.buckets.clear()


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class BearerAuth:
    """401 unless ``Authorization: Bearer <token>`` matches (compared in constant time); ``open_paths`` need none."""

    def __init__(self, app: ASGIApp, token: str, open_paths: Iterable[str] = ("/health",)) -> None:
        self.app, self.expected, self.open_paths = app, f"Bearer {token}".encode(), frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.open_paths:
            given = header(scope, b"authorization") or b""
            if given[:7].lower() == b"bearer ":
                given = b"Bearer " + given[7:].strip()
            if not hmac.compare_digest(given, self.expected):
                detail = "missing or wrong token: send the header 'Authorization: Bearer <token>'"
                await refuse(send, 401, detail, [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


class BodyGuard:
    """Bodies stay bounded while they stream: in size, in time, and in bytes being received by the whole server.

    - A Content-Length over ``max_bytes`` is a 413 at once; a body without one is counted as it arrives and cut off
      when it passes ``max_bytes`` (the app sees the body end there, and its answer is replaced by the 413).
    - A body not complete within ``timeout_s`` of its headers is cut off the same way and answered 408.
    - Bodies being received (Starlette spools uploads past 1 MB to temporary files, which are memory where the temp
      folder is a tmpfs) reserve their declared size (``max_bytes`` when chunked) from ``max_receiving_bytes`` until
      their request is answered; past it a request is told to retry (503), so stalled uploads cannot pile up.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float, max_receiving_bytes: int) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s
        self.max_receiving_bytes, self.receiving = max_receiving_bytes, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = self.declared_size(scope)
        if size > self.max_bytes:
            await refuse(send, 413, self.too_big())
            return
        if size and self.receiving + size > self.max_receiving_bytes:
            await refuse(send, 503, "server busy receiving other uploads; retry shortly", [(b"retry-after", b"5")])
            return
        self.receiving += size
        try:
            await _LimitedRequest(self, scope, receive, send).run()
        finally:
            self.receiving -= size

    def declared_size(self, scope: Scope) -> int:
        """The body's declared length; ``max_bytes + 1`` for a malformed one, ``max_bytes`` for a chunked one."""
        length = header(scope, b"content-length")
        if length is not None:
            return int(length) if length.isdigit() else self.max_bytes + 1
        return self.max_bytes if header(scope, b"transfer-encoding") is not None else 0

    def too_big(self) -> str:
        return f"request body over the {self.max_bytes / 1024 / 1024:g} MB limit: send fewer or smaller images"


class _LimitedRequest:
    """One request's receive/send pair under a BodyGuard: counts bytes, keeps the deadline, swaps the answer."""

    def __init__(self, guard: BodyGuard, scope: Scope, receive: Receive, send: Send) -> None:
        self.guard, self.scope, self.inner_receive, self.inner_send = guard, scope, receive, send
        self.deadline = time.monotonic() + guard.timeout_s
        self.received, self.body_done = 0, False
        self.cut: tuple[int, str] | None = None  # the refusal that replaces the app's answer
        self.answered = False

    async def run(self) -> None:
        await self.guard.app(self.scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.cut is not None:
            return _end_of_body()
        if self.body_done:  # after the body only a disconnect can come: no deadline on waiting for it
            return await self.inner_receive()
        try:
            message = await asyncio.wait_for(self.inner_receive(), max(0.0, self.deadline - time.monotonic()))
        except TimeoutError:
            self.cut = (408, f"request body not received within {self.guard.timeout_s:g} s")
            return _end_of_body()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)
            if self.received > self.guard.max_bytes:
                self.cut = (413, self.guard.too_big())
                return _end_of_body()
        return message

    async def send(self, message: Message) -> None:
        if self.cut is None:
            unread = not self.body_done and self.guard.declared_size(self.scope) > 0
            if message["type"] == "http.response.start" and unread:
                # Answered before its body was read (a 422, say): close, or the unread rest would keep the connection.
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await self.inner_send(message)
        elif not self.answered:
            self.answered = True
            await refuse(self.inner_send, *self.cut)


def _end_of_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
