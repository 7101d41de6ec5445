"""Garbage collection of a chunk store: remove the chunks no manifest references.

The manifests live in the database, so the caller collects the digests they
use (``referenced_digests``) and hands them to ``gc``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .manifest import Manifest
from .store import ChunkStore

__all__ = ["gc", "referenced_digests"]


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
    temp_max_age: float = 3600.0,
    now: float | None = None,
) -> tuple[int, int]:
    """Remove the chunks nothing references; return ``(removed, bytes_freed)``.

    ``referenced`` is every digest the caller's manifests use.

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
