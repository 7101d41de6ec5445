"""Slow and incomplete requests are timed out; they do not slow down normal requests (issue 16 item 7)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until

from . import sdk

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 3.0
KEEPALIVE_TIMEOUT = 2.0
SLACK = 1.5  # scheduling on a busy 2-core machine
BOUNDS = {"LOCALCVM_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "LOCALCVM_BODY_TIMEOUT": str(BODY_TIMEOUT),
          "LOCALCVM_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT)}

HEADERS = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"X-TC-Action: DescribeZones\r\nContent-Length: 2\r\n\r\n")


class SlowClients:
    """``count`` connections on their own event loop (a thread), each sending ``prefix`` at once and then
    one byte of ``trickle`` per second until the server closes it; records when and how each ended."""

    def __init__(self, port: int, count: int, prefix: bytes, trickle: bytes):
        self.port, self.count, self.prefix, self.trickle = port, count, prefix, trickle
        self.results: list[tuple[float, bytes]] = []  # (seconds open, what the server sent)
        self.connected = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    def start(self) -> "SlowClients":
        self.thread.start()
        assert self.connected.wait(30), "slow clients did not connect"
        return self

    async def main(self) -> None:
        conns = [await asyncio.open_connection("127.0.0.1", self.port) for _ in range(self.count)]
        self.connected.set()
        await asyncio.gather(*(self.one(r, w) for r, w in conns))

    async def one(self, reader, writer) -> None:
        started = time.monotonic()
        got = b""
        try:
            writer.write(self.prefix)
            for i in range(120):  # at most two minutes, far beyond every bound
                writer.write(self.trickle[i % len(self.trickle):][:1])
                await writer.drain()
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 1.0)
                except asyncio.TimeoutError:
                    continue
                got += chunk
                if not chunk:
                    break
        except (ConnectionError, OSError):
            pass
        self.results.append((time.monotonic() - started, got))
        writer.close()

    def finished(self) -> bool:
        return len(self.results) == self.count


def _timed_requests(client, until: float) -> list[float]:
    times = []
    while time.monotonic() < until:
        started = time.perf_counter()
        assert client.DescribeZones(models.DescribeZonesRequest()).TotalCount > 0
        times.append(time.perf_counter() - started)
    return times


@pytest.fixture
def bounded(make_server):
    return make_server(extra_env=dict(BOUNDS))


def test_fifty_slowloris_connections_do_not_delay_requests_and_are_closed_in_time(bounded):
    client = sdk.cvm(bounded)
    client.DescribeZones(models.DescribeZonesRequest())  # warm the SDK's connection
    slow = SlowClients(bounded.port, 50, b"", HEADERS).start()
    times = _timed_requests(client, time.monotonic() + HEADER_TIMEOUT + 1)
    wait_until(slow.finished, timeout=HEADER_TIMEOUT + SLACK + 5, what="the slow connections to be closed")
    assert len(times) > 20
    # a server the slow connections held up would delay requests by up to the header timeout (seconds);
    # one scheduling hiccup on a shared 2-core machine is not that: the 99th percentile stays fast
    ranked = sorted(times)
    p99 = ranked[int(len(ranked) * 0.99) - 1]
    assert p99 < 0.050 and max(times) < 0.5, \
        f"99th percentile {p99 * 1000:.1f} ms, slowest {max(times) * 1000:.1f} ms (of {len(times)})"
    for seconds, answer in slow.results:
        assert seconds <= HEADER_TIMEOUT + SLACK, seconds
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:60]


def test_partial_bodies_are_closed_in_time(bounded):
    headers = HEADERS.replace(b"Content-Length: 2", b"Content-Length: 1000")
    slow = SlowClients(bounded.port, 10, headers, b'{"a":' + b" " * 100).start()
    wait_until(slow.finished, timeout=HEADER_TIMEOUT + BODY_TIMEOUT + SLACK + 5, what="the partial bodies to be closed")
    for seconds, answer in slow.results:
        assert seconds <= BODY_TIMEOUT + SLACK, seconds
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:60]
    log = bounded.log()
    assert "Traceback" not in log and "InternalError" not in log


def _closed_within(sock: socket.socket, seconds: float) -> tuple[float, bytes]:
    """Read until the server closes; (elapsed, bytes) — fails if it stays open past ``seconds``."""
    started = time.monotonic()
    sock.settimeout(0.2)
    got = b""
    while time.monotonic() - started < seconds:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        except ConnectionError:
            break
        if not chunk:
            break
        got += chunk
    else:
        raise AssertionError(f"still open after {seconds} s; got {got[:80]!r}")
    return time.monotonic() - started, got


def test_request_line_without_version_is_answered_or_closed_promptly(bounded):
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=5) as sock:
        sock.sendall(b"GET /\r\n")
        _closed_within(sock, HEADER_TIMEOUT + SLACK)


def test_silent_and_idle_connections_are_closed(bounded):
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=5) as silent:
        elapsed, answer = _closed_within(silent, HEADER_TIMEOUT + SLACK)
        assert elapsed >= HEADER_TIMEOUT - 0.5 and answer.startswith(b"HTTP/1.1 408 ")
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=5) as idle:
        idle.sendall(b"GET /_localcvm/health HTTP/1.1\r\nHost: x\r\n\r\n")
        elapsed, answer = _closed_within(idle, KEEPALIVE_TIMEOUT + SLACK)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"408" not in answer


def test_connections_beyond_the_limit_are_closed_at_once(make_server):
    srv = make_server(extra_env={"LOCALCVM_MAX_CONNECTIONS": "4", "LOCALCVM_HEADER_TIMEOUT": "60"})
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(4)]
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as extra:
            elapsed, answer = _closed_within(extra, 2.0)
            assert answer == b""
    finally:
        for s in held:
            s.close()
    # once they are gone, requests are served again
    wait_until(lambda: sdk.cvm(srv).DescribeZones(models.DescribeZonesRequest()).TotalCount > 0, timeout=10,
               what="the server to accept connections again")


def test_bad_bounds_are_refused(tmp_path):
    from tests.helpers import Server

    srv = Server(data_dir=tmp_path / "bad")
    done = srv.cli("serve", "--port", "1", "--header-timeout", "0", check=False)
    assert done.returncode == 2 and "--header-timeout must be more than 0" in done.stderr
