"""`localcvm serve` and `localcvm worker`."""

from __future__ import annotations

import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from ..config import DEFAULT_PORT, Settings, remove_server_record, write_server_record
from .common import DataDirOpt, LogLevelOpt, ServerDbOpt, TimeScaleOpt, fail, open_services, setup_logging


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says the server listens; exit code 2 if it cannot be."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
             "(is another server running? choose another --port / LOCALCVM_PORT)")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_server(settings: Settings, services, sock: socket.socket, log_level: str) -> list[int]:
    """Serve on ``sock`` until stopped; the data dir's ``server.json`` says where, meanwhile.

    Returns the signals that stopped it: uvicorn hands them on once shut down, and the caller
    does so after cleaning up (so that a SIGTERM still ends the process as a SIGTERM does).
    """
    import uvicorn

    from ..api.app import create_app
    from ..api.transport import guarded_protocol

    ssl_kwargs = {}
    if settings.tls:
        from ..tls import ensure_server_cert

        cert, key, ca = ensure_server_cert(settings.data_dir / "tls", settings.host)
        ssl_kwargs = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        typer.echo(f"TLS on; clients trust the CA certificate {ca}")
    config = uvicorn.Config(
        create_app(services), log_level=log_level.lower(), log_config=None,  # our JSON log lines
        access_log=False, timeout_keep_alive=settings.keepalive_timeout,
        http=guarded_protocol(settings.header_timeout, settings.body_timeout, settings.max_connections),
        **ssl_kwargs,
    )
    write_server_record(settings.data_dir, scheme=settings.scheme, host=settings.host, port=settings.port,
                        database_url=settings.database_url)
    typer.echo(f"localcvm {__version__} listening on {settings.scheme}://{settings.endpoint} (data dir {settings.data_dir}; "
               f"web console {settings.scheme}://{settings.endpoint}/console/)")
    sys.stdout.flush()
    received: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        remove_server_record(settings.data_dir)
    return received


def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on [env LOCALCVM_HOST; default 127.0.0.1]."),
    port: int = typer.Option(None, "--port", help=f"Port to listen on, 0 for any free one [env LOCALCVM_PORT; default {DEFAULT_PORT}]."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = ServerDbOpt,
    ephemeral: bool = typer.Option(False, "--ephemeral", help="Keep all state in a new temporary data dir (SQLite) and remove it on exit; for tests."),
    tls: Optional[bool] = typer.Option(None, "--tls/--no-tls", help="Serve HTTPS with a certificate from a local CA kept in <data-dir>/tls (clients trust tls/ca.pem)."),
    log_level: str = LogLevelOpt,
    time_scale: Optional[float] = TimeScaleOpt,
    test_clock: Optional[bool] = typer.Option(
        None, "--test-clock/--no-test-clock", help="Let `localcvm clock advance` (or POST /_localcvm/clock) move "
        "this server's clock forward, for tests of billing and schedules [env LOCALCVM_TEST_CLOCK; default off].",
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", help="Background-job threads in this process [env LOCALCVM_WORKERS; default 4; "
                                "0 = none: run `localcvm worker` processes instead].",
    ),
    header_timeout: Optional[float] = typer.Option(
        None, "--header-timeout", help="Seconds a client has to send a request's line and headers, from "
        "connecting or from the request's first byte; then 408 and close [env LOCALCVM_HEADER_TIMEOUT; default 10].",
    ),
    body_timeout: Optional[float] = typer.Option(
        None, "--body-timeout", help="Seconds a client has to send a request's body after its headers "
        "[env LOCALCVM_BODY_TIMEOUT; default 60].",
    ),
    keepalive_timeout: Optional[float] = typer.Option(
        None, "--keepalive-timeout", help="Seconds an idle kept-alive connection stays open between requests "
        "[env LOCALCVM_KEEPALIVE_TIMEOUT; default 5].",
    ),
    max_connections: Optional[int] = typer.Option(
        None, "--max-connections", help="Most connections open at once; one more is closed at once "
        "[env LOCALCVM_MAX_CONNECTIONS; default 1000].",
    ),
    driver: Optional[str] = typer.Option(
        None, "--driver", help="Compute driver: fake (simulated instances) or qemu (real VMs: docs/qemu.md) "
        "[env LOCALCVM_DRIVER; default fake].",
    ),
):
    """Run the API server (all products on one port)."""
    from ..services import errors

    setup_logging(log_level)
    if ephemeral and (data_dir or database_url):
        fail("--ephemeral makes its own data dir and database: leave out --data-dir and --database-url")
    probe = Settings.load(host=host, port=port)
    sock = bind(probe.host, probe.port)
    temp = Path(tempfile.mkdtemp(prefix="localcvm-ephemeral-")) if ephemeral else None
    original = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    received: list[int] = []
    try:
        settings, services = open_services(
            "--workers", 0, host=host, port=sock.getsockname()[1], data_dir=temp or data_dir,
            database_url="sqlite:///" + str(temp / "localcvm.db") if temp else database_url, tls=tls,
            time_scale=time_scale, test_clock=test_clock, workers=workers, header_timeout=header_timeout, body_timeout=body_timeout,
            keepalive_timeout=keepalive_timeout, max_connections=max_connections, driver=driver)
        try:
            generated = services.accounts.ensure_root(settings.secret_id, settings.secret_key)
        except errors.ApiError as exc:
            fail(exc.message)
        if generated:
            typer.echo(
                "Created the root account of this data dir (shown once; `localcvm accounts list` shows the SecretIds):\n"
                f"  Uin:       {generated.uin}\n  SecretId:  {generated.secret_id}\n  SecretKey: {generated.secret_key}"
            )
        received = run_server(settings, services, sock, log_level)
    finally:
        sock.close()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    for sig in received[:1]:
        signal.signal(sig, original[sig])
        signal.raise_signal(sig)


def worker(
    threads: Optional[int] = typer.Option(None, "--threads", help="Job threads [env LOCALCVM_WORKERS; default 4]."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = ServerDbOpt,
    log_level: str = LogLevelOpt,
    time_scale: Optional[float] = TimeScaleOpt,
):
    """Run background-job workers (imports, copies, captures, instance work) without the API server.

    For scale-out: give it the server's database and data dir (or S3 store); any number of
    worker processes share the job queue, and `serve --workers 0` runs none in the server.
    A killed worker's jobs resume in the next one. SIGTERM or Ctrl-C stops it.
    """
    import threading

    setup_logging(log_level)
    settings, services = open_services("--threads", 1, data_dir=data_dir, database_url=database_url,
                                       time_scale=time_scale, workers=threads)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    services.start_workers()
    typer.echo(f"localcvm {__version__} worker: {settings.workers} job threads (data dir {settings.data_dir})")
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    typer.echo("stopping: jobs in progress resume in the next worker")
    services.close()
