"""Test helpers: start real localcvm servers and a throw-away PostgreSQL cluster."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT_SECRET_ID = "AKIDlocalcvmTestRootKey0000000000000"
ROOT_SECRET_KEY = "localcvmTestRootSecretKey0000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stored_chunks(data_dir, region: str, *, in_progress: bool = False) -> set[str]:
    """Digests a region's chunk store holds (loose chunk files and sealed packs), as the store itself
    lists them; with ``in_progress`` also the complete records of packs a running copy is still writing."""
    from localcvm.blobs.local import LocalChunkStore
    from localcvm.blobs.packfile import scan_pack

    root = Path(data_dir) / "blobs" / region
    if not root.exists():
        return set()
    store = LocalChunkStore(root, create=False)
    try:
        out = set(store.iter_digests())
    finally:
        store.close()
    if in_progress:
        for pack in (root / "packs").glob("*.open"):
            try:
                out.update(d for d, _, _ in scan_pack(pack))
            except FileNotFoundError:  # sealed meanwhile: listed next time
                pass
    return out


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling; report the last failure
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f": {last_exc!r}" if last_exc else ""))


@dataclass
class Server:
    """A real ``localcvm serve`` process on 127.0.0.1."""

    data_dir: Path
    database_url: str = ""
    tls: bool = False
    extra_env: dict = field(default_factory=dict)
    # working directory of the server process (default: the test's own)
    cwd: Path | None = None
    port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    secret_id: str = ROOT_SECRET_ID
    secret_key: str = ROOT_SECRET_KEY

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.endpoint}"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "tls" / "ca.pem"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            LOCALCVM_DATA_DIR=str(self.data_dir),
            LOCALCVM_SECRET_ID=self.secret_id,
            LOCALCVM_SECRET_KEY=self.secret_key,
            LOCALCVM_STRICT_RESPONSES="1",
            LOCALCVM_STRICT_ERRORS="1",
        )
        if self.database_url:
            env["LOCALCVM_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``localcvm ARGS`` against this server's data dir and database."""
        return subprocess.run(
            [sys.executable, "-m", "localcvm", *args], env=self.env(), capture_output=True,
            text=True, timeout=timeout, check=check,
        )

    def start(self) -> "Server":
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        args = [sys.executable, "-m", "localcvm", "serve", "--port", str(self.port)]
        if self.tls:
            args.append("--tls")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        log.close()
        verify = str(self.ca_file) if self.tls else True

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()[-3000:]}")
            return httpx.get(f"{self.url}/_localcvm/health", timeout=2, verify=verify).status_code == 200

        wait_until(ready, timeout=60, what="the server to answer")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


class PostgresCluster:
    """A throw-away PostgreSQL cluster (Debian's postgresql package) on 127.0.0.1."""

    def __init__(self, base: Path | None = None):
        # Not under pytest's 0700 tmp dirs: the server runs as the postgres user when we are root.
        self.base = base or Path(tempfile.mkdtemp(prefix="localcvm-pg-"))
        self.port = free_port()
        self.datadir = self.base / "pgdata"
        self.sockdir = self.base / "pgsock"
        self.bindir = self._find_bindir()
        self.user = None if os.geteuid() != 0 else "postgres"

    @staticmethod
    def _find_bindir() -> Path:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        for c in candidates:
            if (c / "initdb").exists():
                return c
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresCluster":
        self.base.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for p in (self.base, self.sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.datadir), "-o", opts, "-w", "-t", "60", "-l", str(self.base / "pg.log"), "start")
        return self

    def create_database(self) -> str:
        import psycopg

        name = "lc_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def running_server(data_dir: Path, **kwargs):
    server = Server(data_dir=data_dir, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def sdk_signed_request(client, action: str, params: dict):
    """The request an official-SDK ``client`` signs for ``action``, captured where it would be sent
    (``ApiRequest.send_request``): nothing goes on the wire. Returns the SDK's ``RequestInternal``."""
    from unittest import mock

    from tencentcloud.common.http.request import ApiRequest

    captured = []

    def capture(_self, req_inter):
        captured.append(req_inter)
        raise ConnectionAbortedError("captured, not sent")  # the SDK wraps it in its own exception

    with mock.patch.object(ApiRequest, "send_request", capture):
        try:
            client.call(action, params)
        except Exception:
            pass
    if not captured:
        raise AssertionError(f"the SDK sent no request for {action}")
    return captured[0]
