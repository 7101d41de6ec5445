"""A VMDK or VHD image (or a qcow2 the plain reader declines) read as its raw guest bytes, in
order, straight from the file, where ``qemu-img map`` shows every allocated byte stored as it is.

``qemu-img map --output=json`` lists, for each run of guest bytes, whether it holds data and at
which offset of the image file that data sits; runs without data read as zeros. Where every data
run has an offset in this one file (VMDK monolithicSparse, VHD fixed and dynamic), an import
chunks the disk from those offsets instead of converting it to a raw file first, which costs a
full extra write of the disk. Compressed data (VMDK streamOptimized, compressed qcow2) has no
offset: ``open_mapped`` answers None and the caller converts with ``qemu-img`` instead.

The map is checked whole before the first byte is read: the runs cover the disk from 0 to its
virtual size without gap or overlap, in the image itself (no backing layer), and inside the file.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence

from . import qemu_img
from .qemu_img import Extent

__all__ = ["MappedReader", "map_usable", "open_mapped"]

_ZEROS = bytes(1024 * 1024)


class MappedReader:
    """``readinto`` fills a buffer with the next guest bytes (short only at the end of the disk)."""

    def __init__(self, fd: int, extents: Sequence[Extent], size: int):
        self.fd, self.extents, self.size, self.pos = fd, list(extents), size, 0
        self.starts = [e.start for e in self.extents]

    @property
    def virtual_size(self) -> int:
        return self.size

    def readinto(self, buf: memoryview) -> int:
        want = min(len(buf), self.size - self.pos)
        done = 0
        while done < want:
            guest = self.pos + done
            extent = self.extents[bisect.bisect_right(self.starts, guest) - 1]
            run = min(extent.start + extent.length - guest, want - done)
            target = buf[done:done + run]
            if extent.data and not extent.zero:
                got = os.preadv(self.fd, [target], extent.offset + guest - extent.start)
                if got < run:  # checked inside the file at open; a file cut since reads as zeros
                    _zero(target[got:])
            else:
                _zero(target)
            done += run
        self.pos += want
        return want


def _zero(view: memoryview) -> None:
    for at in range(0, len(view), len(_ZEROS)):
        piece = view[at:at + len(_ZEROS)]
        piece[:] = _ZEROS[:len(piece)]


def map_usable(extents: Sequence[Extent], size: int, file_size: int) -> bool:
    """Whether the runs cover ``[0, size)`` in order, all in the image itself, every data run
    stored as it is inside the file."""
    at = 0
    for e in extents:
        if e.start != at or e.length <= 0 or e.depth != 0:
            return False
        if e.data and not e.zero and (e.offset is None or e.offset < 0 or e.offset + e.length > file_size):
            return False
        at += e.length
    return at == size


def open_mapped(fd: int, path: str | os.PathLike[str], fmt: str, virtual_size: int) -> MappedReader | None:
    """A reader of the inspected image at ``path`` (open at ``fd``) of format ``fmt``; None when
    some of its data is not stored as it is (compressed), or the map does not check out."""
    try:
        extents = qemu_img.map_extents(path, fmt)
    except qemu_img.QemuImgError:
        return None
    if not map_usable(extents, virtual_size, os.fstat(fd).st_size):
        return None
    return MappedReader(fd, extents, virtual_size)
