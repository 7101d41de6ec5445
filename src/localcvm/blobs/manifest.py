"""Manifests and chunk digests: what an image is, independent of where its chunks live.

A disk image is stored as a *manifest*: its virtual size, a few facts about
where it came from, and an ordered list of fixed-size chunks (1 MiB) named by
the SHA-256 of their content. An all-zero chunk is not stored at all; the
manifest records it as a hole (``None``). Identical chunks are stored once per
store (one store = one region's namespace), so images that share content,
copies of an image, and images that differ by a few blocks cost little.

The manifests themselves live in the database (the image rows); this module
only defines them, their JSON form, and the digest helpers every store uses
(``sha256_hex``, ``is_digest``, ``check_digest``, ``verify_chunk``, ``is_zero``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ChunkCorrupt

__all__ = [
    "CHUNK_SIZE",
    "MANIFEST_VERSION",
    "Manifest",
    "Progress",
    "check_digest",
    "is_digest",
    "is_zero",
    "sha256_hex",
    "verify_chunk",
]

#: Size of one chunk. Fixed per manifest (recorded in it), 1 MiB by default: fine enough that a
#: capture or a copy moves little more than the changed data, coarse enough that a 50 GiB
#: manifest stays ~3 MB.
CHUNK_SIZE = 1024 * 1024

#: Version of the manifest JSON layout; bumped on incompatible changes.
MANIFEST_VERSION = 1

#: ``progress(done, total)`` callback type; both numbers are bytes.
Progress = Callable[[int, int], None]

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


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


def is_zero(data: bytes | bytearray) -> bool:
    """Fast all-zero test: one memcmp against a preallocated zero buffer.

    (``bytes``/``bytearray`` equality is a memcmp; comparing memoryviews is
    not, it goes byte by byte, so callers pass bytes or bytearrays.)
    """
    return data == _zeros(len(data))


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
