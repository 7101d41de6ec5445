"""The on-disk format of pack files (see ``blobs.packs`` for how the store uses them).

A pack is a sequence of records, each aligned to 4 KiB so that reads can
bypass the page cache (``O_DIRECT``)::

    header  4 KiB   magic "LCVMPACK", version, data length, SHA-256 (raw)
    data    the chunk, zero-padded to a multiple of 4 KiB

A sealed pack may have an index file: magic "LCVMIDX1", a count, then
``(sha256, record offset, data length)`` per record, and the SHA-256 of all
that as a trailer (a damaged index is detected and rebuilt from the headers).

This module only encodes and decodes; it opens no pack by name.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import struct
from collections.abc import Iterator

__all__ = [
    "ALIGN",
    "HEADER",
    "MAX_CHUNK",
    "Entry",
    "decode_index",
    "encode_index",
    "padded",
    "parse_header",
    "record_header",
    "record_parts",
    "scan",
    "scan_pack",
]

ALIGN = 4096
HEADER = ALIGN
MAGIC = b"LCVMPACK"
VERSION = 1
MAX_CHUNK = 64 * 1024 * 1024  # sanity bound on a header's length field
_HDR = struct.Struct("<8sII32s")  # magic, version, data length, sha256 digest
_IDX_MAGIC = b"LCVMIDX1"
_IDX_HEAD = struct.Struct("<8sI")
_IDX_ENTRY = struct.Struct("<32sQI")  # digest, record offset, data length
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_SEEK_DATA = getattr(os, "SEEK_DATA", None)

#: One record of a pack: ``(digest, offset of its header, length of its data)``.
Entry = tuple[str, int, int]


def padded(n: int) -> int:
    """``n`` rounded up to the record alignment."""
    return -(-n // ALIGN) * ALIGN


def record_header(digest: str, length: int) -> bytes:
    """The 4 KiB header of a record holding ``length`` bytes named ``digest``."""
    return _HDR.pack(MAGIC, VERSION, length, bytes.fromhex(digest)).ljust(HEADER, b"\0")


def parse_header(raw: bytes) -> tuple[str, int] | None:
    """``(digest, length)`` of a record header, or None when ``raw`` is not one."""
    if len(raw) < _HDR.size:
        return None
    magic, version, length, digest = _HDR.unpack_from(raw)
    if magic != MAGIC or version != VERSION or not 0 < length <= MAX_CHUNK:
        return None
    return digest.hex(), length


def record_parts(digest: str, data: bytes | bytearray | memoryview) -> list[bytes | bytearray | memoryview]:
    """The buffers of a whole record (header, data, padding), for one ``pwritev``."""
    length = len(data)
    parts = [record_header(digest, length), data]
    if padded(length) != length:
        parts.append(bytes(padded(length) - length))
    return parts


def encode_index(entries: list[Entry]) -> bytes:
    """The index file of a pack holding ``entries``."""
    body = _IDX_HEAD.pack(_IDX_MAGIC, len(entries)) + b"".join(
        _IDX_ENTRY.pack(bytes.fromhex(d), off, n) for d, off, n in entries)
    return body + hashlib.sha256(body).digest()


def decode_index(raw: bytes) -> list[Entry] | None:
    """The entries of an index file, or None when it is damaged or not one."""
    body, check = raw[:-32], raw[-32:]
    if len(raw) < _IDX_HEAD.size + 32 or hashlib.sha256(body).digest() != check:
        return None
    magic, count = _IDX_HEAD.unpack_from(body)
    if magic != _IDX_MAGIC or len(body) != _IDX_HEAD.size + count * _IDX_ENTRY.size:
        return None
    return [(d.hex(), off, n) for d, off, n in _IDX_ENTRY.iter_unpack(body[_IDX_HEAD.size:])]


def scan_pack(path: str | os.PathLike[str], *, verify: bool = True) -> list[Entry]:
    """The records of the pack file at ``path`` as ``(digest, offset, length)``, read-only and without
    locking: what an inspector sees of a pack, even one another process is still writing."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC)
    try:
        return list(scan(fd, verify=verify))
    finally:
        os.close(fd)


def scan(fd: int, *, verify: bool) -> Iterator[Entry]:
    """Yield ``(digest, offset, length)`` for each record found in the pack open as ``fd``.

    Holes (punched records) are skipped with SEEK_DATA; anything that is not
    a valid header is stepped over 4 KiB at a time. With ``verify`` each
    record's data must hash to its header's digest (an abandoned pack may
    end in a torn record).
    """
    size = os.fstat(fd).st_size
    pos = 0
    while pos + HEADER <= size:
        if _SEEK_DATA is not None:
            try:
                pos = os.lseek(fd, pos, _SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole is left
                    return
                raise
            pos -= pos % ALIGN
        parsed = parse_header(os.pread(fd, HEADER, pos))
        if parsed is not None and pos + HEADER + parsed[1] <= size:
            digest, length = parsed
            ok = True
            if verify:
                data = os.pread(fd, length, pos + HEADER)
                ok = len(data) == length and hashlib.sha256(data).hexdigest() == digest
            if ok:
                yield digest, pos, length
                pos += HEADER + padded(length)
                continue
        pos += ALIGN


def record_gone(fd: int, offset: int, digest: str, length: int) -> bool:
    """True when the record header at ``offset`` no longer names ``digest`` (punched by a gc)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    o_direct = getattr(os, "O_DIRECT", 0)
    if flags & o_direct:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~o_direct)  # a small unaligned read
    return parse_header(os.pread(fd, HEADER, offset)) != (digest, length)
