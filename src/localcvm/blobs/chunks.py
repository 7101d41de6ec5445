"""Content addressing of disk images: manifests, chunk stores, import/export.

A disk image is stored as a *manifest*: its virtual size, a few facts about
where it came from, and an ordered list of fixed-size chunks (1 MiB) named by
the SHA-256 of their content. An all-zero chunk is not stored at all; the
manifest records it as a hole (``None``). Identical chunks are stored once per
store (one store = one region's namespace), so images that share content,
copies of an image, and images that differ by a few blocks cost little.

This module holds everything that does not depend on where chunks live:

* ``Manifest`` and its JSON form;
* ``ChunkStore``, the interface every backend implements
  (``localcvm.blobs.local.LocalChunkStore``, ``localcvm.blobs.s3.S3ChunkStore``);
* ``write_image`` (raw file -> chunks + manifest), ``read_image``
  (manifest -> sparse raw file), ``copy_chunks`` (store -> store, resumable)
  and ``gc`` (remove chunks nothing references).

It imports nothing from the rest of localcvm: it is a low-level layer.
"""

from __future__ import annotations

import abc
import errno
import functools
import hashlib
import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHUNK_SIZE",
    "ChunkWriter",
    "ChunkCorrupt",
    "ChunkInfo",
    "ChunkMissing",
    "ChunkStore",
    "ChunkStoreError",
    "Manifest",
    "ManifestMissing",
    "Progress",
    "copy_chunks",
    "gc",
    "is_digest",
    "read_image",
    "referenced_digests",
    "sha256_hex",
    "validate_manifest_name",
    "write_image",
]

#: Size of one chunk. Fixed per manifest (recorded in it), 1 MiB by default: fine enough that a capture or a copy moves little more than the changed data, coarse enough that a 50 GiB manifest stays ~3 MB.
CHUNK_SIZE = 1024 * 1024

#: Version of the manifest JSON layout; bumped on incompatible changes.
MANIFEST_VERSION = 1

#: ``progress(done, total)`` callback type; both numbers are bytes.
Progress = Callable[[int, int], None]

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")
# Manifest names become file names / object keys: keep them boring.
_MANIFEST_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class ChunkStoreError(Exception):
    """Base class of every error raised by a chunk store."""


class ChunkMissing(ChunkStoreError, LookupError):
    """The store has no chunk with this digest."""

    def __init__(self, digest: str, where: str = "") -> None:
        self.digest = digest
        super().__init__(f"chunk {digest} is missing" + (f" from {where}" if where else ""))


class ChunkCorrupt(ChunkStoreError):
    """A chunk's content does not hash to its name (or has the wrong length)."""

    def __init__(self, digest: str, detail: str) -> None:
        self.digest = digest
        super().__init__(f"chunk {digest} is corrupt: {detail}")


class ManifestMissing(ChunkStoreError, LookupError):
    """The store has no manifest with this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"manifest {name!r} not found")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of ``data`` (hashlib releases the GIL for large buffers)."""
    return hashlib.sha256(data).hexdigest()


