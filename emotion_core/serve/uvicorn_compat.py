"""The one place that relies on uvicorn's internals: a deadline for each request's headers.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but a connection that sends nothing, or
half a request head and then stalls, is kept forever (its h11 protocol arms no timer until a response is done;
``h11_max_incomplete_event_size`` only bounds the head's size, 16 KB by default). ``server()`` runs uvicorn with a
subclass of its h11 protocol (always h11, also where httptools is installed) that closes such a connection with a 408
once ``header_timeout_s`` has passed since it opened or since the current head began. tests/test_api.py sends
half a head to a real server, so an uvicorn release that changes these hooks fails there.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_BODY = json.dumps({"detail": "request headers not received in time"}).encode()
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus: a request head must be complete within ``header_timeout_s``."""

    header_timeout_s: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._stop_head_timer()
        elif self.conn.their_state is h11.IDLE:  # a head begun but not complete: its clock starts with its first byte
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)
        else:
            self._stop_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()


def server(app: Any, host: str, port: int, header_timeout_s: float = 10.0, **options: Any) -> uvicorn.Server:
    """An uvicorn server for ``app`` whose connections must finish each request head within ``header_timeout_s``."""
    protocol = type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": header_timeout_s})
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, http=protocol, **options))
