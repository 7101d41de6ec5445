"""ImportImage's download: one GET of the image URL, read straight into the caller's buffers.

The standard library's HTTP client reads a response into a caller's buffer (``readinto``) with
no intermediate objects, which keeps the download as cheap in CPU as ``curl`` (an import shares
the cores with hashing the chunks). Redirects are followed only within the same origin, at most
five; the declared length, the operator's size limit, a truncated and an empty body are checked
here, so every caller gets the same refusals.

A proxy is used as other HTTP clients use one: ``http_proxy`` / ``https_proxy`` (either case)
name an ``http://`` proxy, with ``user:password@`` for Basic authentication, and ``no_proxy``
lists hosts reached directly. Loopback hosts are always reached directly: a proxy elsewhere
cannot reach this machine's loopback. An https URL goes through the proxy in a CONNECT tunnel,
its certificate checked against the host's as without a proxy.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import os
import ssl
import urllib.request
from collections.abc import Iterator
from urllib.parse import unquote, urljoin, urlsplit

from ..errors import ImportFailed

MAX_REDIRECTS = 5
CONNECT_TIMEOUT, READ_TIMEOUT = 30.0, 120.0
PIECE = 1024 * 1024
HEADERS = {"Accept-Encoding": "identity", "User-Agent": "localcvm-import"}  # the bytes as stored


class Body:
    """The response body: ``readinto`` fills a buffer (short only at the end of the body)."""

    def __init__(self, resp: http.client.HTTPResponse, expected: int | None, max_bytes: int, url: str = ""):
        self.resp, self.expected, self.max_bytes = resp, expected, max_bytes
        self.url = url  # where the body came from, after redirects
        self.received = 0

    def readinto(self, buf: memoryview) -> int:
        """Fill ``buf`` from the body; fewer bytes only when the body ends (0: it had ended)."""
        got = 0
        while got < len(buf):
            try:
                n = self.resp.readinto(buf[got:])
            except (OSError, http.client.HTTPException) as exc:
                raise ImportFailed(f"Downloading the image failed: {type(exc).__name__}: {exc}") from None
            if not n:
                self._ended()
                break
            got += n
            self.received += n
            if self.received > self.max_bytes:
                raise ImportFailed(f"The image file exceeds the limit of {self.max_bytes} bytes.")
        return got

    def pieces(self) -> Iterator[memoryview]:
        """The body in pieces of up to 1 MiB (each view valid until the next one)."""
        buf = memoryview(bytearray(PIECE))
        while n := self.readinto(buf):
            yield buf[:n]

    def _ended(self) -> None:
        if self.expected is not None and self.received != self.expected:
            raise ImportFailed(f"The download was truncated: got {self.received} of {self.expected} bytes.")
        if self.received == 0:
            raise ImportFailed("The image file is empty.")


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None to connect directly."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy or _loopback(parts.hostname or "") or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _connect(url: str) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for ``url``, the request target to send on it and the headers it adds."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    proxy = proxy_for(url)
    if proxy is None:
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT,
                                               context=ssl.create_default_context()), target, {}
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT), target, {}
    via = urlsplit(proxy)
    if via.scheme != "http" or not via.hostname:
        raise ImportFailed(f"The proxy `{via.scheme}://{via.hostname}` is not an http:// proxy; it cannot be used.")
    auth = {}
    if via.username:
        pair = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
        auth = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}
    if parts.scheme == "https":  # a tunnel: TLS with the image's host, through the proxy
        conn = http.client.HTTPSConnection(via.hostname, via.port or 80, timeout=CONNECT_TIMEOUT,
                                           context=ssl.create_default_context())
        conn.set_tunnel(parts.hostname, parts.port or 443, headers=auth)
        return conn, target, {}
    # plain http: the proxy gets the whole URL (the request line's absolute form)
    absolute = f"http://{parts.netloc}{target}"
    return http.client.HTTPConnection(via.hostname, via.port or 80, timeout=CONNECT_TIMEOUT), absolute, auth


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


@contextlib.contextmanager
def fetch(url: str, max_bytes: int) -> Iterator[Body]:
    """GET ``url`` (redirects followed only within the same origin): its body."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        conn, target, extra = _connect(current)
        try:
            try:
                conn.request("GET", target, headers={**HEADERS, **extra})
                resp = conn.getresponse()
                if conn.sock is not None:
                    conn.sock.settimeout(READ_TIMEOUT)
            except (OSError, http.client.HTTPException) as exc:
                raise ImportFailed(f"Downloading the image failed: {type(exc).__name__}: {exc}") from None
            if resp.status in (301, 302, 303, 307, 308):
                target = urljoin(current, resp.getheader("location", ""))
                if not _same_origin(url, target):
                    raise ImportFailed(f"The image URL redirects to another host ({urlsplit(target).hostname}); refused.")
                current = target
                continue
            if resp.status != 200:
                raise ImportFailed(f"Downloading the image failed: HTTP {resp.status} from {parts.hostname}.")
            encoding = (resp.getheader("content-encoding") or "identity").lower()
            if encoding != "identity":
                raise ImportFailed(f"The image was sent with Content-Encoding `{encoding}`; send it as it is stored.")
            declared = resp.getheader("content-length")
            expected = int(declared) if declared and declared.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise ImportFailed(f"The image file is {expected} bytes; the limit is {max_bytes}.")
            yield Body(resp, expected, max_bytes, current)
            return
        finally:
            conn.close()
    raise ImportFailed(f"The image URL redirects more than {MAX_REDIRECTS} times.")


def fetch_tail(url: str, length: int) -> bytes | None:
    """The last ``length`` bytes of ``url`` (a ``Range: bytes=-N`` GET); None when the server does
    not answer it with exactly those bytes (no range support, a redirect, an error): the caller
    then learns what it wanted from the full body instead."""
    try:
        conn, target, extra = _connect(url)
    except ImportFailed:
        return None
    try:
        conn.request("GET", target, headers={**HEADERS, "Range": f"bytes=-{length}", **extra})
        resp = conn.getresponse()
        if resp.status != 206:
            return None
        data = resp.read(length + 1)
        return data if len(data) == length else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def download(url: str, dest: str, max_bytes: int, progress, *, durable: bool = True) -> int:
    """Stream ``url`` to ``dest`` (renamed into place once complete; made durable first unless
    ``durable`` is False, for a scratch file a crash makes the job fetch again)."""
    with fetch(url, max_bytes) as body:
        return save(body, dest, progress, durable=durable)


def save(body: Body, dest: str, progress, *, prefix: bytes = b"", durable: bool = True) -> int:
    """The rest of ``body`` to ``dest``, after ``prefix`` (what the caller read of it already), as
    ``download`` writes it."""
    tmp = dest + ".part"
    with open(tmp, "wb") as fh:
        fh.write(prefix)
        for piece in body.pieces():
            fh.write(piece)
            if body.expected:
                progress(body.received / body.expected)
        fh.flush()
        if durable:
            os.fsync(fh.fileno())
    os.replace(tmp, dest)
    return body.received
