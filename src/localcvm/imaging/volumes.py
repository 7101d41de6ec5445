"""Disk files: read-only bases materialised from chunk manifests, and qcow2 overlays over them.

A launch never copies an image: each disk is a qcow2 overlay
(``<data-dir>/disks/<region>/<disk-id>.qcow2``) whose backing file is the
image's (or snapshot's) base, a sparse raw file materialised once per
region from its chunk manifest (``<data-dir>/bases/<region>/<name>.raw``).
A copy of an image (SyncImages) gets the source's base as a hard link
instead: bases are never written once made.
"""

from __future__ import annotations


import bisect
import errno
import logging
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import qemu_img
from ..blobs import CHUNK_SIZE, ChunkStore, Manifest, read_image, store_chunk, write_image
from ..blobs.registry import BlobRegistry
from ..fsio import fsync_dir

GIB = 1024**3


_log = logging.getLogger(__name__)


class Volumes:
    """The disk files and launch bases of every region under ``data_dir`` (layout: module docstring)."""

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

    def prepare_base(self, region: str, name: str, manifest: Manifest,
                     link_from: tuple[str, str] | None = None) -> None:
        """Make the base of an image that has just turned NORMAL, ahead of its first launch: the
        base ``link_from`` (region, name) under a second name when it exists, else built from the
        chunks. Best effort: a failure (a full disk, the image deleted meanwhile) is logged and
        leaves the base to the first launch, which makes it under the same lock."""
        try:
            if link_from is None or self.link_base(*link_from, region, name, manifest) is None:
                self.ensure_base(region, name, manifest)
        except Exception as exc:  # noqa: BLE001 - the image is NORMAL whatever happens here
            _log.warning("the base %s/%s was not made ahead of a launch: %s", region, name, exc)

    def link_base(self, src_region: str, src_name: str, region: str, name: str, manifest: Manifest) -> Path | None:
        """Make the existing base ``src_name`` of ``src_region`` also the base ``name`` of ``region``: a
        hard link, no copy. Bases are never written after they are made (a new one replaces by rename,
        a dropped one is unlinked), so two names for one file stay correct. None (nothing done) when
        the source base is missing, is not a regular file of ``manifest``'s size, or lives on another
        filesystem; the caller then materialises the base from the chunks."""
        path = self.base_path(region, name)
        src = self.base_path(src_region, src_name)
        with self._lock(str(path)):
            if path.exists():
                return path
            try:
                st = os.lstat(src)
                if not stat.S_ISREG(st.st_mode) or st.st_size != manifest.virtual_size:
                    return None
                path.parent.mkdir(parents=True, exist_ok=True)
                os.link(src, path, follow_symlinks=False)
            except FileNotFoundError:
                return None  # the source image's base was dropped (or never made)
            except OSError as exc:
                if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP):
                    return None
                raise
            fsync_dir(path.parent)
        return path

    def adopt_base(self, region: str, name: str, raw: Path) -> Path:
        """Make ``raw`` (a finished raw copy of the manifest's contents, e.g. an import's
        converted file) the base ``name``: a rename, not a second copy."""
        path = self.base_path(region, name)
        with self._lock(str(path)):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(raw, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(raw, 0o444)
            os.replace(raw, path)
            fsync_dir(path.parent)
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

    def capture(self, region: str, disk_id: str, work: Path, progress=None, base: Manifest | None = None) -> Manifest:
        """Chunk the disk's current guest-visible contents into the region's store.

        Incremental when ``base`` is the manifest of the disk's backing file:
        ``qemu-img map`` tells which guest ranges the overlay itself holds;
        only the chunks touching those ranges are read, hashed and (when the
        store lacks them) written, and every other chunk is the base's. So the
        work grows with the data written since launch, not with the disk size.
        Without a usable base every chunk that holds data is read. Layouts
        this reader cannot follow (compressed or encrypted clusters) fall back
        to a full ``qemu-img convert``.
        """
        path = self.disk_path(region, disk_id)
        info = qemu_img.info(path, "qcow2", force_share=True)
        extents = qemu_img.map_extents(path, "qcow2", force_share=True)
        if any(e.data and e.offset is None for e in extents) or any(e.depth > 1 for e in extents):
            return self._capture_full(region, path, work, progress)
        backing = None
        if info.backing_file:
            backing = Path(info.backing_file)
            if not backing.is_absolute():
                backing = path.parent / backing
        return capture_chunks(self.blobs.store(region), path, backing, info.virtual_size, extents, base, progress)

    def _capture_full(self, region: str, path: Path, work: Path, progress=None) -> Manifest:
        work.mkdir(parents=True, exist_ok=True)
        raw = work / f"{path.stem}.raw"
        qemu_img.convert(path, "qcow2", raw, "raw")
        try:
            return write_image(self.blobs.store(region), raw, progress=progress)
        finally:
            raw.unlink(missing_ok=True)


def capture_chunks(store: ChunkStore, overlay: Path, backing: Path | None, virtual_size: int,
                   extents: list[qemu_img.Extent], base: Manifest | None, progress=None, workers: int = 4) -> Manifest:
    """The manifest of a qcow2 overlay's guest view, storing only the chunks that differ from ``base``.

    ``extents`` is the overlay's ``qemu-img map`` (depth 0 = the overlay,
    depth 1 = ``backing``, a raw file whose manifest is ``base``). A chunk is
    re-read when the overlay holds any of its bytes, when it straddles the end
    of the base, or (without a base) when it holds any data at all.
    """
    size = CHUNK_SIZE
    count = -(-virtual_size // size)
    if base is not None and base.chunk_size != size:
        base = None
    base_whole = base.virtual_size // size if base is not None else 0  # base chunks of full length

    dirty: set[int] = set()
    for e in extents:
        if e.length <= 0:
            continue
        if (e.depth == 0 and e.present) or (base is None and e.data):
            dirty.update(range(e.start // size, (e.start + e.length - 1) // size + 1))
    if base is not None and base.virtual_size % size:
        i = base_whole  # the base's short last chunk: its bytes continue with zeros here
        if i < count and base.chunks[i] is not None:
            dirty.add(i)
    todo = sorted(i for i in dirty if i < count)

    starts = [e.start for e in extents]
    fds = {0: os.open(overlay, os.O_RDONLY)}
    if backing is not None:
        fds[1] = os.open(backing, os.O_RDONLY)

    def read_chunk(i: int) -> bytearray:
        lo, hi = i * size, min((i + 1) * size, virtual_size)
        buf = bytearray(hi - lo)
        k = max(0, bisect.bisect_right(starts, lo) - 1)
        while k < len(extents) and extents[k].start < hi:
            e = extents[k]
            k += 1
            a, b = max(lo, e.start), min(hi, e.start + e.length)
            if a >= b or not e.data or e.zero or e.offset is None:
                continue  # zeros: the buffer already holds them
            fd = fds.get(e.depth)
            if fd is None:
                raise RuntimeError(f"{overlay}: data at depth {e.depth} but no such layer")
            # A short read (a raw base shorter than its extent) leaves zeros, as the guest sees.
            os.preadv(fd, [memoryview(buf)[a - lo: b - lo]], e.offset + (a - e.start))
        return buf

    chunks: list[str | None] = [None] * count
    if base is not None:
        for i in range(min(base_whole, count)):
            chunks[i] = base.chunks[i]
    try:
        done = 0
        if progress:
            progress(0, len(todo))

        def one(i: int) -> tuple[int, str | None]:
            return i, store_chunk(store, read_chunk(i))

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capture") as pool:
            for i, digest in pool.map(one, todo):
                chunks[i] = digest
                done += 1
                if progress:
                    progress(done, len(todo))
    finally:
        for fd in fds.values():
            os.close(fd)
    store.sync()
    facts = {"captured_chunks": len(todo)}
    return Manifest(virtual_size=virtual_size, chunk_size=size, chunks=chunks, facts=facts)
