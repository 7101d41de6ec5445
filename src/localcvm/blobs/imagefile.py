"""Raw image files <-> chunks: ``write_image`` (file -> chunks + manifest) and
``read_image`` (manifest -> sparse file), with ``store_chunk`` for writers
that cut the data into chunks themselves (disk capture).

Both directions are pipelined: a few threads hash, verify and move chunks
while the caller's thread reads or writes the file in order, through a small
set of reusable buffers (bounded memory whatever the image size).
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .errors import ChunkCorrupt
from .manifest import CHUNK_SIZE, Manifest, Progress, is_zero, sha256_hex
from .store import ChunkStore, ChunkWriter

__all__ = ["read_image", "store_chunk", "write_image"]

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def store_chunk(store: ChunkStore, data: bytes | bytearray, writer: ChunkWriter | None = None) -> str | None:
    """Hash one chunk and put it unless the store has it (through ``writer``, the store's bulk
    writer, when given); None for zeros.

    Deduplication goes through ``touch`` (not ``has``), so a reused chunk
    looks recent to gc's grace period.
    """
    if is_zero(data):
        return None
    digest = sha256_hex(data)
    if not store.touch(digest, len(data)):
        if writer is not None:
            writer.put(digest, data)
        else:
            store.put(digest, data, trusted=True)
    return digest


# --------------------------------------------------------------------------
# Import: raw file -> chunks
# --------------------------------------------------------------------------


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

    The manifest itself is *not* stored: the caller keeps it (in the
    database) and should write it only after this returns, so a manifest
    never names a chunk that is not there yet.

    Holes of a sparse source (found with SEEK_DATA) become holes of the
    manifest without being read. The rest is read in ``chunk_size`` pieces
    into a small pool of reusable buffers (bounded memory: ``workers + 2``
    chunks), while up to ``workers`` threads detect zeros, hash (hashlib
    releases the GIL) and write chunks the store does not already have
    through the store's bulk writer (a local store appends them to a pack:
    one file per image, which a zero-copy region copy then links whole).
    ``progress(done, total)`` is called with bytes processed so far.
    """
    workers = max(1, workers or store.parallelism)
    fd = os.open(os.fspath(path), os.O_RDONLY | _CLOEXEC)
    try:
        total = os.fstat(fd).st_size
        try:  # we read front to back once: tell the kernel
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except (AttributeError, OSError):
            pass
        chunks = _ImageWriter(store, fd, total, chunk_size, workers, progress).run()
    finally:
        os.close(fd)
    return Manifest(virtual_size=total, chunk_size=chunk_size, chunks=chunks, facts=dict(facts or {}))


class _ImageWriter:
    """One ``write_image`` run: the reading loop, its buffer pool and its hashing threads."""

    def __init__(self, store: ChunkStore, fd: int, total: int, chunk_size: int, workers: int,
                 progress: Progress | None) -> None:
        self.store, self.fd, self.total, self.chunk_size = store, fd, total, chunk_size
        self.workers, self.progress = workers, progress
        self.chunks: list[str | None] = [None] * (-(-total // chunk_size))
        self.free: deque[bytearray] = deque(bytearray(chunk_size) for _ in range(workers + 2))
        self.free_lock = threading.Lock()
        self.buffer_ready = threading.Semaphore(len(self.free))
        self.done = 0
        self.writer: ChunkWriter | None = None

    def job(self, index: int, buf: bytearray, length: int) -> int:
        """Hash and store chunk ``index`` from ``buf``, then hand the buffer back."""
        try:
            data = buf if length == self.chunk_size else bytes(memoryview(buf)[:length])
            self.chunks[index] = store_chunk(self.store, data, self.writer)
            return length
        finally:
            with self.free_lock:
                self.free.append(buf)
            self.buffer_ready.release()

    def run(self) -> list[str | None]:
        total, size, progress = self.total, self.chunk_size, self.progress
        data_at = -1  # next offset holding data at or after some earlier chunk start
        pending: set[Future[int]] = set()
        with self.store.writer() as self.writer, \
                ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="chunk-put") as pool:
            try:
                for index in range(len(self.chunks)):
                    start = index * size
                    length = min(size, total - start)
                    # Holes of a sparse source file are never read: ask the
                    # file system where the next data is (SEEK_DATA).
                    if data_at < start:
                        data_at = _next_data(self.fd, start, total)
                    if data_at >= start + length:
                        self.done += length  # chunks[index] stays None
                        if progress and index % 256 == 0:
                            progress(self.done, total)
                        continue
                    self.buffer_ready.acquire()
                    with self.free_lock:
                        buf = self.free.popleft()
                    _read_exact_into(self.fd, buf, start, length)
                    pending.add(pool.submit(self.job, index, buf, length))
                    # Reap finished work; surface the first failure early.
                    finished = {f for f in pending if f.done()}
                    for f in finished:
                        self.done += f.result()
                    pending -= finished
                    if finished and progress:
                        progress(self.done, total)
                for f in pending:
                    self.done += f.result()
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
            self.store.sync()
        if progress:
            progress(self.done, total)
        return self.chunks


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

    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | _CLOEXEC
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
