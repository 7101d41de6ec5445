"""Content-addressed storage of disk images, one chunk namespace per region.

Public API (see ``chunks.py`` for the details)::

    CHUNK_SIZE                                   1 MiB
    Manifest(virtual_size, chunk_size, chunks, facts)   .to_json() / .from_json()
    ChunkStore                                   abstract backend interface
    LocalChunkStore(root)                        directory backend
    S3ChunkStore(endpoint_url, bucket, prefix, access_key, secret_key, region)
    write_image(store, path) -> Manifest         raw file -> chunks
    read_image(store, manifest, dest_path)       chunks -> sparse raw file
    copy_chunks(src, dst, manifest, progress=None, skip=()) -> bytes copied
    gc(store, referenced, grace_seconds=0) -> (chunks_removed, bytes_freed)

This package is low level: it must not import ``localcvm.store``,
``localcvm.api`` or ``localcvm.services``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .chunks import (
    CHUNK_SIZE,
    ChunkCorrupt,
    ChunkInfo,
    ChunkMissing,
    ChunkStore,
    ChunkStoreError,
    Manifest,
    ManifestMissing,
    Progress,
    copy_chunks,
    gc,
    is_digest,
    read_image,
    referenced_digests,
    sha256_hex,
    validate_manifest_name,
    write_image,
)
from .local import LocalChunkStore

if TYPE_CHECKING:  # pragma: no cover
    from .s3 import S3ChunkStore

__all__ = [
    "CHUNK_SIZE",
    "ChunkCorrupt",
    "ChunkInfo",
    "ChunkMissing",
    "ChunkStore",
    "ChunkStoreError",
    "LocalChunkStore",
    "Manifest",
    "ManifestMissing",
    "Progress",
    "S3ChunkStore",
    "copy_chunks",
    "gc",
    "is_digest",
    "read_image",
    "referenced_digests",
    "sha256_hex",
    "validate_manifest_name",
    "write_image",
]


def __getattr__(name: str) -> Any:
    # S3ChunkStore is loaded on first use so that boto3 is only imported
    # when an S3 store is actually configured.
    if name == "S3ChunkStore":
        from .s3 import S3ChunkStore

        return S3ChunkStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
