"""`localcvm doctor`, `localcvm tccli`, `localcvm reset`, `localcvm version`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from ..config import Settings
from .common import AsJsonOpt, DataDirOpt, DbOpt, client_settings, fail, services


def doctor(
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
    as_json: bool = AsJsonOpt,
):
    """Check what localcvm needs: qemu-img, QEMU/KVM, the database, the data dir, the API specs."""
    settings = client_settings(data_dir, database_url)
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
    from ..services.compute import doctor_report

    for item, finding in doctor_report(settings):  # QEMU, SeaBIOS, KVM/TCG and why, the range, SSH port
        status = "FAIL" if finding.startswith("INVALID") else "WARN" if (
            finding.startswith(("not ", "TCG")) or "not root" in finding) else "OK"
        checks.append((item, status, finding))
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

        from ..store.db import Database

        db = Database(settings.effective_database_url)
        db.migrate()
        with db.engine.connect() as conn:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.dispose()
        checks.append(("database", "OK", f"{db.engine.url.render_as_string(hide_password=True)} at migration {rev}"))
    except Exception as exc:  # report, don't crash
        checks.append(("database", "FAIL", f"{type(exc).__name__}: {exc}"))
    try:
        from ..api.spec import SpecRegistry

        reg = SpecRegistry()
        checks.append(("api specs", "OK", ", ".join(f"{p} {s.version} ({len(s.actions)} actions)" for p, s in reg.products.items())))
    except Exception as exc:
        checks.append(("api specs", "FAIL", f"{type(exc).__name__}: {exc} (pip install tccli)"))
    from ..imaging.guest import doctor_check

    checks.append(doctor_check(settings.guest_cache_dir))

    if as_json:
        typer.echo(json.dumps([{"check": n, "status": s, "detail": d} for n, s, d in checks]))
    else:
        colors = {"OK": typer.colors.GREEN, "WARN": typer.colors.YELLOW, "FAIL": typer.colors.RED}
        for n, s, d in checks:
            typer.echo(f"{typer.style(f'{s:<5}', fg=colors[s])} {n:<20} {d}")
    if any(s == "FAIL" for _, s, _ in checks):
        raise typer.Exit(1)


TCCLI_HELP = """Run the real tccli against the localcvm server: `localcvm tccli cvm DescribeRegions`.

