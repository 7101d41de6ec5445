"""Read-time bounds for HTTP connections, around uvicorn's httptools protocol.

uvicorn bounds only the idle time between requests (``timeout_keep_alive``): a
client that sends half its headers, or headers and part of a body, holds its
connection (and a file descriptor) for as long as it likes. This protocol adds
the missing bounds, from the parser's own events:

- the request line and headers must arrive within ``header_timeout`` seconds of
  the connection opening or of the request's first byte (one byte a second does
  not keep a connection alive: the bound is on the whole header, not per byte);
- the body must arrive within ``body_timeout`` seconds of the headers;
- at most ``max_connections`` connections are open at once; one more is closed
  as soon as it is accepted.

A request that misses its bound gets ``408 Request Timeout`` and the connection
is closed. A request the application is already answering is never cut: its
connection just closes after the answer.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("localcvm.transport")

_TIMEOUT_BODY = b"Request Timeout: the request was not received in time.\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


def guarded_protocol(header_timeout: float, body_timeout: float, max_connections: int) -> type[HttpToolsProtocol]:
    """An HTTP protocol class for ``uvicorn.run(http=...)`` with these bounds."""
    if header_timeout <= 0 or body_timeout <= 0 or max_connections < 1:
        raise ValueError("timeouts must be positive and max_connections at least 1")

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.read_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning("refused a connection from %s: %d connections are open (the limit)",
                            self.client[0] if self.client else "?", max_connections)
                transport.close()
                return
            self.arm(header_timeout, "headers")

        def connection_lost(self, exc) -> None:
            self.disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self.read_deadline is None:  # the first byte of a request on a kept-alive connection
                self.arm(header_timeout, "headers")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self.arm(body_timeout, "body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self.disarm()

        # --- the deadline -----------------------------------------------------------------------
        def arm(self, seconds: float, what: str) -> None:
            self.disarm()
            self.read_deadline = self.loop.call_later(seconds, self.read_timed_out, what, seconds)

        def disarm(self) -> None:
            if self.read_deadline is not None:
                self.read_deadline.cancel()
                self.read_deadline = None

        def read_timed_out(self, what: str, seconds: float) -> None:
            self.read_deadline = None
            if self.transport is None or self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is not None and cycle.response_started and not cycle.response_complete:
                cycle.keep_alive = False  # answering an earlier request: close after that answer
                return
            log.info("closed a connection from %s: request %s not received within %g s",
                     self.client[0] if self.client else "?", what, seconds)
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    return GuardedHttpToolsProtocol
