"""The errors every chunk store raises (``ChunkStoreError`` and its two lookup/integrity cases)."""

from __future__ import annotations

__all__ = ["ChunkCorrupt", "ChunkMissing", "ChunkStoreError"]


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
