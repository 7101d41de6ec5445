"""The ``localcvm`` command: serve, accounts, doctor, tccli."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .config import DEFAULT_PORT, Settings

app = typer.Typer(
    help="localcvm: a self-hosted Tencent Cloud CVM-style compute and image service (API 3.0).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "[env X; default Y]" must print, not be taken for markup
)
accounts_app = typer.Typer(help="Manage accounts (root accounts with API key pairs).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(accounts_app, name="accounts")
images_app = typer.Typer(help="Inspect images and maintain the chunk store.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(images_app, name="images")

DataDirOpt = typer.Option(None, "--data-dir", help="Data directory [env LOCALCVM_DATA_DIR; default ~/.local/share/localcvm].")
DbOpt = typer.Option(None, "--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db [env LOCALCVM_DATABASE_URL; default SQLite in the data dir].")


def _services(data_dir: Optional[Path], database_url: Optional[str], **extra):
    from .services.core import Services

    return Services(Settings.load(data_dir=data_dir, database_url=database_url, **extra))


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


LogLevelOpt = typer.Option("info", "--log-level", help="debug, info, warning or error.")
TimeScaleOpt = typer.Option(
    None, "--time-scale",
    help="Add the real service's durations, compressed: a SyncImages copy takes at least TIME_SCALE x "
         "(10..30 minutes), e.g. 0.001 gives 0.6-1.8 s, and a CreateImage TIME_SCALE x (3..10 minutes) "
         "[env LOCALCVM_TIME_SCALE; default 0 = no added delay].",
)


def _open_services(workers_flag: str, min_workers: int, **overrides):
    """Settings from flags and environment, checked, and the services on them (serve, worker)."""
    from .services import errors
    from .services.core import Services

    settings = Settings.load(**overrides)
    if settings.time_scale < 0:
        _fail("--time-scale must be 0 or more")
    for name in ("header_timeout", "body_timeout", "keepalive_timeout"):
        if getattr(settings, name) <= 0:
            _fail(f"--{name.replace('_', '-')} must be more than 0 seconds")
    if settings.max_connections < 1:
        _fail("--max-connections must be 1 or more")
    if settings.workers < min_workers:
        _fail(f"{workers_flag} must be {min_workers} or more (its default comes from LOCALCVM_WORKERS)")
    try:
        return settings, Services(settings)
    except errors.ApiError as exc:
        _fail(exc.message)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=sys.stderr)
    for noisy in ("alembic", "httpx", "httpcore", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on [env LOCALCVM_HOST; default 127.0.0.1]."),
    port: int = typer.Option(None, "--port", help=f"Port to listen on [env LOCALCVM_PORT; default {DEFAULT_PORT}]."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
    tls: Optional[bool] = typer.Option(None, "--tls/--no-tls", help="Serve HTTPS with a certificate from a local CA kept in <data-dir>/tls (clients trust tls/ca.pem)."),
    log_level: str = LogLevelOpt,
    time_scale: Optional[float] = TimeScaleOpt,
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
):
    """Run the API server (all products on one port)."""
    import uvicorn

    from .api.app import create_app
    from .api.transport import guarded_protocol
    from .services import errors

    _setup_logging(log_level)
    settings, services = _open_services("--workers", 0, host=host, port=port, data_dir=data_dir,
                                        database_url=database_url, tls=tls, time_scale=time_scale, workers=workers,
                                        header_timeout=header_timeout, body_timeout=body_timeout,
                                        keepalive_timeout=keepalive_timeout, max_connections=max_connections)
    try:
        generated = services.accounts.ensure_root(settings.secret_id, settings.secret_key)
    except errors.ApiError as exc:
        _fail(exc.message)
    if generated:
        typer.echo(
            "Created the root account of this data dir (shown once; `localcvm accounts list` shows the SecretIds):\n"
            f"  Uin:       {generated.uin}\n  SecretId:  {generated.secret_id}\n  SecretKey: {generated.secret_key}"
        )
    ssl_kwargs = {}
    if settings.tls:
        from .tls import ensure_server_cert

        cert, key, ca = ensure_server_cert(settings.data_dir / "tls", settings.host)
        ssl_kwargs = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        typer.echo(f"TLS on; clients trust the CA certificate {ca}")
    typer.echo(f"localcvm {__version__} listening on {settings.scheme}://{settings.endpoint} (data dir {settings.data_dir})")
    sys.stdout.flush()
    uvicorn.run(
        create_app(services), host=settings.host, port=settings.port, log_level=log_level.lower(),
        access_log=False, timeout_keep_alive=settings.keepalive_timeout,
        http=guarded_protocol(settings.header_timeout, settings.body_timeout, settings.max_connections),
        **ssl_kwargs,
    )


@app.command()
def worker(
    threads: Optional[int] = typer.Option(None, "--threads", help="Job threads [env LOCALCVM_WORKERS; default 4]."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
    log_level: str = LogLevelOpt,
    time_scale: Optional[float] = TimeScaleOpt,
):
    """Run background-job workers (imports, copies, captures, instance work) without the API server.

    For scale-out: give it the server's database and data dir (or S3 store); any number of
    worker processes share the job queue, and `serve --workers 0` runs none in the server.
    A killed worker's jobs resume in the next one. SIGTERM or Ctrl-C stops it.
    """
    import signal
    import threading

    _setup_logging(log_level)
    settings, services = _open_services("--threads", 1, data_dir=data_dir, database_url=database_url,
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


@accounts_app.command("create")
def accounts_create(
    name: str = typer.Option(..., "--name", help="Account name (unique)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Create an account and print its Uin, SecretId and SecretKey."""
    from .services import errors

    services = _services(data_dir, database_url)
    try:
        creds = services.accounts.create_account(name)
    except errors.ApiError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps({"Uin": creds.uin, "AppId": creds.app_id, "Name": creds.name,
                               "SecretId": creds.secret_id, "SecretKey": creds.secret_key}))
    else:
        typer.echo(f"Uin:       {creds.uin}\nAppId:     {creds.app_id}\nName:      {creds.name}\n"
                   f"SecretId:  {creds.secret_id}\nSecretKey: {creds.secret_key}")


