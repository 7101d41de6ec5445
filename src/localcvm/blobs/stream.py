"""A raw disk arriving as a stream (an import's download) -> chunks + manifest, in one pass.

Bytes are cut into chunks as they arrive and each chunk is hashed and written
once (through the store's bulk writer: a local store appends it to a pack), so
an import needs no scratch copy of the image: memory holds ``workers + 2``
chunks, the disk nothing beyond the chunks themselves. Zero chunks become holes.
The last chunk is held back until the stream ends, so ``check_last`` can look
at the final bytes (an import refuses to read a fixed VHD's footer as disk data)
before anything of it is stored.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol
from concurrent.futures import Future, ThreadPoolExecutor

from .imagefile import store_chunk
from .manifest import CHUNK_SIZE, Manifest
from .store import ChunkStore, ChunkWriter

__all__ = ["Reader", "write_stream"]


class Reader(Protocol):
    """A byte stream that fills a buffer: fewer bytes than asked only at its end (0: ended)."""

    def readinto(self, buf: memoryview) -> int: ...


class _Chunker:
    def __init__(self, store: ChunkStore, writer: ChunkWriter, pool: ThreadPoolExecutor, chunk_size: int,
                 workers: int) -> None:
        self.store, self.writer, self.pool, self.size = store, writer, pool, chunk_size
        self.free = deque(bytearray(chunk_size) for _ in range(workers + 2))
        self.ready = threading.Semaphore(len(self.free))
        self.lock = threading.Lock()
        self.chunks: list[str | None] = []
        self.pending: list[Future[None]] = []

    def take(self) -> bytearray:
        self.ready.acquire()
        with self.lock:
            return self.free.popleft()

    def give(self, buf: bytearray) -> None:
        with self.lock:
            self.free.append(buf)
        self.ready.release()

    def submit(self, index: int, buf: bytearray, length: int) -> None:
        def job() -> None:
            try:
                data = buf if length == self.size else bytes(memoryview(buf)[:length])
                self.chunks[index] = store_chunk(self.store, data, self.writer)
            finally:
                self.give(buf)

        self.pending = [f for f in self.pending if not f.done() or f.result()]
        self.pending.append(self.pool.submit(job))


class _Pieces:
    """An iterable of byte pieces as a ``readinto`` source."""

    def __init__(self, pieces: Iterable[bytes]):
        self.it, self.rest = iter(pieces), memoryview(b"")

    def readinto(self, buf: memoryview) -> int:
        got = 0
        while got < len(buf):
            if not self.rest:
                piece = next(self.it, None)
                if piece is None:
                    break
                self.rest = memoryview(piece).cast("B")
                continue
            n = min(len(buf) - got, len(self.rest))
            buf[got:got + n] = self.rest[:n]
            got, self.rest = got + n, self.rest[n:]
        return got


def write_stream(store: ChunkStore, source: Iterable[bytes] | Reader, *, chunk_size: int = CHUNK_SIZE,
                 progress: Callable[[int], None] | None = None, check_last: Callable[[bytes], None] | None = None,
                 workers: int | None = None, facts: dict | None = None) -> Manifest:
    """Chunk the raw disk that ``source`` gives into ``store``; return its manifest (not stored:
    the caller writes it once this returns). ``source`` is an iterable of byte pieces or a reader
    whose ``readinto(buf)`` fills ``buf`` (short only at the end): a reader's bytes land in the
    chunk buffers with no copy. ``progress(bytes_received)`` runs after each chunk;
    ``check_last(tail)`` gets the stream's last (up to 512) bytes before the last chunk is stored
    and may raise to refuse the stream."""
    workers = max(1, workers or store.parallelism)
    reader = source if hasattr(source, "readinto") else _Pieces(source)
    received = 0
    with store.writer() as writer, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stream-put") as pool:
        c = _Chunker(store, writer, pool, chunk_size, workers)
        try:
            held: tuple[int, bytearray, int] | None = None
            while True:
                cur = c.take()
                fill = reader.readinto(memoryview(cur))
                received += fill
                if not fill:
                    c.give(cur)
                    break
                if held:
                    c.submit(*held)
                held = (len(c.chunks), cur, fill)
                c.chunks.append(None)
                if progress:
                    progress(received)
                if fill < chunk_size:
                    break
            if held:
                if check_last:
                    check_last(bytes(memoryview(held[1])[max(0, held[2] - 512):held[2]]))
                c.submit(*held)
            for f in c.pending:
                f.result()
        except BaseException:
            for f in c.pending:
                f.cancel()
            raise
    store.sync()
    return Manifest(virtual_size=received, chunk_size=chunk_size, chunks=c.chunks, facts=dict(facts or {}))
