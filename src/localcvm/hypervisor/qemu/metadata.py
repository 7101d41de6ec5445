"""The instance metadata service, one HTTP exchange on stdin/stdout.

QEMU's user-mode network runs ``python3 -I metadata.py VMDIR`` for every TCP connection the
guest opens to 169.254.0.23:80 (``guestfwd=...-cmd:``), with the connection as stdin and
stdout. This script answers as the real service at http://metadata.tencentyun.com does:
``/latest/meta-data/`` and its sub-paths as plain text (a directory answers the list of its
entries, sub-directories with a trailing ``/``), ``/latest/user-data`` the raw user data, 404
for anything else. The data is the JSON file ``VMDIR/metadata.json`` the driver writes at
each start, so a change (key pairs, hostname) shows after the next start.

Standard library only, no localcvm import: it must start fast and runs outside the server.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

DATA_FILE = "metadata.json"


def lookup(data: dict, path: str) -> tuple[int, bytes]:
    """(HTTP status, body) for ``path`` in ``data`` = {"meta-data": tree, "user-data": base64|None}."""
    path = path.split("?", 1)[0]
    if path in ("/", ""):
        return 200, b"latest\n"
    if path.rstrip("/") == "/latest":
        return 200, b"meta-data/\nuser-data\n"
    if path == "/latest/user-data":
        raw = data.get("user-data")
        return (200, base64.b64decode(raw)) if raw else (404, b"Not Found\n")
    prefix = "/latest/meta-data"
    if not path.startswith(prefix):
        return 404, b"Not Found\n"
    node: object = data.get("meta-data", {})
    for part in [p for p in path[len(prefix):].split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return 404, b"Not Found\n"
        node = node[part]
    if isinstance(node, dict):
        if not path.endswith("/") and path != prefix:
            pass  # the real service answers a directory with or without the slash
        names = [f"{k}/" if isinstance(v, dict) else k for k, v in node.items()]
        return 200, "\n".join(names).encode()
    return 200, str(node).encode()


def serve_one(vm_dir: Path, rfile, wfile) -> None:
    """Read one request from ``rfile``, write the answer to ``wfile``."""
    line = rfile.readline(8192).decode("latin-1").strip()
    while True:
        header = rfile.readline(8192)
        if header in (b"\r\n", b"\n", b""):
            break
    parts = line.split()
    if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
        status, body = 400, b"Bad Request\n"
    else:
        try:
            data = json.loads((vm_dir / DATA_FILE).read_text())
        except (OSError, ValueError):
            data = {}
        status, body = lookup(data, parts[1])
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    head = (f"HTTP/1.0 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    wfile.write(head + (body if parts[:1] != ["HEAD"] else b""))
    wfile.flush()


if __name__ == "__main__":
    serve_one(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
