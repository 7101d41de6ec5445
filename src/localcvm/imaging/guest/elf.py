"""Just enough ELF64 reading for the guest build: a kernel module's ``depends=`` and a binary's NEEDED.

The host may have neither kmod (``modinfo``/``depmod``) nor binutils (``readelf``), so the build reads
the two facts it needs from the section headers itself.
"""

from __future__ import annotations

import struct
from pathlib import Path


def _sections(data: bytes) -> dict[str, tuple[int, int, int, int]]:
    """``{name: (type, offset, size, link)}`` of an ELF64 little-endian file's sections."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    raw = []
    for i in range(shnum):
        name, stype, _flags, _addr, off, size, link = struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize)
        raw.append((name, stype, off, size, link))
    str_off = raw[shstrndx][2]
    out = {}
    for name, stype, off, size, link in raw:
        end = data.index(b"\0", str_off + name)
        out[data[str_off + name:end].decode()] = (stype, off, size, link)
    return out


def module_depends(path: Path) -> list[str]:
    """The module names a ``.ko`` file declares in its ``.modinfo`` ``depends=`` entry."""
    data = path.read_bytes()
    sec = _sections(data).get(".modinfo")
    if sec is None:
        return []
    _t, off, size, _l = sec
    for entry in data[off:off + size].split(b"\0"):
        if entry.startswith(b"depends="):
            return [d for d in entry[8:].decode().split(",") if d]
    return []


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED sonames of a dynamically linked ELF file (empty for a static one)."""
    data = path.read_bytes()
    secs = _sections(data)
    dyn = secs.get(".dynamic")
    dynstr = secs.get(".dynstr")
    if dyn is None or dynstr is None:
        return []
    out = []
    _t, off, size, _l = dyn
    for i in range(off, off + size, 16):
        tag, val = struct.unpack_from("<qQ", data, i)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            start = dynstr[1] + val
            out.append(data[start:data.index(b"\0", start)].decode())
    return out