def is_digest(value: object) -> bool:
    """True for a lowercase hex SHA-256 string."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def check_digest(digest: str) -> str:
    """Return ``digest`` if well-formed, else raise ValueError.

    Backends call this before turning a digest into a path or key, so a
    malformed name can never escape the chunk namespace.
    """
    if not is_digest(digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r}")
    return digest


def validate_manifest_name(name: str) -> str:
    """Return ``name`` if usable as a manifest name, else raise ValueError.

    Allowed: 1-128 characters of ``[A-Za-z0-9_.-]``, not starting with a dot
    or dash (so never ``.``/``..``, hidden files, or option-like names).
    """
    if not isinstance(name, str) or _MANIFEST_NAME_RE.fullmatch(name) is None:
        raise ValueError(f"invalid manifest name: {name!r}")
    return name


def verify_chunk(digest: str, data: bytes | bytearray, expected_len: int | None = None) -> None:
    """Raise ChunkCorrupt unless ``data`` hashes to ``digest`` (and has the
    expected length, when one is given)."""
    if expected_len is not None and len(data) != expected_len:
        raise ChunkCorrupt(digest, f"length {len(data)}, expected {expected_len}")
    actual = sha256_hex(data)
    if actual != digest:
        raise ChunkCorrupt(digest, f"content hashes to {actual}")


@functools.lru_cache(maxsize=8)
def _zeros(n: int) -> bytes:
    """A shared, preallocated all-zero buffer of ``n`` bytes."""
    return bytes(n)


def _is_zero(data: bytes | bytearray) -> bool:
    """Fast all-zero test: one memcmp against a preallocated zero buffer.

    (``bytes``/``bytearray`` equality is a memcmp; comparing memoryviews is
    not, it goes byte by byte, so callers pass bytes or bytearrays.)
    """
    return data == _zeros(len(data))


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------


@dataclass
class Manifest:
    """An image as an ordered list of content-addressed chunks.

    ``chunks[i]`` covers bytes ``[i*chunk_size, min((i+1)*chunk_size,
    virtual_size))`` and is either the hex SHA-256 of that range or ``None``
    when the range is all zeros (a hole; nothing stored). ``facts`` is free
    metadata (e.g. ``{"source_format": "qcow2"}``); keep it JSON-serialisable.
    """

    virtual_size: int
    chunk_size: int = CHUNK_SIZE
    chunks: list[str | None] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # -- checks and derived values ----------------------------------------

    def validate(self) -> None:
        """Raise ValueError unless the manifest is self-consistent."""
        if not isinstance(self.virtual_size, int) or self.virtual_size < 0:
            raise ValueError(f"bad virtual_size: {self.virtual_size!r}")
        if not isinstance(self.chunk_size, int) or self.chunk_size <= 0:
            raise ValueError(f"bad chunk_size: {self.chunk_size!r}")
        expected = -(-self.virtual_size // self.chunk_size)
        if len(self.chunks) != expected:
            raise ValueError(
                f"manifest has {len(self.chunks)} chunks, {expected} expected for {self.virtual_size} bytes"
            )
        for d in self.chunks:
            if d is not None and not is_digest(d):
                raise ValueError(f"bad chunk digest in manifest: {d!r}")

    def chunk_length(self, index: int) -> int:
        """Length in bytes of chunk ``index`` (the last one may be short)."""
        start = index * self.chunk_size
        return min(self.chunk_size, self.virtual_size - start)

    def digests(self) -> set[str]:
        """The distinct chunk digests (holes excluded)."""
        return {d for d in self.chunks if d is not None}

    def unique_chunks(self) -> dict[str, int]:
        """``{digest: length}`` for every distinct stored chunk."""
        out: dict[str, int] = {}
        for i, d in enumerate(self.chunks):
            if d is not None and d not in out:
                out[d] = self.chunk_length(i)
        return out

    @property
    def stored_size(self) -> int:
        """Bytes of distinct chunk content this image needs in a store."""
        return sum(self.unique_chunks().values())

    @property
    def hole_count(self) -> int:
        return sum(1 for d in self.chunks if d is None)

    # -- JSON --------------------------------------------------------------

    def to_json(self) -> str:
        """Compact, stable JSON (sorted keys, no whitespace)."""
        return json.dumps(
            {
                "version": MANIFEST_VERSION,
                "virtual_size": self.virtual_size,
                "chunk_size": self.chunk_size,
                "chunks": self.chunks,
                "facts": self.facts,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse and validate what ``to_json`` produced."""
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"manifest is not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise ValueError("manifest JSON is not an object")
        version = obj.get("version", MANIFEST_VERSION)
        if version != MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {version!r}")
        chunks = obj.get("chunks")
        facts = obj.get("facts", {})
        if not isinstance(chunks, list) or not isinstance(facts, dict):
            raise ValueError("manifest 'chunks' must be a list and 'facts' an object")
        return cls(
            virtual_size=obj.get("virtual_size"),
            chunk_size=obj.get("chunk_size"),
            chunks=chunks,
            facts=facts,
        )


