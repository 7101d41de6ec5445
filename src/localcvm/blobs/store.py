"""The chunk store interface every backend implements.

``ChunkStore`` is one region's namespace of content-addressed chunks
(``localcvm.blobs.local.LocalChunkStore``, ``localcvm.blobs.s3.S3ChunkStore``);
``ChunkWriter`` is its bulk-write handle (``ChunkStore.writer``) and
``ChunkInfo`` one entry of its listing.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ChunkCorrupt

__all__ = ["ChunkInfo", "ChunkStore", "ChunkWriter"]


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
    """A namespace of content-addressed chunks.

    One store per region. Implementations must be safe to call from several
    threads at once (the image readers, writers and the copy use thread
    pools), and every write must be atomic: a chunk is either absent or
    complete under its name, never partial.
    """

    #: How many chunk operations ``write_image``/``read_image`` run in parallel
    #: against this store by default. Backends with high latency (S3) raise it.
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

        For bulk readers that recycle their buffers (``copy_missing_chunks``): a
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

    def adopt_from(self, src: ChunkStore, wanted: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Take ``wanted`` chunks (digest, length) of ``src`` without moving their bytes through this
        process where the two stores allow it (hard links on one local file system, a server-side
        copy on one S3 endpoint); returns the chunks left for a byte copy. Adopted chunks are
        durable when this returns. This default adopts nothing."""
        return wanted

    def sync(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Make every ``put`` that has returned durable (survive a crash).

        ``put`` is always atomic; a backend may defer flushing directory
        metadata to this call to batch it. ``write_image``, ``capture_chunks``
        and ``copy_missing_chunks`` call it before returning, so a manifest written
        after them only names durable chunks. S3 puts are durable at once.
        """

    @abc.abstractmethod
    def touch(self, digest: str, length: int | None = None) -> bool:
        """Refresh the chunk's modification time if it is stored (with ``length`` bytes, when given).

        Returns whether it is stored. The image writers and the copy call this instead of
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

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release OS resources (file descriptors, connections)."""

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
