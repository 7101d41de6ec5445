"""The small disks behind public images: what a public image's system disk holds, byte for byte.

A public image's disk is generated, not stored: an MBR with one Linux (or NTFS)
partition and an OS label at offset 0, the label again at 1 MiB, holes for the
rest. Pure functions of the image's facts; the caller stores the chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..blobs import CHUNK_SIZE, Manifest, sha256_hex

GIB = 1024**3


@dataclass(frozen=True)
class PublicDisk:
    """The facts of a public image that decide its disk's bytes."""

    image_id: str
    os_name: str
    os_type: str  # Linux | Windows
    architecture: str
    size_gib: int


def public_chunks(disk: PublicDisk) -> list[bytes]:
    """The data at the start of the disk, chunk by chunk (everything after them is a hole)."""
    data = bytearray(max(CHUNK_SIZE, 2 * 1024 * 1024))
    label = f"localcvm public image {disk.image_id}: {disk.os_name} ({disk.architecture})\n".encode()
    data[0:len(label)] = label[:440]
    # one primary partition (type 0x83 Linux, or 0x07 NTFS for Windows) from sector 2048 to the end
    sectors = disk.size_gib * GIB // 512
    entry = bytearray(16)
    entry[4] = 0x07 if disk.os_type == "Windows" else 0x83
    entry[8:12] = (2048).to_bytes(4, "little")
    entry[12:16] = min(sectors - 2048, 0xFFFFFFFF).to_bytes(4, "little")
    data[446:462] = entry
    data[510:512] = b"\x55\xaa"
    data[1024 * 1024: 1024 * 1024 + len(label)] = label
    return [bytes(data[i: i + CHUNK_SIZE]) for i in range(0, len(data), CHUNK_SIZE)]


@lru_cache(maxsize=None)
def public_manifest(disk: PublicDisk) -> Manifest:
    """The disk's chunk manifest (hashes of ``public_chunks``, holes as ``None``)."""
    size = disk.size_gib * GIB
    chunks: list[str | None] = [None] * -(-size // CHUNK_SIZE)
    for i, data in enumerate(public_chunks(disk)):
        if any(data):
            chunks[i] = sha256_hex(data)
    return Manifest(virtual_size=size, chunk_size=CHUNK_SIZE, chunks=chunks, facts={"public": disk.image_id})


def public_chunk_data(disk: PublicDisk) -> dict[str, bytes]:
    """``{digest: bytes}`` of the disk's stored (non-hole) chunks."""
    manifest = public_manifest(disk)
    return {d: chunk for d, chunk in zip(manifest.chunks, public_chunks(disk)) if d is not None}


# --- the bootable guest disk behind the public Linux images (the QEMU driver) ---------------------------


@lru_cache(maxsize=8)
def _file_digests(path: str, mtime_ns: int) -> tuple[str | None, ...]:
    """The chunk digests of a raw disk file (None for an all-zero chunk); cached per file version."""
    out: list[str | None] = []
    with open(path, "rb") as fh:
        while True:
            data = fh.read(CHUNK_SIZE)
            if not data:
                break
            data = data.ljust(CHUNK_SIZE, b"\0")
            out.append(sha256_hex(data) if any(data) else None)
    return tuple(out)


def file_manifest(path, disk: PublicDisk) -> Manifest:
    """The manifest of a public image whose disk is the raw file ``path`` (a bootable disk smaller than
    the image's size): the file's chunks, then holes up to the image's size."""
    import os

    digests = _file_digests(str(path), os.stat(path).st_mtime_ns)
    size = disk.size_gib * GIB
    chunks: list[str | None] = [None] * -(-size // CHUNK_SIZE)
    chunks[: len(digests)] = digests[: len(chunks)]
    return Manifest(virtual_size=size, chunk_size=CHUNK_SIZE, chunks=chunks,
                    facts={"public": disk.image_id, "guest_disk": os.path.basename(path)})


def file_chunk_data(path):
    """``(digest, bytes)`` of each stored (non-zero) chunk of the raw file ``path``."""
    with open(path, "rb") as fh:
        while True:
            data = fh.read(CHUNK_SIZE)
            if not data:
                return
            data = data.ljust(CHUNK_SIZE, b"\0")
            if any(data):
                yield sha256_hex(data), data