# --------------------------------------------------------------------------
# The store interface
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkInfo:
    """One stored chunk as seen by a listing: name, size, last write/touch
    time (POSIX seconds)."""

    digest: str
    size: int
    mtime: float


class ChunkWriter:
    """Bulk chunk writes into one store (``ChunkStore.writer``): ``put`` each
    verified chunk, then ``close`` (or leave the ``with`` block), after which
    everything put is durable. This base version calls ``store.put``."""

    def __init__(self, store: ChunkStore) -> None:
        self.store = store

    def put(self, digest: str, data: bytes | bytearray | memoryview) -> bool:
        """Store a chunk the caller has verified; return whether bytes were written."""
        self.store.put(digest, data, trusted=True)  # type: ignore[arg-type]
        return True

    def close(self) -> None:
        self.store.sync()

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChunkStore(abc.ABC):
    """A namespace of content-addressed chunks plus named manifests.

    One store per region. Implementations must be safe to call from several
    threads at once (the functions below use thread pools), and every write
    must be atomic: a chunk or manifest is either absent or complete under
    its name, never partial.
    """

    #: How many chunk operations the helpers below run in parallel against
    #: this store by default. Backends with high latency (S3) raise it.
    parallelism: int = 4

    # -- chunks ------------------------------------------------------------

    @abc.abstractmethod
    def has(self, digest: str) -> bool:
        """True when the chunk is stored (its content is not verified)."""

    @abc.abstractmethod
    def get(self, digest: str) -> bytes:
        """Return the chunk's content, verified against its digest.

        Raises ChunkMissing when absent and ChunkCorrupt when the content
        does not hash to ``digest``.
        """

    def read_into(self, digest: str, buf: memoryview) -> int:
        """Read the chunk into ``buf``, verify it, and return its length.

        For bulk readers that recycle their buffers (``image_sync``): a
        backend may read straight from the device into ``buf``, bypassing
        the page cache, and may then overwrite ``buf`` past the chunk's
        length (up to the next block). Raises like ``get``, and ChunkCorrupt
        when the chunk is longer than ``buf``. This default goes through ``get``.
        """
        data = self.get(digest)
        if len(data) > len(buf):
            raise ChunkCorrupt(digest, f"length {len(data)}, larger than the {len(buf)} bytes expected at most")
        buf[: len(data)] = data
        return len(data)

    @abc.abstractmethod
    def put(self, digest: str, data: bytes | bytearray, *, trusted: bool = False) -> None:
        """Store ``data`` under ``digest``; idempotent and atomic.

        Unless ``trusted`` is true the data is hashed first and a mismatch
        raises ChunkCorrupt, so a bug upstream can never poison the store.
        Callers that have just computed or verified the hash pass
        ``trusted=True`` to skip the second hash.
        """

    def writer(self) -> ChunkWriter:
        """A bulk writer for chunks whose hashes the caller has verified (copies).

        Use it as a context manager; closing it makes what it wrote durable.
        A local store appends to pack files (see ``blobs.packs``); this
        default simply calls ``put``.
        """
        return ChunkWriter(self)

    def sync(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Make every ``put`` that has returned durable (survive a crash).

        ``put`` is always atomic; a backend may defer flushing directory
        metadata to this call to batch it. ``write_image`` and
        ``copy_chunks`` call it before returning, so a manifest written
        after them only names durable chunks. S3 puts are durable at once.
        """

    @abc.abstractmethod
    def touch(self, digest: str, length: int | None = None) -> bool:
        """Refresh the chunk's modification time if it is stored (with ``length`` bytes, when given).

        Returns whether it is stored. The writers below call this instead of
        ``has`` when they decide to skip a put (dedup), so a chunk about to
        be referenced by a new manifest looks recent to ``gc``'s grace
        period.
        """

    @abc.abstractmethod
    def delete(self, digest: str, *, older_than: float | None = None) -> int:
        """Remove a chunk; return the bytes freed (0 if it was absent).

        With ``older_than`` (POSIX time) the chunk is only removed if its
        modification time is earlier; this narrows gc's race with
        concurrent writers to the instant between check and removal.
        """

    @abc.abstractmethod
    def iter_chunks(self) -> Iterator[ChunkInfo]:
        """Every stored chunk (order unspecified)."""

    def iter_digests(self) -> Iterator[str]:
        """Every stored chunk's digest (order unspecified)."""
        for info in self.iter_chunks():
            yield info.digest

    def bytes_stored(self) -> int:
        """Sum of the stored chunks' sizes (logical bytes, not disk blocks)."""
        return sum(info.size for info in self.iter_chunks())

    def purge_temp(self, older_than_seconds: float) -> int:
        """Remove leftovers of interrupted writes older than the given age;
        return how many were removed. Backends with atomic puts have none."""
        return 0

    # -- manifests ---------------------------------------------------------

    @abc.abstractmethod
    def put_manifest(self, name: str, manifest: Manifest) -> None:
        """Store (or replace) a manifest atomically under ``name``."""

    @abc.abstractmethod
    def get_manifest(self, name: str) -> Manifest:
        """Return the named manifest or raise ManifestMissing."""

    @abc.abstractmethod
    def delete_manifest(self, name: str) -> bool:
        """Remove a manifest; return whether it existed."""

    @abc.abstractmethod
    def list_manifests(self) -> list[str]:
        """Names of the stored manifests, sorted."""

    def has_manifest(self, name: str) -> bool:
        try:
            self.get_manifest(name)
        except ManifestMissing:
            return False
        return True

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release OS resources (file descriptors, connections)."""

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------
# Import: raw file -> chunks
# --------------------------------------------------------------------------


def _store_chunk(store: ChunkStore, data: bytes | bytearray) -> str | None:
    """Hash one chunk and put it unless the store has it; None for zeros."""
    if _is_zero(data):
        return None
    digest = sha256_hex(data)
    if not store.touch(digest, len(data)):
        store.put(digest, data, trusted=True)
    return digest


store_chunk = _store_chunk  # public name, for writers that chunk data themselves


def write_image(
    store: ChunkStore,
    path: str | os.PathLike[str],
    *,
    facts: dict[str, Any] | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Manifest:
    """Chunk the RAW file at ``path`` into ``store`` and return its manifest.

    The manifest itself is *not* stored: the caller decides its name and
    where it lives (``store.put_manifest`` and/or the database), and should
    write it only after this returns, so a manifest never names a chunk that
    is not there yet.

    Holes of a sparse source (found with SEEK_DATA) become holes of the
    manifest without being read. The rest is read in ``chunk_size`` pieces
    into a small pool of reusable buffers (bounded memory: ``workers + 2``
    chunks), while up to ``workers`` threads detect zeros, hash (hashlib
    releases the GIL) and write chunks the store does not already have.
    ``progress(done, total)`` is called with bytes processed so far.
    """
    workers = max(1, workers or store.parallelism)
    fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        total = os.fstat(fd).st_size
        n_chunks = -(-total // chunk_size)
        try:  # we read front to back once: tell the kernel
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except (AttributeError, OSError):
            pass

        chunks: list[str | None] = [None] * n_chunks
        free_buffers: deque[bytearray] = deque(bytearray(chunk_size) for _ in range(workers + 2))
        buffers_lock = threading.Lock()
        buffer_ready = threading.Semaphore(len(free_buffers))

        def job(index: int, buf: bytearray, length: int) -> int:
            try:
                data = buf if length == chunk_size else bytes(memoryview(buf)[:length])
                chunks[index] = _store_chunk(store, data)
                return length
            finally:
                with buffers_lock:
                    free_buffers.append(buf)
                buffer_ready.release()

        done = 0
        data_at = -1  # next offset holding data at or after some earlier chunk start
        pending: set[Future[int]] = set()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk-put") as pool:
            try:
                for index in range(n_chunks):
                    start = index * chunk_size
                    length = min(chunk_size, total - start)
                    # Holes of a sparse source file are never read: ask the
                    # file system where the next data is (SEEK_DATA).
                    if data_at < start:
                        data_at = _next_data(fd, start, total)
                    if data_at >= start + length:
                        done += length  # chunks[index] stays None
                        if progress and index % 256 == 0:
                            progress(done, total)
                        continue
                    buffer_ready.acquire()
                    with buffers_lock:
                        buf = free_buffers.popleft()
                    _read_exact_into(fd, buf, start, length)
                    pending.add(pool.submit(job, index, buf, length))
                    # Reap finished work; surface the first failure early.
                    finished = {f for f in pending if f.done()}
                    for f in finished:
                        done += f.result()
                    pending -= finished
                    if finished and progress:
                        progress(done, total)
                for f in pending:
                    done += f.result()
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
            store.sync()
        if progress:
            progress(done, total)
    finally:
        os.close(fd)
    return Manifest(virtual_size=total, chunk_size=chunk_size, chunks=chunks, facts=dict(facts or {}))


def _next_data(fd: int, offset: int, total: int) -> int:
    """Offset of the first data byte at or after ``offset`` (``total`` if
    only a hole follows); ``offset`` itself where SEEK_DATA is unsupported."""
    try:
        return os.lseek(fd, offset, os.SEEK_DATA)
    except AttributeError:  # pragma: no cover - platform without SEEK_DATA
        return offset
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return total
        return offset  # e.g. EINVAL: the file system cannot tell


def _read_exact_into(fd: int, buf: bytearray, offset: int, length: int) -> int:
    """Fill ``buf[:length]`` from ``fd`` at ``offset``; raise if the file shrank."""
    view = memoryview(buf)
    got = 0
    while got < length:
        n = os.preadv(fd, [view[got:length]], offset + got)
        if n == 0:
            raise OSError(f"unexpected end of file after {got} of {length} bytes of a chunk")
        got += n
    return got


# --------------------------------------------------------------------------
# Export: chunks -> sparse raw file
# --------------------------------------------------------------------------


def _ordered_fetch(fetch: Callable[[int], Any], indexes: list[int], workers: int) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fetch(i))`` in order, fetching up to ``workers`` ahead."""
    if workers <= 1:
        for i in indexes:
            yield i, fetch(i)
        return
    window: deque[tuple[int, Future[Any]]] = deque()
    it = iter(indexes)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk-get") as pool:
        try:
            for i in it:
                window.append((i, pool.submit(fetch, i)))
                if len(window) >= workers * 2:
                    j, fut = window.popleft()
                    yield j, fut.result()
            while window:
                j, fut = window.popleft()
                yield j, fut.result()
        finally:
            for _, fut in window:
                fut.cancel()


def read_image(
    store: ChunkStore,
    manifest: Manifest,
    dest_path: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    fsync: bool = True,
) -> None:
    """Materialise ``manifest`` as a sparse RAW file at ``dest_path``.

    Holes are skipped (never written), so they take no disk space; the file
    is then truncated to the virtual size. Every chunk is verified against
    its digest (``ChunkCorrupt``/``ChunkMissing`` propagate; the partial file
    is left for the caller to remove). Chunks are fetched ``workers`` ahead
    in parallel and written in order.
    """
    workers = max(1, workers or store.parallelism)
    cs = manifest.chunk_size
    present = [i for i, d in enumerate(manifest.chunks) if d is not None]

    def fetch(i: int) -> bytes:
        digest = manifest.chunks[i]
        assert digest is not None
        data = store.get(digest)
        expected = manifest.chunk_length(i)
        if len(data) != expected:
            raise ChunkCorrupt(digest, f"length {len(data)}, manifest expects {expected}")
        return data

    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(os.fspath(dest_path), flags, 0o600)
    try:
        done = 0
        total = manifest.virtual_size
        for i, data in _ordered_fetch(fetch, present, workers):
            view = memoryview(data)
            offset = i * cs
            while view:
                n = os.pwrite(fd, view, offset)
                view = view[n:]
                offset += n
            done += len(data)
            if progress:
                progress(done, total)
        os.ftruncate(fd, manifest.virtual_size)
        if fsync:
            os.fsync(fd)
        if progress:
            progress(total, total)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Copy between stores (cross-region sync)
# --------------------------------------------------------------------------


def copy_chunks(
    src_store: ChunkStore,
    dst_store: ChunkStore,
    manifest: Manifest,
    progress: Progress | None = None,
    skip: Iterable[str] = (),
    *,
    workers: int | None = None,
) -> int:
    """Copy the chunks of ``manifest`` that ``dst_store`` lacks; return the
    bytes actually copied.

    Each chunk is read from the source (verified), then written atomically
    to the destination, so the copy is resumable: running it again after an
    interruption skips every chunk already there and re-copies at most the
    chunks that were in flight (at most ``workers``; exactly the one in
    flight with ``workers=1``). Digests in ``skip`` are assumed present.

    ``progress(done, total)`` counts bytes of distinct chunks handled
    (copied or found present) against the manifest's distinct chunk bytes.
    Write the manifest to the destination only after this returns.
    """
    workers = max(1, workers or max(src_store.parallelism, dst_store.parallelism))
    skipped = set(skip)
    todo = [(d, n) for d, n in manifest.unique_chunks().items()]
    total = sum(n for _, n in todo)

    def copy_one(digest: str, length: int) -> int:
        if digest in skipped or dst_store.touch(digest, length):
            return 0
        data = src_store.get(digest)  # verifies the hash
        if len(data) != length:
            raise ChunkCorrupt(digest, f"length {len(data)}, manifest expects {length}")
        dst_store.put(digest, data, trusted=True)
        return length

    copied = 0
    done = 0
    if progress:
        progress(0, total)
    # Keep at most `workers` copies in flight, so an interruption (an
    # exception, e.g. from `progress`, or a cancelled job) loses little.
    pending: dict[Future[int], int] = {}
    it = iter(todo)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk-copy") as pool:
        try:
            while True:
                while len(pending) < workers:
                    item = next(it, None)
                    if item is None:
                        break
                    pending[pool.submit(copy_one, *item)] = item[1]
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    length = pending.pop(fut)
                    copied += fut.result()
                    done += length
                if progress:
                    progress(done, total)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    dst_store.sync()
    return copied


# --------------------------------------------------------------------------
# Garbage collection
# --------------------------------------------------------------------------


def referenced_digests(manifests: Iterable[Manifest]) -> set[str]:
    """Union of the chunk digests of ``manifests``."""
    out: set[str] = set()
    for m in manifests:
        out.update(m.digests())
    return out


def gc(
    store: ChunkStore,
    referenced: Iterable[str],
    *,
    grace_seconds: float = 0.0,
    include_store_manifests: bool = True,
    temp_max_age: float = 3600.0,
    now: float | None = None,
) -> tuple[int, int]:
    """Remove the chunks nothing references; return ``(removed, bytes_freed)``.

    ``referenced`` is every digest the caller's manifests use (those kept in
    the database included). With ``include_store_manifests`` the manifests
    stored in ``store`` itself are added, so gc never breaks one of them.

    Concurrency: a writer may be storing chunks for a manifest that is not
    written yet. Writers put new chunks and ``touch`` deduplicated ones, so
    such chunks are recent; gc spares every chunk modified within the last
    ``grace_seconds``, re-checking the age at deletion time. Production
    callers should set the grace period longer than the longest image write
    or copy (e.g. a few hours); the default 0 suits tests and offline use.

    Leftover temporary files of interrupted writes older than
    ``temp_max_age`` seconds are purged too.
    """
    keep = set(referenced)
    keep.discard(None)  # type: ignore[arg-type]
    if include_store_manifests:
        for name in store.list_manifests():
            try:
                keep.update(store.get_manifest(name).digests())
            except ManifestMissing:  # deleted meanwhile
                pass
    cutoff = (time.time() if now is None else now) - grace_seconds
    removed = 0
    freed = 0
    for info in list(store.iter_chunks()):
        if info.digest in keep or info.mtime >= cutoff:
            continue
        n = store.delete(info.digest, older_than=cutoff)
        if n:
            removed += 1
            freed += n
    store.purge_temp(max(temp_max_age, grace_seconds))
    return removed, freed
