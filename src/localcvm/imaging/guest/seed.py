"""A NoCloud seed for the guest (and for any cloud-init image): a small FAT image labelled ``cidata``,
made with mkfs.fat and mcopy (no mounts). The files are the ones docs/guest-image.md lists."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .packages import run

SEED_LABEL = "cidata"


def nocloud_files(*, instance_id: str, hostname: str, user_data: str | bytes | None = None,
                  authorized_keys: list[str] = (), root_password: str | None = None,
                  metadata_endpoint: str | None = None) -> dict[str, bytes]:
    """The seed's files: meta-data (NoCloud), user-data, and localcvm's authorized_keys,
    root-password and metadata-endpoint (absent when not given)."""
    files = {"meta-data": f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n".encode()}
    if user_data is not None:
        files["user-data"] = user_data.encode() if isinstance(user_data, str) else user_data
    files["authorized_keys"] = "".join(k.strip() + "\n" for k in authorized_keys).encode()
    if root_password:
        files["root-password"] = root_password.encode()
    if metadata_endpoint:
        files["metadata-endpoint"] = metadata_endpoint.encode() + b"\n"
    return files


def write_seed(path: Path, files: dict[str, bytes | str], *, size_kib: int = 1024) -> Path:
    """Write ``files`` into a new FAT image at ``path`` (replaced whole: built beside it, renamed)."""
    path = Path(path)
    need = sum(len(v) for v in files.values()) // 1024 + 64 * len(files) + 256
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    # mkfs.fat warns that lowercase labels may not work everywhere; cloud-init looks for "cidata"
    run(["mkfs.fat", "-C", "-n", SEED_LABEL, str(tmp), str(max(size_kib, need))])
    with tempfile.TemporaryDirectory(prefix="seed-") as d:
        for name, data in files.items():
            src = Path(d) / name
            src.write_bytes(data.encode() if isinstance(data, str) else data)
            run(["mcopy", "-i", str(tmp), str(src), f"::/{name}"])
    os.replace(tmp, path)
    return path
