"""A qcow2 arriving as a byte stream (a download), read as its raw guest bytes in one pass.

``qemu-img convert`` writes a qcow2 in a streamable order: the header, the refcount
structures and the L1 table first, then each L2 table just before the data clusters it maps,
the data in guest order (QEMU's qcow2 specification, docs/interop/qcow2.txt, for the layout).
Read in that order, every cluster can be placed as it arrives, so an import needs neither a
scratch copy of the download nor a raw conversion.

``Qcow2Stream.readinto`` gives the guest bytes in order (unallocated and zero clusters as
zeros; what lies past the end of the file reads as zeros, as QEMU reads it). Whenever the
stream is not in such an order (a table after the clusters it maps, data out of guest order,
compressed clusters, too many mapped clusters waiting), it raises ``NotStreamable``: the
caller then imports the file as a whole instead. Every offset is checked before it is used;
memory holds the L1 table and the mappings of the L2 tables read so far, bounded.
"""

from __future__ import annotations

import struct
from array import array
from collections import deque
from typing import Protocol

__all__ = ["NotStreamable", "Qcow2Stream"]

_HEADER = struct.Struct(">IIQIIQIIQQIIQ")
_INCOMPAT_EXTL2 = 1 << 4
_OFFSET_MASK = 0x00FF_FFFF_FFFF_FE00
_COMPRESSED = 1 << 62
_ZERO_FLAG = 1
_MAX_L1_BYTES = 32 * 1024 * 1024  # QEMU's own limit on an L1 table
_MAX_PENDING = 1 << 18  # mapped clusters known ahead of the stream (a few L2 tables' worth)
_ZEROS = bytes(2 * 1024 * 1024)


class NotStreamable(Exception):
    """The qcow2's layout cannot be read in one pass; import it as a whole file."""


class _Source(Protocol):
    def readinto(self, buf: memoryview) -> int: ...


def _table(data: bytes | memoryview) -> array:
    entries = array("Q")
    entries.frombytes(data)
    if struct.pack("=H", 1) != struct.pack(">H", 1):
        entries.byteswap()
    return entries


