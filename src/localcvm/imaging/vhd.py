"""VHD checks: fixed and dynamic disks (a differencing VHD names a parent, and is refused).

The layout follows Microsoft's VHD specification; which footer is trusted
and how the size is computed mirror qemu's vpc driver.
"""

from __future__ import annotations

import struct
from typing import Any

from .probe import SECTOR, ImageFile, InspectResult, UnsafeImage, check_size

__all__ = ["VHD_COOKIE", "inspect_vhd"]

VHD_COOKIE = b"conectix"
_VHD_FOOTER = struct.Struct(">8sIIQI4sI4sQQHBBII16sB")
_VHD_FIXED, _VHD_DYNAMIC, _VHD_DIFFERENCING = 2, 3, 4
_VHD_MAX_GEOMETRY = 65535 * 16 * 255
# Creator apps whose footer "current size" qemu trusts over the CHS geometry.
_VHD_CURRENT_SIZE_CREATORS = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0")


def _vhd_checksum(footer: bytes) -> int:
    body = footer[:64] + b"\0\0\0\0" + footer[68:]
    return ~sum(body) & 0xFFFFFFFF


def inspect_vhd(img: ImageFile, footer: bytes, at_start: bool, limit: int) -> InspectResult:
    (
        _cookie,
        _features,
        _version,
        data_offset,
        _timestamp,
        creator_app,
        _creator_ver,
        _creator_os,
        _orig_size,
        current_size,
        cyls,
        heads,
        secs,
        disk_type,
        checksum,
        _uuid,
        _saved,
    ) = _VHD_FOOTER.unpack_from(footer)
    where = "offset 0" if at_start else "the last 512 bytes"
    reasons = [f"VHD footer cookie 'conectix' at {where}"]
    if _vhd_checksum(footer[:512]) != checksum:
        raise UnsafeImage("VHD footer checksum does not match (damaged or forged image)")
    if disk_type == _VHD_DIFFERENCING:
        raise UnsafeImage("differencing VHD images refer to a parent disk; only fixed and dynamic VHDs are accepted")
    if disk_type not in (_VHD_FIXED, _VHD_DYNAMIC):
        raise UnsafeImage(f"VHD disk type {disk_type} is not accepted (only fixed and dynamic)")
    if not at_start and disk_type != _VHD_FIXED:
        # qemu reads the footer copy at offset 0 for dynamic disks.
        raise UnsafeImage("malformed dynamic VHD: the footer copy at the start of the file is missing")

    facts: dict[str, Any] = {"vhd_type": "fixed" if disk_type == _VHD_FIXED else "dynamic"}
    if disk_type == _VHD_DYNAMIC:
        header = img.read_exact(data_offset, 1024, "VHD dynamic disk header") if data_offset < img.size else b""
        if header[:8] != b"cxsparse":
            raise UnsafeImage("malformed dynamic VHD: no dynamic disk header ('cxsparse') at its data offset")
        block_size = struct.unpack_from(">I", header, 32)[0]
        if block_size < SECTOR or block_size & (block_size - 1):
            raise UnsafeImage(f"malformed dynamic VHD: block size {block_size}")
        facts["vhd_block_size"] = block_size
    reasons.append(f"{facts['vhd_type']} VHD")

    # Size as qemu computes it: the CHS geometry, unless the creator is one
    # known to use the "current size" field, or the geometry is maxed out.
    chs_sectors = cyls * heads * secs
    if creator_app in _VHD_CURRENT_SIZE_CREATORS or chs_sectors == _VHD_MAX_GEOMETRY:
        size = (current_size // SECTOR) * SECTOR
    else:
        size = chs_sectors * SECTOR
    check_size("vhd", size, limit)
    return InspectResult("vhd", size, tuple(reasons), facts, img.size)
