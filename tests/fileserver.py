"""A small HTTP file server on 127.0.0.1 for ImportImage tests.

Paths:
  /files/NAME              the file, with Content-Length
  /same-redirect/NAME      302 to /files/NAME (same origin)
  /other-redirect/NAME     302 to the same file on another loopback host (must be refused)
  /truncated/NAME          declares the full length, sends half, closes
  /slow/NAME               the file at about 16 MiB/s (for tests that interrupt a download)
  anything else            404

/files/ answers ``Range: bytes=-N`` (the file's last N bytes) with 206; every GET is logged in
``requests`` as (path, Range header).

It is a forward proxy too: a request line with an absolute URL (``GET http://any.host/files/NAME``)
is answered as if its path had been asked, and recorded in ``proxied`` with its
Proxy-Authorization header, so a test can point http_proxy at it for hosts that do not exist.
``CONNECT host:port`` is recorded the same way and tunnelled to ``tunnel_to`` (a loopback
address, e.g. a ``file_server(..., tls=...)``), whatever host it names: https_proxy.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _handler(root: Path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _file(self, name: str) -> Path | None:
            path = (root / name).resolve()
            if root.resolve() not in path.parents or not path.is_file():
                return None
            return path

        def do_CONNECT(self):
            self.server.proxied.append((f"CONNECT {self.path}", self.headers.get("Proxy-Authorization")))
            if self.server.tunnel_to is None:
                self.send_error(502)
                return
            upstream = socket.create_connection(self.server.tunnel_to, timeout=30)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            with upstream:
                ends = [self.connection, upstream]
                while True:
                    ready, _, _ = select.select(ends, [], [], 30)
                    if not ready:
                        return
                    for end in ready:
                        data = end.recv(1 << 16)
                        if not data:
                            return
                        (upstream if end is self.connection else self.connection).sendall(data)

        def _tail(self, path: Path, length: int) -> None:
            size = path.stat().st_size
            start = max(0, size - length)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - start))
            self.end_headers()
            with open(path, "rb") as fh:
                fh.seek(start)
                self.wfile.write(fh.read())

        def do_GET(self):
            if self.path.startswith("http://"):  # as a proxy: the absolute form of the request line
                self.server.proxied.append((self.path, self.headers.get("Proxy-Authorization")))
                self.path = "/" + self.path.split("/", 3)[3]
            parts = self.path.lstrip("/").split("/", 1)
            kind, name = (parts + [""])[:2]
            path = self._file(name)
            if path is None:
                self.send_error(404)
                return
            if kind == "same-redirect":
                self.send_response(302)
                self.send_header("Location", f"/files/{name}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if kind == "other-redirect":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.2:{self.server.server_address[1]}/files/{name}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if kind not in ("files", "truncated", "slow"):
                self.send_error(404)
                return
            wanted = self.headers.get("Range") or ""
            self.server.requests.append((self.path, wanted or None))
            if kind == "files" and wanted.startswith("bytes=-") and wanted[7:].isdigit():
                self._tail(path, int(wanted[7:]))
                return
            size = path.stat().st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            send = size // 2 if kind == "truncated" else size
            with open(path, "rb") as fh:
                while send > 0:
                    block = fh.read(min(send, 1 << 20))
                    if not block:
                        break
                    self.wfile.write(block)
                    send -= len(block)
                    if kind == "slow":
                        time.sleep(1 / 16)
            if kind == "truncated":
                self.close_connection = True

    return Handler


class FileServer:
    def __init__(self, root: Path, tls: tuple[Path, Path] | None = None):
        self.root = root
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root))
        self.httpd.daemon_threads = True
        self.httpd.proxied = []  # (absolute URL or CONNECT line, Proxy-Authorization) of each proxied request
        self.httpd.tunnel_to = None
        self.httpd.requests = []  # (path, Range header) of each GET of a file
        if tls is not None:  # (certificate, key): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str, kind: str = "files") -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{name}"

    def add(self, name: str, data: bytes | Path) -> str:
        target = self.root / name
        if isinstance(data, Path):
            target.write_bytes(data.read_bytes())
        else:
            target.write_bytes(data)
        return self.url(name)


@contextmanager
def file_server(root: Path, tls: tuple[Path, Path] | None = None):
    root.mkdir(parents=True, exist_ok=True)
    srv = FileServer(root, tls)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
