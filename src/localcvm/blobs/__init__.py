"""Content-addressed storage of disk images, one chunk namespace per region.

Layout of the package (low level: it must not import ``localcvm.store``,
``localcvm.api`` or ``localcvm.services``; only ``registry`` reads
``localcvm.config``)::

    errors.py     ChunkStoreError, ChunkMissing, ChunkCorrupt
    manifest.py   CHUNK_SIZE, Manifest (an image as a list of chunk digests; kept in the
                  database, not in the stores), sha256_hex/is_digest/check_digest/verify_chunk
    store.py      ChunkStore (the backend interface), ChunkWriter (bulk writes), ChunkInfo
    local.py      LocalChunkStore(root): a directory; bulk writes go to pack files (packs.py,
                  whose on-disk record and index format is packfile.py)
    s3.py         S3ChunkStore(endpoint_url, bucket, prefix, ...): an S3 bucket (boto3, lazily)
    imagefile.py  write_image(store, path) -> Manifest (raw file -> chunks),
                  read_image(store, manifest, dest) (chunks -> sparse raw file), store_chunk
    transfer.py   copy_missing_chunks(src, dst, manifest) (region -> region copy, resumable), CopyTrace
    collect.py    gc(store, referenced, grace_seconds=0) -> (removed, bytes_freed), referenced_digests
    registry.py   BlobRegistry: the chunk store of each region, from the settings

Import the names below from this package, not from its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .collect import gc, referenced_digests
from .errors import ChunkCorrupt, ChunkMissing, ChunkStoreError
from .imagefile import read_image, store_chunk, write_image
from .local import LocalChunkStore
from .manifest import CHUNK_SIZE, Manifest, Progress, check_digest, is_digest, sha256_hex, verify_chunk
from .store import ChunkInfo, ChunkStore, ChunkWriter
from .transfer import CopyTrace, copy_missing_chunks

if TYPE_CHECKING:  # pragma: no cover
    from .s3 import S3ChunkStore

__all__ = [
    "CHUNK_SIZE",
    "ChunkCorrupt",
    "ChunkInfo",
    "ChunkMissing",
    "ChunkStore",
    "ChunkStoreError",
    "ChunkWriter",
    "CopyTrace",
    "LocalChunkStore",
    "Manifest",
    "Progress",
    "S3ChunkStore",
    "check_digest",
    "copy_missing_chunks",
    "gc",
    "is_digest",
    "read_image",
    "referenced_digests",
    "sha256_hex",
    "store_chunk",
    "verify_chunk",
    "write_image",
]


def __getattr__(name: str) -> Any:
    # S3ChunkStore is loaded on first use so that boto3 is only imported
    # when an S3 store is actually configured.
    if name == "S3ChunkStore":
        from .s3 import S3ChunkStore

        return S3ChunkStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
