"""A qcow2 image read as its raw guest bytes, in order, straight from the file.

An import chunks a qcow2 from this reader instead of converting it to a raw file first (which
costs a full extra write of the disk). It reads the active L1/L2 tables, as QEMU's qcow2
specification (docs/interop/qcow2.txt) lays them out, and copies each allocated cluster from
the file into the caller's buffer (``preadv``); unallocated and zero clusters read as zeros
(an inspected image has no backing file, so nothing lies underneath).

Only the plain layout is read here. ``open_qcow2`` answers None, and the caller converts with
``qemu-img`` instead, for anything else: compressed clusters, extended L2 entries (subclusters),
an L1 table that does not cover the disk, or any table entry that is misaligned or points
outside the file. Every table is checked before the first byte is read, so a reader that opens
never fails midway.
"""

from __future__ import annotations

import os
import struct
from array import array
from dataclasses import dataclass

__all__ = ["Qcow2Reader", "open_qcow2"]

_HEADER = struct.Struct(">IIQIIQIIQQIIQ")  # magic .. snapshots_offset
_INCOMPAT_EXTL2 = 1 << 4
_OFFSET_MASK = 0x00FF_FFFF_FFFF_FE00  # bits 9-55 of an L1/L2 entry
_COMPRESSED = 1 << 62
_ZERO = 1  # L2 entry bit 0 (version 3): the cluster reads as zeros
_ZEROS = bytes(2 * 1024 * 1024)  # the largest cluster


@dataclass
class _Layout:
    cluster_bits: int
    size: int
    l2_bits: int
    tables: dict[int, array]  # L1 index -> its L2 table's entries (host order), allocated ones only


def _entries(fd: int, offset: int, count: int) -> array:
    raw = os.pread(fd, count * 8, offset)
    table = array("Q")
    table.frombytes(raw[: len(raw) // 8 * 8])
    if table.itemsize != 8 or len(table) != count:
        raise ValueError("table truncated")
    if struct.pack("=H", 1) != struct.pack(">H", 1):
        table.byteswap()
    return table


def _layout(fd: int) -> _Layout | None:
    file_size = os.fstat(fd).st_size
    head = os.pread(fd, 112, 0)
    if len(head) < _HEADER.size:
        return None
    (_m, version, _bo, _bs, cluster_bits, size, crypt, l1_size, l1_offset, *_rest) = _HEADER.unpack_from(head)
    if crypt or not 9 <= cluster_bits <= 21:
        return None
    if version == 3 and len(head) >= 80 and struct.unpack_from(">Q", head, 72)[0] & _INCOMPAT_EXTL2:
        return None
    cluster = 1 << cluster_bits
    l2_bits = cluster_bits - 3
    per_l1 = cluster << l2_bits
    if l1_size * per_l1 < size or l1_offset % cluster or l1_offset + l1_size * 8 > file_size:
        return None
    needed = -(-size // per_l1)
    tables: dict[int, array] = {}
    for i, entry in enumerate(_entries(fd, l1_offset, needed)):
        l2 = entry & _OFFSET_MASK
        if not l2:
            continue
        if l2 % cluster or l2 + cluster > file_size:
            return None
        table = _entries(fd, l2, 1 << l2_bits)
        for e in table:
            host = e & _OFFSET_MASK
            if e & _COMPRESSED or (host and (host % cluster or host >= file_size)):
                return None
        tables[i] = table
    return _Layout(cluster_bits, size, l2_bits, tables)


class Qcow2Reader:
    """``readinto`` fills a buffer with the next guest bytes (short only at the end of the disk)."""

    def __init__(self, fd: int, layout: _Layout):
        self.fd, self.layout, self.pos = fd, layout, 0

    @property
    def virtual_size(self) -> int:
        return self.layout.size

    def _host(self, guest: int) -> int:
        """The file offset of the cluster at ``guest`` (0: it reads as zeros)."""
        lay = self.layout
        cluster_index = guest >> lay.cluster_bits
        table = lay.tables.get(cluster_index >> lay.l2_bits)
        if table is None:
            return 0
        entry = table[cluster_index & ((1 << lay.l2_bits) - 1)]
        return 0 if entry & _ZERO else entry & _OFFSET_MASK

    def readinto(self, buf: memoryview) -> int:
        cluster = 1 << self.layout.cluster_bits
        want = min(len(buf), self.layout.size - self.pos)
        done = 0
        while done < want:
            guest = self.pos + done
            off = guest % cluster
            base = self._host(guest)
            run = min(cluster - off, want - done)
            while done + run < want:  # the next clusters, while they follow on in the file (or read as zeros)
                nxt = self._host(guest + run)
                if nxt != (base + off + run if base else 0):
                    break
                run += min(cluster, want - done - run)
            target = buf[done:done + run]
            if base:
                got = os.preadv(self.fd, [target], base + off)
                if got < run:  # past the end of the file: zeros, as QEMU reads them
                    target[got:] = _ZEROS[: run - got]
            else:
                target[:] = _ZEROS[:run]
            done += run
        self.pos += want
        return want


def open_qcow2(fd: int) -> Qcow2Reader | None:
    """A reader of the (inspected) qcow2 open at ``fd``; None when its layout is not the plain one."""
    try:
        layout = _layout(fd)
    except (OSError, ValueError):
        return None
    return None if layout is None else Qcow2Reader(fd, layout)
