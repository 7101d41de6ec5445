"""Settings: command-line flags > ``LOCALCVM_*`` environment variables > defaults; and the record
a running server leaves in its data dir (``server.json``) so that clients find it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_PORT = 4570
SERVER_RECORD = "server.json"
MAX_BODY_BYTES = 10 * 1024 * 1024  # the real API's limit for a JSON request


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "localcvm"


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: Path = field(default_factory=_default_data_dir)
    # SQLAlchemy URL; empty means SQLite at <data_dir>/localcvm.db
    database_url: str = ""
    tls: bool = False
    # JSON file with the region/zone catalogue; empty means the built-in one
    regions_file: str = ""
    # Root account keys for a new data dir (generated and printed when empty)
    secret_id: str = ""
    secret_key: str = ""
    # Largest accepted request body
    max_body_bytes: int = MAX_BODY_BYTES
    # Read bounds per connection, seconds: request line + headers, then body, then idle between
    # requests on a kept-alive connection; and the most connections open at once
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keepalive_timeout: float = 5.0
    max_connections: int = 1000
    # Allowed clock skew for signed requests, seconds
    max_skew_seconds: int = 300
    # Emit one JSON line per request on stderr
    request_log: bool = True
    # Raise instead of warn when a handler's response does not fit the spec
    strict_responses: bool = False
    # Answer InternalError (and log) when an error code is not one the action documents
    # (data/error_codes.json, from the SDKs) nor a common API 3.0 code
    strict_errors: bool = False
    # Custom images per account and region (the real DescribeImageQuota answers 10)
    image_quota: int = 10
    # Accounts a custom image can be shared with (ModifyImageSharePermission allows 50)
    share_limit: int = 50
    # SyncImages: stretch each copy to at least time_scale x (10..30 minutes), the real
    # service's duration, compressed (0 = as fast as the machine allows)
    time_scale: float = 0.0
    # The test clock (localcvm clock advance / POST /_localcvm/clock): off by default
    test_clock: bool = False
    # Billing: the price list (JSON of the shape of data/prices.json; empty = the built-in one), the
    # currency of every account ("CNY", the mainland China site; "USD", the international site), and
    # the snapshot storage each account has free per mainland China region, GiB (0 elsewhere)
    prices_file: str = ""
    billing_currency: str = "CNY"
    snapshot_free_gib: float = 50.0
    # Append one line per chunk a copy writes ("job attempt digest") to this file (tests, diagnostics)
    sync_trace: str = ""
    # SyncImages between regions whose local stores share a file system: hard-link the chunks (no
    # bytes move; see blobs.links). Off: always copy the bytes (regions that must not share inodes)
    zero_copy: bool = True
    # Chunk store backend: "local" (<data-dir>/blobs/<region>) or "s3"
    blob_backend: str = "local"
    s3_endpoint: str = ""
    s3_bucket: str = "localcvm"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    # Object store for ExportImages buckets: "local" (<data-dir>/cos/<bucket>) or "s3" (same S3 settings)
    cos_backend: str = "local"
    # Hosts ImportImage may download from ("*" = any); comma-separated
    import_allowed_hosts: str = "*"
    # Largest image file ImportImage downloads, and largest virtual disk it accepts
    max_import_bytes: int = 64 * 1024**3
    max_image_virtual_gib: int = 2048
    # Compute driver: "fake" (fast simulated instances) or "qemu" (real VMs, docs/qemu.md)
    driver: str = "fake"
    # Web console (/console): sessions unused this long are signed out, minutes; failed sign-ins
    # allowed per source address per minute
    console_idle_minutes: float = 30.0
    console_signin_per_minute: int = 10
    # QEMU driver: guest memory = the instance type's x this scale (at least 128 MiB), vCPUs capped
    # (0 = the host's cores), seconds an ACPI stop may take before a hard stop, guest TCP ports
    # forwarded besides 22 (comma-separated), accelerator ("" probes: KVM when usable, else TCG)
    qemu_memory_scale: float = 1.0
    qemu_max_vcpus: int = 0
    qemu_stop_timeout: float = 30.0
    qemu_forward_ports: str = ""
    qemu_accel: str = ""
    # Instances' public IPs (a loopback range: nothing listens outside 127.0.0.0/8); the port their
    # guest's SSH is reached on (0: 22 when the server runs as root, else 2222)
    public_ip_range: str = "127.100.0.0/16"
    ssh_port: int = 0
    # What the host's instances may hold together: vCPUs and GiB of memory (0 = no limit). Beyond
    # it RunInstances refuses, or launches part of a batch (the rest ends LAUNCH_FAILED)
    host_vcpus: int = 0
    host_memory_gib: int = 0
    # Worker threads for background jobs in `serve` (0 = run no workers in this process)
    workers: int = 4
    # How often (seconds) the auto-snapshot scheduler looks for due policies and expired snapshots
    snapshot_scheduler_interval: float = 30.0
    # How many snapshots of each disk an auto-snapshot policy keeps (0: no limit; RetentionDays still
    # applies); DescribeAutoSnapshotPolicies shows it as RetentionAmount
    auto_snapshot_retention_amount: int = 0
    # Where `localcvm images build-public` caches the bootable public guest disk (empty = <data_dir>/guest);
    # tests point every server at one directory so the disk is built once per machine
    guest_cache: str = ""

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Build settings from the environment, then apply non-None overrides (flags)."""
        values: dict = {}
        for f in fields(cls):
            env = os.environ.get("LOCALCVM_" + f.name.upper())
            if env is not None and env != "":
                values[f.name] = _coerce(f.type, env)
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        settings = cls(**values)
        settings.data_dir = Path(settings.data_dir).expanduser().resolve()
        return settings

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'localcvm.db'}"

    @property
    def guest_cache_dir(self) -> Path:
        return Path(self.guest_cache).expanduser() if self.guest_cache else self.data_dir / "guest"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def _coerce(type_name, raw: str):
    t = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    if t == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if t == "int":
        return int(raw)
    if t == "float":
        return float(raw)
    if t == "Path":
        return Path(raw)
    return raw


def write_server_record(data_dir: Path, *, scheme: str, host: str, port: int, database_url: str = "") -> Path:
    """Record where the server of ``data_dir`` listens (written whole: readers never see half)."""
    path = Path(data_dir) / SERVER_RECORD
    tmp = path.with_name(f".{SERVER_RECORD}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may name a database password
    with os.fdopen(fd, "w") as fh:
        json.dump({"scheme": scheme, "host": host, "port": port, "pid": os.getpid(),
                   "database_url": database_url}, fh)
    os.replace(tmp, path)
    return path


def remove_server_record(data_dir: Path) -> None:
    """Remove the record if it is this process's own."""
    path = Path(data_dir) / SERVER_RECORD
    record = _read_record(path)
    if record is not None and record.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def running_server(data_dir: Path) -> dict | None:
    """The record of the server running on ``data_dir`` (scheme, host, port, pid, database_url),
    or None: no record, or its process is gone (a server killed without cleaning up)."""
    record = _read_record(Path(data_dir) / SERVER_RECORD)
    if record is None or not _alive(record.get("pid")):
        return None
    return record


def connect_host(host: str) -> str:
    """The address a client on this machine connects to for a server listening on ``host``."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("port"), int) else None


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
