"""Moving chunks between stores: the copy of an image's chunks into another region's store.

``copy_missing_chunks`` is the one copy engine (the image sync job runs it);
``CopyTrace`` optionally records every chunk it writes.
"""

from __future__ import annotations

import mmap
import os
import queue
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from .errors import ChunkCorrupt
from .manifest import Manifest
from .store import ChunkStore

READ_AHEAD = 16


class CopyTrace:
    """Optional append-only record of every chunk a copy writes (``sync_trace``): lets tests
    count chunks written again after a restart. One O_APPEND write per line survives SIGKILL."""

    def __init__(self, path: str, job_id: str, attempt: int):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else None
        self.prefix = f"{job_id} {attempt} "

    def put(self, digest: str) -> None:
        if self.fd is not None:
            os.write(self.fd, (self.prefix + digest + "\n").encode())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def copy_missing_chunks(src: ChunkStore, dst: ChunkStore, manifest: Manifest, *, progress=None,
                        before_put=None, zero_copy: bool = True) -> int:
    """Copy the chunks of ``manifest`` that ``dst`` lacks; return the bytes written.

    Every chunk is read verified from ``src`` (a corrupt one raises
    ChunkCorrupt and is never written), chunks ``dst`` already holds are
    skipped (``touch``, which also refreshes them for gc), holes are not
    chunks at all. Exactly one write is in flight: reads of the next chunks
    run ahead in a small pool, writes are serial, so an interrupted copy
    re-writes at most one chunk when it runs again. Reads land in a fixed set
    of page-aligned buffers (``ChunkStore.read_into``: a local store reads
    them with O_DIRECT, sparing the page cache). Writes go through
    ``dst.writer()``: a local store appends them to one pack file, sealed
    when the copy ends or, after a crash, by the next store that opens the
    region. ``progress(done, total)`` counts bytes of distinct chunks handled
    (copied or found present) after each chunk (it may sleep, to pace the
    copy, or raise, to stop it); ``before_put(digest)`` runs before each write
    (the sync job's ``CopyTrace``). Write the manifest only after this returns.

    With ``zero_copy`` the destination first adopts what it can without moving
    bytes (``ChunkStore.adopt_from``: hard links between local stores on one
    file system, see blobs.links); only the rest is read and written.
    """
    todo = [(d, n) for d, n in manifest.unique_chunks().items()]
    total = sum(n for _, n in todo)
    done = 0
    if progress:
        progress(0, total)
    if zero_copy and todo:
        todo = dst.adopt_from(src, todo)
        done = total - sum(n for _, n in todo)
        if progress and done:
            progress(done, total)
    if not todo:
        dst.sync()
        return 0
    return _copy_bytes(src, dst, todo, done, total, progress, before_put)


def _copy_bytes(src: ChunkStore, dst: ChunkStore, todo: list[tuple[str, int]], done: int, total: int,
                progress, before_put) -> int:
    """The byte path of ``copy_missing_chunks``: verified reads ahead, one write in flight."""
    copied = 0
    page = mmap.PAGESIZE
    size = -(-max(n for _, n in todo) // page) * page
    free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
    for _ in range(READ_AHEAD + 1):  # READ_AHEAD reads in flight + the one being written
        free.put(mmap.mmap(-1, size))

    def fetch(digest: str, length: int) -> tuple[mmap.mmap, int] | None:
        if dst.touch(digest, length):
            return None
        buf = free.get()
        try:
            n = src.read_into(digest, memoryview(buf))  # verifies the hash
            if n != length:
                raise ChunkCorrupt(digest, f"length {n}, manifest expects {length}")
        except BaseException:
            free.put(buf)
            raise
        return buf, n

    window: deque[tuple[str, int, Future]] = deque()
    it = iter(todo)
    with dst.writer() as out, ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="sync-read") as pool:
        try:
            while True:
                while len(window) < READ_AHEAD:
                    item = next(it, None)
                    if item is None:
                        break
                    window.append((*item, pool.submit(fetch, *item)))
                if not window:
                    break
                digest, length, fut = window.popleft()
                got = fut.result()
                if got is not None:
                    buf, n = got
                    try:
                        if not dst.touch(digest, length):
                            if before_put:
                                before_put(digest)
                            with memoryview(buf) as view:
                                if out.put(digest, view[:n]):
                                    copied += length
                    finally:
                        free.put(buf)
                done += length
                if progress:
                    progress(done, total)
        except BaseException:
            for _, _, fut in window:
                fut.cancel()
            raise
    dst.sync()
    return copied
