"""The cloud-init NoCloud seed of a VM: a small vfat image labelled ``cidata``, made without mounts.

``mkfs.fat -n cidata`` formats a plain file and ``mcopy -i`` writes the files into it, so no
root, loop device or mount is needed. Files: ``meta-data`` (instance-id, local-hostname),
``user-data`` (the instance's UserData, as given), and two the localcvm guest also reads:
``authorized_keys`` (root's OpenSSH keys) and ``root-password`` (absent: no password login).
The driver rewrites the seed at every start, so key pairs, passwords and the hostname the
API changed while the instance was stopped take effect at the next boot.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

__all__ = ["SeedError", "write_seed"]

SEED_SIZE = 2 * 1024 * 1024


class SeedError(Exception):
    pass


def seed_files(instance_id: str, hostname: str | None, user_data: bytes | None, ssh_keys: list[str],
               password: str | None) -> dict[str, bytes]:
    """The seed's files by name."""
    meta = f"instance-id: {instance_id}\nlocal-hostname: {hostname or instance_id}\n"
    files = {"meta-data": meta.encode()}
    files["user-data"] = user_data if user_data is not None else b""
    files["authorized_keys"] = "".join(k.strip() + "\n" for k in ssh_keys if k.strip()).encode()
    if password:
        files["root-password"] = password.encode()
    return files


def write_seed(path: Path, files: dict[str, bytes]) -> Path:
    """Write a ``cidata`` vfat image holding ``files`` at ``path`` (atomically replaced)."""
    path = Path(path)
    size = max(SEED_SIZE, 2 * sum(len(v) for v in files.values()) + 1024 * 1024)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    with open(tmp, "wb") as fh:
        fh.truncate(size)
    try:
        _run(["mkfs.fat", "-n", "cidata", str(tmp)])
        with tempfile.TemporaryDirectory(prefix="localcvm-seed-") as work:
            names = []
            for name, data in files.items():
                src = Path(work) / name
                src.write_bytes(data)
                os.chmod(src, 0o600)
                names.append(str(src))
            _run(["mcopy", "-o", "-i", str(tmp), *names, "::"])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _run(args: list[str]) -> None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30,
                              env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SeedError(f"{args[0]} failed: {exc}") from None
    if proc.returncode != 0:
        raise SeedError(f"{args[0]} failed: {proc.stderr.strip()[:300]}")