Server: the one running on the data dir (--data-dir, LOCALCVM_DATA_DIR or the default, as for
`serve`), found by the server.json it writes there; or --lc-endpoint HOST:PORT. Credentials:
TENCENTCLOUD_SECRET_ID/KEY, else LOCALCVM_SECRET_ID/KEY, else the data dir's root account.
Region: TENCENTCLOUD_REGION or ap-guangzhou. Every tccli option works as usual (--region,
--secretId, --output, ...); `localcvm tccli help` and `localcvm tccli cvm --help` show tccli's own help.
"""


def tccli_target(settings: Settings, endpoint: Optional[str], tls: Optional[bool]) -> tuple[str, str]:
    """(scheme, host:port) of the server tccli talks to."""
    from ..client import find_server

    found = find_server(settings.data_dir)
    if tls is not None:
        scheme = "https" if tls else "http"
    else:
        scheme = found.scheme if found is not None else settings.scheme
    if endpoint:
        return scheme, endpoint
    if found is not None:
        return scheme, found.netloc
    if os.environ.get("LOCALCVM_PORT") or os.environ.get("LOCALCVM_HOST"):  # told where, explicitly
        return scheme, settings.endpoint
    fail(f"no localcvm server is running on the data dir {settings.data_dir} (no live server.json there): "
         "start `localcvm serve`, or set --data-dir / LOCALCVM_DATA_DIR to the server's data dir, "
         "or give --lc-endpoint HOST:PORT")


def tccli_credentials(settings: Settings) -> tuple[str, str]:
    if settings.secret_id and settings.secret_key:
        return settings.secret_id, settings.secret_key
    found = None
    if settings.database_url or (settings.data_dir / "localcvm.db").exists():
        svc = services(settings.data_dir, settings.database_url or None)
        found = svc.accounts.root_credentials()
        svc.close()
    if not found:
        fail(f"no credentials: the data dir {settings.data_dir} has no root account; set "
             "TENCENTCLOUD_SECRET_ID/KEY, or --data-dir / LOCALCVM_DATA_DIR to the server's data dir")
    return found


def tccli(
    ctx: typer.Context,
    endpoint: str = typer.Option(None, "--lc-endpoint", help="host:port of the server [default: the one running on the data dir]."),
    tls: Optional[bool] = typer.Option(None, "--lc-tls/--lc-no-tls", help="Use HTTPS and trust <data-dir>/tls/ca.pem [default: as the running server; LOCALCVM_TLS]."),
    data_dir: Optional[Path] = typer.Option(None, "--lc-data-dir", "--data-dir", help="Data dir of the server, whose root account signs the calls [env LOCALCVM_DATA_DIR; default ~/.local/share/localcvm]."),
    database_url: Optional[str] = typer.Option(None, "--lc-database-url", "--database-url", help="Database of that data dir [default: the running server's]."),
):
    args = list(ctx.args)
    if not args or args[0] in ("--help", "-h"):
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    settings = client_settings(data_dir, database_url, tls=tls)
    env = os.environ
    if not any(a in ("--help", "-h", "help") for a in args) and args[0] not in ("configure", "help"):
        given = args[args.index("--endpoint") + 1] if "--endpoint" in args[:-1] else None  # tccli's own
        scheme, where = tccli_target(settings, endpoint or given, tls)
        if not env.get("TENCENTCLOUD_SECRET_ID") and "--secretId" not in args:
            env["TENCENTCLOUD_SECRET_ID"], env["TENCENTCLOUD_SECRET_KEY"] = tccli_credentials(settings)
        if "--endpoint" not in args:
            args += ["--endpoint", where]
        patch_tccli_profile(scheme, str(settings.data_dir / "tls" / "ca.pem") if scheme == "https" else None)
    env.setdefault("TENCENTCLOUD_REGION", "ap-guangzhou")
    from tccli.main import main as tccli_main

    sys.argv = ["tccli", *args]
    code = tccli_main()
    raise typer.Exit(code or 0)


def patch_tccli_profile(scheme: str, ca: Optional[str]) -> None:
    """Make every HttpProfile tccli builds use ``scheme`` (and trust ``ca``)."""
    from tencentcloud.common.profile.http_profile import HttpProfile

    original_init = HttpProfile.__init__

    def local_init(self, *a, **kw):
        original_init(self, *a, **kw)
        self.scheme = self.protocol = scheme
        if ca:
            self.certification = ca

    HttpProfile.__init__ = local_init


def reset(
    everything: bool = typer.Option(False, "--all", help="Drop every account but the root one too."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
    as_json: bool = AsJsonOpt,
):
    """Drop every resource (instances, disks, snapshots, images, key pairs, jobs, tags, buckets and
    their files) and keep the accounts; through the running server (POST /_localcvm/reset, signed
    with the root key) or, with none running, on the data dir directly."""
    from ..client import find_server
    from ..client import reset as post_reset
    from ..services.reset import reset_data

    settings = client_settings(data_dir, database_url)
    found = find_server(settings.data_dir)
    if found is None:
        if not (settings.database_url or (settings.data_dir / "localcvm.db").exists()):
            fail(f"nothing to reset: no server runs on {settings.data_dir} and it holds no database")
        svc = services(data_dir, database_url)
        done = reset_data(svc, accounts=everything)
        svc.close()
        answer = {"DeletedResources": done.rows, "DeletedAccounts": done.accounts_dropped}
    else:
        sid, key = tccli_credentials(settings)
        ca = str(settings.data_dir / "tls" / "ca.pem") if found.scheme == "https" else True
        answer = post_reset(found, sid, key, accounts=everything, verify=ca)
        if "Error" in answer:
            fail(f"{answer['Error']['Code']}: {answer['Error']['Message']}")
        answer.pop("RequestId", None)
    if as_json:
        typer.echo(json.dumps(answer))
    else:
        typer.echo(f"reset: {answer['DeletedResources']} resources and {answer['DeletedAccounts']} accounts deleted")


def version():
    """Print the version."""
    typer.echo(__version__)


def hosts(domain: str = typer.Option("localcvm.test", "--domain", help="The root domain clients are given.")):
    """Print the /etc/hosts line that sends every product's host name (cvm.DOMAIN, cbs.DOMAIN, ...)
    to this machine, for clients that only take a root domain (Terraform's domain, the Go and Java
    SDKs' root domain)."""
    from ..api.hostnames import hosts_lines

    try:
        lines = hosts_lines(domain)
    except ValueError as exc:
        fail(str(exc))
    for line in lines:
        typer.echo(line)
