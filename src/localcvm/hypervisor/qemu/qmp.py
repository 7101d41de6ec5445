"""A short synchronous QMP session with one VM, over its unix socket (the ``qemu.qmp`` package).

Every call opens the socket, negotiates, runs its commands and closes: QEMU serves one QMP
client at a time, and a short session never blocks another process (a ``localcvm worker``)
for long. Errors become ``QmpFailed`` with the command named.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from qemu.qmp import ExecuteError, QMPClient, QMPError

__all__ = ["QmpFailed", "QmpSession", "session"]

# qemu.qmp logs every negotiation at INFO and a vanished peer at WARNING: too loud for a server log
logging.getLogger("qemu.qmp").setLevel(logging.ERROR)


class QmpFailed(Exception):
    """A QMP connection or command failed (``command`` names it; None for the connection)."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


class QmpSession:
    """An open, negotiated QMP connection (from ``session``): the async client driven by a private
    event loop in a thread of its own, so the caller's thread may be anything (a worker thread, or
    one that already runs a loop of its own)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float):
        self._loop = loop
        self._client: QMPClient | None = None
        self._timeout = timeout

    def run(self, coro, timeout: float | None = None):
        limit = timeout or self._timeout
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, limit), self._loop)
        try:
            return future.result(limit + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise asyncio.TimeoutError() from None

    def open(self, name: str, socket_path: Path) -> None:
        async def connect() -> QMPClient:
            client = QMPClient(name)  # made on the loop that drives it
            await client.connect(str(socket_path))
            return client

        self._client = self.run(connect())

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self.run(self._client.disconnect(), 5)

    def cmd(self, name: str, timeout: float | None = None, **args: object):
        """Run ``name`` with ``args``; its ``return`` value."""
        try:
            return self.run(self._client.execute(name, args or None), timeout)
        except ExecuteError as exc:
            raise QmpFailed(f"QMP {name} failed: {exc.error.error.desc}", name) from None
        except (QMPError, OSError, asyncio.TimeoutError, EOFError) as exc:
            raise QmpFailed(f"QMP {name} failed: {exc!r}", name) from None


@contextlib.contextmanager
def session(socket_path: Path, timeout: float = 10.0) -> Iterator[QmpSession]:
    """A QMP session with the VM whose monitor listens at ``socket_path`` (connect and each command
    bounded by ``timeout`` seconds)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="qmp", daemon=True)
    thread.start()
    qs = QmpSession(loop, timeout)
    try:
        try:
            qs.open(f"localcvm:{socket_path.parent.name}", socket_path)
        except (QMPError, OSError, asyncio.TimeoutError, EOFError) as exc:
            raise QmpFailed(f"cannot reach QMP at {socket_path}: {exc!r}") from None
        yield qs
    finally:
        qs.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
