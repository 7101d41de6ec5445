"""Disk files: read-only bases materialised from chunk manifests, and qcow2 overlays over them.

A launch never copies an image: each disk is a qcow2 overlay
(``<data-dir>/disks/<region>/<disk-id>.qcow2``) whose backing file is the
image's (or snapshot's) base, a sparse raw file materialised once per
region from its chunk manifest (``<data-dir>/bases/<region>/<name>.raw``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..blobs.chunks import Manifest, read_image, write_image
from ..imaging import qemu_img
from .storage import BlobRegistry

GIB = 1024**3


class Volumes:
    def __init__(self, data_dir: Path, blobs: BlobRegistry):
        self.data_dir = Path(data_dir)
        self.blobs = blobs
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def disk_path(self, region: str, disk_id: str) -> Path:
        return self.data_dir / "disks" / region / f"{disk_id}.qcow2"

    def base_path(self, region: str, name: str) -> Path:
        return self.data_dir / "bases" / region / f"{name}.raw"

    def ensure_base(self, region: str, name: str, manifest: Manifest) -> Path:
        """The read-only raw base for ``manifest`` (materialised on first use; safe under concurrency)."""
        path = self.base_path(region, name)
        if path.exists():
            return path
        with self._lock(str(path)):
            if path.exists():
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                read_image(self.blobs.store(region), manifest, tmp)
                os.chmod(tmp, 0o444)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        return path

    def drop_base(self, region: str, name: str) -> None:
        self.base_path(region, name).unlink(missing_ok=True)

    def create_disk(self, region: str, disk_id: str, size_gib: int, base: Path | None) -> Path:
        """A qcow2 disk of ``size_gib`` (over ``base`` when given); idempotent."""
        path = self.disk_path(region, disk_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        qemu_img.create(tmp, "qcow2", size_gib * GIB, backing=base, backing_fmt="raw" if base else None)
        os.replace(tmp, path)
        return path

    def resize_disk(self, region: str, disk_id: str, size_gib: int) -> None:
        qemu_img.resize(self.disk_path(region, disk_id), "qcow2", size_gib * GIB)

    def delete_disk(self, region: str, disk_id: str) -> None:
        self.disk_path(region, disk_id).unlink(missing_ok=True)

    def capture(self, region: str, disk_id: str, work: Path, progress=None) -> Manifest:
        """Chunk the disk's current contents into the region's store (only chunks the store lacks are written)."""
        raw = work / f"{disk_id}.raw"
        qemu_img.convert(self.disk_path(region, disk_id), "qcow2", raw, "raw")
        try:
            return write_image(self.blobs.store(region), raw, progress=progress)
        finally:
            raw.unlink(missing_ok=True)

    def bytes_used(self, region: str | None = None) -> int:
        root = self.data_dir / "disks" / (region or "")
        total = 0
        for dirpath, _dirs, names in os.walk(root):
            for n in names:
                try:
                    total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
                except FileNotFoundError:
                    pass
        return total
