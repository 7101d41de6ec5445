"""qcow2 images in the layouts imports meet, made by the real qemu-img/qemu-io (shared by the reader tests)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def _qemu(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True)


def _raw_digest(path: Path, tmp: Path) -> tuple[int, str]:
    raw = tmp / (path.name + ".raw")
    _qemu("qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(raw))
    data = raw.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def _image(tmp: Path, name: str, size: str, opts: str, *io: str) -> Path:
    path = tmp / name
    _qemu("qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, str(path), size)
    if io:
        _qemu("qemu-io", "-f", "qcow2", *[a for cmd in io for a in ("-c", cmd)], str(path))
    return path


LAYOUTS = {
    "64k-v3": ("40M", "cluster_size=65536", "write -P 1 0 3M", "write -P 2 20M 5M", "write -P 3 39M 1M"),
    "4k-v2-out-of-order": ("33M", "cluster_size=4096,compat=0.10", "write -P 9 30M 1M", "write -P 3 0 100k",
                           "write -P 5 5M 3000k"),
    "512-byte-clusters": ("3M", "cluster_size=512", "write -P 7 1000 70000", "write -P 8 2M 512"),
    "2m-clusters": ("9M", "cluster_size=2097152", "write -P 4 1M 3M"),
    "zero-clusters": ("20M", "cluster_size=65536", "write -P 9 10M 1M", "write -z 10M 64k", "write -P 1 19M 1000k"),
    "unaligned-size": ("5000k", "cluster_size=65536", "write -P 6 4M 900k"),
    "empty": ("8M", "cluster_size=65536"),
}