@accounts_app.command("list")
def accounts_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """List accounts (never prints secret keys)."""
    accounts = _services(data_dir, database_url).accounts.list_accounts()
    if as_json:
        typer.echo(json.dumps(accounts))
        return
    typer.echo(f"{'UIN':<14}{'APPID':<12}{'NAME':<20}SECRET IDS")
    for a in accounts:
        typer.echo(f"{a['Uin']:<14}{a['AppId']:<12}{a['Name']:<20}{', '.join(a['SecretIds'])}")


@accounts_app.command("allow-cross-border")
def accounts_allow_cross_border(
    uin: str = typer.Argument(..., help="The account's Uin."),
    revoke: bool = typer.Option(False, "--revoke", help="Withdraw the permission instead."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Allow an account to copy images (SyncImages) between mainland China and other regions (R15)."""
    services = _services(data_dir, database_url)
    found = services.accounts.set_cross_border(uin, not revoke)
    services.close()
    if not found:
        _fail(f"no account with Uin {uin}")
    typer.echo(f"{uin}: cross-border image copies {'revoked' if revoke else 'allowed'}")


keys_app = typer.Typer(
    help="Manage API keys (a key is named by its SecretId). A change applies from the next request on, "
         "in every server and worker on the same database.",
    no_args_is_help=True, rich_markup_mode=None,
)
accounts_app.add_typer(keys_app, name="keys")
SecretIdArg = typer.Argument(..., help="The key's SecretId (AKID...).")


def _key_json(key) -> dict:
    created = key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if key.created_at else None
    return {"SecretId": key.secret_id, "Uin": key.uin, "Status": "Enabled" if key.enabled else "Disabled",
            "CreatedTime": created}


@keys_app.command("list")
def keys_list(
    uin: Optional[str] = typer.Option(None, "--uin", help="Only this account's keys."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """List API keys with their account and status (never prints secret keys)."""
    services = _services(data_dir, database_url)
    keys = [_key_json(k) for k in services.accounts.list_keys(uin)]
    services.close()
    if as_json:
        typer.echo(json.dumps(keys))
        return
    typer.echo(f"{'SECRET ID':<40}{'UIN':<14}{'STATUS':<10}CREATED")
    for k in keys:
        typer.echo(f"{k['SecretId']:<40}{k['Uin']:<14}{k['Status']:<10}{k['CreatedTime'] or ''}")


@keys_app.command("create")
def keys_create(
    uin: str = typer.Option(..., "--uin", help="The account that gets the new key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Create a new key pair for an account and print it (the SecretKey is shown only here)."""
    services = _services(data_dir, database_url)
    creds = services.accounts.create_key(uin)
    services.close()
    if creds is None:
        _fail(f"no account with Uin {uin}")
    if as_json:
        typer.echo(json.dumps({"Uin": creds.uin, "SecretId": creds.secret_id, "SecretKey": creds.secret_key}))
    else:
        typer.echo(f"Uin:       {creds.uin}\nSecretId:  {creds.secret_id}\nSecretKey: {creds.secret_key}")


def _set_key(secret_id: str, enabled: bool, data_dir: Optional[Path], database_url: Optional[str]) -> None:
    services = _services(data_dir, database_url)
    key = services.accounts.set_key_enabled(secret_id, enabled)
    services.close()
    if key is None:
        _fail(f"no API key with SecretId {secret_id}")
    typer.echo(f"{secret_id}: {'enabled' if enabled else 'disabled'}")


@keys_app.command("disable")
def keys_disable(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                 database_url: Optional[str] = DbOpt):
    """Disable a key: requests signed with it get AuthFailure.SecretIdNotFound from now on."""
    _set_key(secret_id, False, data_dir, database_url)


@keys_app.command("enable")
def keys_enable(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                database_url: Optional[str] = DbOpt):
    """Enable a disabled key again."""
    _set_key(secret_id, True, data_dir, database_url)


@keys_app.command("delete")
def keys_delete(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                database_url: Optional[str] = DbOpt):
    """Delete a key for good."""
    services = _services(data_dir, database_url)
    found = services.accounts.delete_key(secret_id)
    services.close()
    if not found:
        _fail(f"no API key with SecretId {secret_id}")
    typer.echo(f"{secret_id}: deleted")


@images_app.command("show")
def images_show(
    image_id: str = typer.Argument(..., help="The image ID (img-xxxxxxxx)."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Show an image as the operator sees it: state, owner, disks, and why it failed if it did."""
    services = _services(data_dir, database_url)
    from .api.images import operator_dict

    report = services.images.operator_view(image_id)
    services.close()
    if report is None:
        _fail(f"no custom image {image_id}")
    typer.echo(json.dumps(operator_dict(report), indent=2, ensure_ascii=False))


@images_app.command("gc")
def images_gc(
    region: Optional[list[str]] = typer.Option(None, "--region", help="Region(s) to collect (default: all)."),
    grace: float = typer.Option(3600.0, "--grace", help="Spare chunks written or reused in the last SECONDS (they may belong to an image still being written); 0 only when no import or copy is running."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Delete chunks that no image references any more (safe while the server runs)."""
    services = _services(data_dir, database_url)
    total_chunks = total_bytes = 0
    for r in region or [x.region for x in services.regions.all()]:
        chunks, freed = services.images.gc(r, grace_seconds=grace)
        total_chunks += chunks
        total_bytes += freed
        if chunks:
            typer.echo(f"{r}: removed {chunks} chunks, {freed} bytes")
    services.close()
    typer.echo(f"removed {total_chunks} chunks, {total_bytes} bytes")


@app.command()
def doctor(
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Check what localcvm needs: qemu-img, QEMU/KVM, the database, the data dir, the API specs."""
    settings = Settings.load(data_dir=data_dir, database_url=database_url)
    checks: list[tuple[str, str, str]] = []  # (name, OK|WARN|FAIL, detail)

    def tool_version(cmd: str) -> tuple[str, str]:
        path = shutil.which(cmd)
        if not path:
            return "", ""
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return path, f"fails to run: {exc}"
        return path, (out.splitlines() or [""])[0]

    path, ver = tool_version("qemu-img")
    checks.append(("qemu-img", "OK" if path else "FAIL",
                   f"{path}: {ver}" if path else "not found; images need it: apt-get install qemu-utils"))
    path, ver = tool_version("qemu-system-x86_64")
    checks.append(("qemu-system-x86_64", "OK" if path else "WARN",
                   f"{path}: {ver}" if path else "not found; only the fake driver can run instances (apt-get install qemu-system-x86)"))
    if os.path.exists("/dev/kvm"):
        ok = os.access("/dev/kvm", os.R_OK | os.W_OK)
        checks.append(("kvm", "OK" if ok else "WARN", "/dev/kvm usable" if ok else "/dev/kvm exists but is not accessible; QEMU falls back to TCG"))
    else:
        checks.append(("kvm", "WARN", "no /dev/kvm; real VMs run under TCG (slower)"))
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = settings.data_dir / ".doctor-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        usage = shutil.disk_usage(settings.data_dir)
        checks.append(("data dir", "OK", f"{settings.data_dir} writable, {usage.free / 2**30:.1f} GiB free"))
    except OSError as exc:
        checks.append(("data dir", "FAIL", f"{settings.data_dir}: {exc}"))
    try:
        from sqlalchemy import text

        from .store.db import Database

        db = Database(settings.effective_database_url)
        db.migrate()
        with db.engine.connect() as conn:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.dispose()
        checks.append(("database", "OK", f"{db.engine.url.render_as_string(hide_password=True)} at migration {rev}"))
    except Exception as exc:  # report, don't crash
        checks.append(("database", "FAIL", f"{type(exc).__name__}: {exc}"))
    try:
        from .api.spec import SpecRegistry

        reg = SpecRegistry()
        checks.append(("api specs", "OK", ", ".join(f"{p} {s.version} ({len(s.actions)} actions)" for p, s in reg.products.items())))
    except Exception as exc:
        checks.append(("api specs", "FAIL", f"{type(exc).__name__}: {exc} (pip install tccli)"))

    if as_json:
        typer.echo(json.dumps([{"check": n, "status": s, "detail": d} for n, s, d in checks]))
    else:
        colors = {"OK": typer.colors.GREEN, "WARN": typer.colors.YELLOW, "FAIL": typer.colors.RED}
        for n, s, d in checks:
            typer.echo(f"{typer.style(f'{s:<5}', fg=colors[s])} {n:<20} {d}")
    if any(s == "FAIL" for _, s, _ in checks):
        raise typer.Exit(1)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def tccli(
    ctx: typer.Context,
    endpoint: str = typer.Option(None, "--lc-endpoint", help="host:port of the server [default LOCALCVM_HOST:LOCALCVM_PORT]."),
    tls: Optional[bool] = typer.Option(None, "--lc-tls/--lc-no-tls", help="Use HTTPS and trust <data-dir>/tls/ca.pem [default: LOCALCVM_TLS]."),
    data_dir: Optional[Path] = typer.Option(None, "--lc-data-dir", help="Data dir whose root account signs the calls."),
    database_url: Optional[str] = typer.Option(None, "--lc-database-url", help="Database of that data dir."),
):
    """Run the real tccli against this server: `localcvm tccli cvm DescribeRegions`.

    Credentials: TENCENTCLOUD_SECRET_ID/KEY, else LOCALCVM_SECRET_ID/KEY, else
    the data dir's root account. Region: TENCENTCLOUD_REGION or ap-guangzhou.
    Every tccli option works as usual (--region, --secretId, --output, ...).
    """
    settings = Settings.load(data_dir=data_dir, database_url=database_url, tls=tls)
    args = list(ctx.args)
    env = os.environ
    if not env.get("TENCENTCLOUD_SECRET_ID") and "--secretId" not in args:
        sid, key = settings.secret_id, settings.secret_key
        if not sid:
            services = _services(data_dir, database_url)
            with services.db.read() as repo:
                accounts = repo.list_accounts()
                keys = repo.keys_of(accounts[0].uin) if accounts else []
                if keys:
                    sid, key = keys[0].secret_id, keys[0].secret_key
            services.close()
        if not sid:
            _fail("no credentials: set TENCENTCLOUD_SECRET_ID/KEY or start `localcvm serve` once to create the root account")
        env["TENCENTCLOUD_SECRET_ID"], env["TENCENTCLOUD_SECRET_KEY"] = sid, key
    env.setdefault("TENCENTCLOUD_REGION", "ap-guangzhou")
    if "--endpoint" not in args and args and not args[0].startswith("-") and args[0] not in ("configure", "help"):
        args += ["--endpoint", endpoint or settings.endpoint]

    from tencentcloud.common.profile.http_profile import HttpProfile

    scheme = settings.scheme
    ca = str(settings.data_dir / "tls" / "ca.pem") if settings.tls else None
    original_init = HttpProfile.__init__

    def local_init(self, *a, **kw):
        original_init(self, *a, **kw)
        self.scheme = self.protocol = scheme
        if ca:
            self.certification = ca

    HttpProfile.__init__ = local_init
    from tccli.main import main as tccli_main

    sys.argv = ["tccli", *args]
    code = tccli_main()
    raise typer.Exit(code or 0)


@app.command()
def version():
    """Print the version."""
    typer.echo(__version__)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