class Qcow2Stream:
    """Guest bytes of the qcow2 that ``source`` streams (from its first byte)."""

    def __init__(self, source: _Source, head: bytes):
        if len(head) < 104:
            raise NotStreamable("header truncated")
        (_m, version, _bo, _bs, bits, size, crypt, l1_size, l1_offset, *_r) = _HEADER.unpack_from(head)
        if crypt or not 9 <= bits <= 21 or version not in (2, 3):
            raise NotStreamable("not a plain qcow2 header")
        if version == 3 and struct.unpack_from(">Q", head, 72)[0] & _INCOMPAT_EXTL2:
            raise NotStreamable("subclusters")
        self.cluster = 1 << bits
        self.entries = self.cluster // 8
        covered = -(-size // (self.cluster * self.entries))
        if l1_size < covered or covered * 8 > _MAX_L1_BYTES or l1_offset % self.cluster or l1_offset < self.cluster:
            raise NotStreamable("L1 table")
        self.source, self.size = source, size
        self.l1_offset, self.l1_count = l1_offset, covered
        self.hpos = 0  # host offset of the next byte of the stream
        self.gpos = 0  # guest offset of the next byte readinto gives
        self.l2_offsets: deque[tuple[int, int]] = deque()  # (host offset, L1 index), in host order
        self.pending: deque[tuple[int, int]] = deque()  # (host offset, guest offset) of data, in host order
        self.next_guest, self.data_left, self.eof = 0, 0, False
        self.scratch = memoryview(bytearray(self.cluster))

    @property
    def virtual_size(self) -> int:
        return self.size

    # --- the host side: the stream, cluster by cluster ---------------------------------------
    def _read(self, view: memoryview) -> int:
        got = 0
        while got < len(view) and not self.eof:
            n = self.source.readinto(view[got:])
            if n == 0:
                self.eof = True
            got += n
        self.hpos += got
        return got

    def _skip_to(self, target: int) -> None:
        while self.hpos < target and not self.eof:
            self._read(self.scratch[: min(self.cluster, target - self.hpos)])

    def _read_l1(self) -> None:
        raw = bytearray(self.l1_count * 8)
        got = self._read(memoryview(raw))
        l1 = _table(bytes(raw[: got // 8 * 8]))
        self._skip_to(self.l1_offset + -(-len(raw) // self.cluster) * self.cluster)
        found = []
        for index, entry in enumerate(l1):
            l2 = entry & _OFFSET_MASK
            if l2:
                if l2 % self.cluster or l2 < self.hpos:
                    raise NotStreamable("an L2 table before the L1 table")
                found.append((l2, index))
        found.sort()
        self.l2_offsets.extend(found)

    def _read_l2(self, l1_index: int) -> None:
        here = self.hpos
        got = self._read(self.scratch)
        table = _table(bytes(self.scratch[: got // 8 * 8]))
        last_host = self.pending[-1][0] if self.pending else here
        last_guest = self.pending[-1][1] if self.pending else self.gpos - 1
        base = l1_index * self.entries * self.cluster
        for i, entry in enumerate(table):
            host = entry & _OFFSET_MASK
            if not host or entry & _ZERO_FLAG:
                continue
            if entry & _COMPRESSED:
                raise NotStreamable("compressed clusters")
            guest = base + i * self.cluster
            if host % self.cluster or host <= last_host or guest <= last_guest or guest >= self.size:
                raise NotStreamable("data clusters out of order")
            self.pending.append((host, guest))
            last_host, last_guest = host, guest
        if len(self.pending) > _MAX_PENDING:
            raise NotStreamable("too many clusters mapped ahead")

    def _advance(self) -> None:
        """Consume the stream up to the next data cluster: ``next_guest``/``data_left`` (or, at the
        end of the stream, zeros to the end of the disk)."""
        while not self.eof:
            if self.hpos % self.cluster:
                self._skip_to(self.hpos + self.cluster - self.hpos % self.cluster)
                continue
            targets = [t for t in (self.pending[0][0] if self.pending else None,
                                   self.l2_offsets[0][0] if self.l2_offsets else None,
                                   self.l1_offset if self.l1_offset >= self.hpos and self.l1_count else None)
                       if t is not None]
            if self.l1_count and self.l1_offset < self.hpos:
                raise NotStreamable("the stream passed its L1 table")
            if not targets:
                break  # nothing left to map: the rest of the disk reads as zeros
            target = min(targets)
            if target < self.hpos:
                raise NotStreamable("a table or cluster behind the stream")
            self._skip_to(target)
            if self.eof:
                break
            if self.l1_count and target == self.l1_offset:
                self._read_l1()
                self.l1_count = 0
            elif self.l2_offsets and target == self.l2_offsets[0][0]:
                self._read_l2(self.l2_offsets.popleft()[1])
            else:
                _host, guest = self.pending.popleft()
                self.next_guest, self.data_left = guest, self.cluster
                return
        self.next_guest, self.data_left = self.size, 0

    # --- the guest side ----------------------------------------------------------------------
    def readinto(self, buf: memoryview) -> int:
        want = min(len(buf), self.size - self.gpos)
        done = 0
        while done < want:
            if self.gpos >= self.next_guest + self.data_left and self.next_guest < self.size:
                self._advance()
            if self.gpos < self.next_guest:
                n = min(want - done, self.next_guest - self.gpos)
                buf[done:done + n] = _ZEROS[:n] if n <= len(_ZEROS) else bytes(n)
            else:
                n = min(want - done, self.next_guest + self.data_left - self.gpos)
                got = self._read(buf[done:done + n])
                if got < n:  # past the end of the file
                    buf[done + got:done + n] = bytes(n - got)
                    self.next_guest, self.data_left = self.size, 0
            done += n
            self.gpos += n
        return want
