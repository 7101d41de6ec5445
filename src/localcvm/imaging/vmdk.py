"""VMDK checks: single-file monolithicSparse or streamOptimized disks, nothing that names another file.

The layout follows VMware's Virtual Disk Format 1.1; where qemu reads
differently (the streamOptimized footer, where it looks for a parent) we
mirror qemu, because qemu is what reads the image next.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from .probe import HEAD_SIZE, SECTOR, ImageFile, InspectResult, UnsafeImage, UnsupportedImage, c_string, check_size

__all__ = ["VMDK_MAGIC", "inspect_vmdk", "looks_like_descriptor", "reject_descriptor_file"]

VMDK_MAGIC = b"KDMV"
_VMDK4_HEADER = struct.Struct("<4sIIQQQQIQQQB4sH")  # through compressAlgorithm
_VMDK_GD_AT_END = 0xFFFFFFFFFFFFFFFF
_VMDK_MARKER_EOS = 0
_VMDK_MARKER_FOOTER = 3
_VMDK_ACCEPTED_TYPES = ("monolithicSparse", "streamOptimized")
_VMDK_MAX_DESCRIPTOR = 1 << 20
# qemu looks for "parentFileNameHint" in the 20 sectors after the header of
# a sparse VMDK, wherever the descriptor really is.
_VMDK_PARENT_SCAN = (512, 20 * 512)

_CREATE_TYPE_RE = re.compile(r'(?mi)^\s*createType\s*=\s*"?([A-Za-z0-9_]+)"?')
_EXTENT_RE = re.compile(r'(?m)^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z0-9_]+)(?:\s+"([^"]*)")?')


def _parse_descriptor(text: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """(createType, [(extent type, extent file)]) of a VMDK descriptor."""
    m = _CREATE_TYPE_RE.search(text)
    extents = [(e.group(3).upper(), e.group(4)) for e in _EXTENT_RE.finditer(text)]
    return (m.group(1) if m else None), extents


def looks_like_descriptor(head: bytes) -> bool:
    """A text VMDK descriptor (the small file that names extent files)."""
    text = head.split(b"\0", 1)[0][:HEAD_SIZE]
    if text.lstrip().startswith(b"# Disk DescriptorFile"):
        return True
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return False
    return _CREATE_TYPE_RE.search(decoded) is not None and _EXTENT_RE.search(decoded) is not None


def reject_descriptor_file(head: bytes) -> None:
    create_type, extents = _parse_descriptor(head.split(b"\0", 1)[0].decode("utf-8", "replace"))
    files = [f for _, f in extents if f]
    refs = f" referencing {', '.join(repr(f) for f in files)}" if files else ""
    raise UnsafeImage(
        f"this is a VMDK descriptor file (createType={create_type or 'unknown'}){refs}: descriptor files "
        "point at other files and are refused; upload a single-file VMDK "
        f"({' or '.join(_VMDK_ACCEPTED_TYPES)})"
    )


def inspect_vmdk(img: ImageFile, head: bytes, limit: int) -> InspectResult:
    if len(head) < _VMDK4_HEADER.size:
        raise UnsafeImage("malformed VMDK image: header is truncated")
    fields = _VMDK4_HEADER.unpack_from(head)
    version, capacity, grain, desc_offset, desc_size = fields[1], fields[3], fields[4], fields[5], fields[6]
    gd_offset, compress = fields[9], fields[13]
    if version not in (1, 2, 3):
        raise UnsupportedImage(f"VMDK sparse version {version} is not supported")
    reasons = ["VMDK sparse magic 'KDMV' at offset 0", f"VMDK version {version}"]

    # With capacity 0 and a descriptor, qemu reads the embedded descriptor
    # as a full descriptor file and opens whatever extents it names.
    if capacity == 0:
        raise UnsafeImage(
            "VMDK header declares zero capacity and defers to its embedded descriptor "
            "(which may name other files); refused"
        )

    if gd_offset == _VMDK_GD_AT_END:
        # streamOptimized: the footer (second-to-last sector) overrides the
        # header, as in qemu. Validate its markers as qemu does.
        if img.size < 3 * SECTOR:
            raise UnsafeImage("malformed VMDK image: footer missing")
        tail = img.read_exact(img.size - 3 * SECTOR, 3 * SECTOR, "VMDK footer")
        _val, marker_size, marker_type = struct.unpack_from("<QII", tail, 0)
        footer = tail[SECTOR : 2 * SECTOR]
        eos_val, eos_size, eos_type = struct.unpack_from("<QII", tail, 2 * SECTOR)
        if (
            footer[:4] != VMDK_MAGIC
            or marker_size != 0
            or marker_type != _VMDK_MARKER_FOOTER
            or (eos_val, eos_size, eos_type) != (0, 0, _VMDK_MARKER_EOS)
        ):
            raise UnsafeImage("malformed streamOptimized VMDK image: invalid footer")
        fields = _VMDK4_HEADER.unpack_from(footer)
        version, capacity, grain, desc_offset, desc_size = fields[1], fields[3], fields[4], fields[5], fields[6]
        reasons.append("streamOptimized footer read (it overrides the header)")
        if capacity == 0:
            raise UnsafeImage("VMDK footer declares zero capacity")

    if grain == 0 or grain & (grain - 1):
        raise UnsafeImage(f"malformed VMDK image: grain size {grain} sectors is not a power of two")

    # A sparse extent may name a parent disk; qemu would open it as a backing file.
    scan = img.read(*_VMDK_PARENT_SCAN)
    if b"parentFileNameHint" in scan:
        raise UnsafeImage("VMDK image names a parent disk (parentFileNameHint); only standalone disks are accepted")

    facts: dict[str, Any] = {"vmdk_version": version}
    create_type = None
    if desc_offset:
        if desc_size * SECTOR > _VMDK_MAX_DESCRIPTOR:
            raise UnsafeImage(f"malformed VMDK image: embedded descriptor of {desc_size} sectors")
        text = c_string(img.read_exact(desc_offset * SECTOR, desc_size * SECTOR, "VMDK descriptor"))
        if "parentFileNameHint" in text:
            raise UnsafeImage("VMDK image names a parent disk (parentFileNameHint); only standalone disks are accepted")
        create_type, extents = _parse_descriptor(text)
        if create_type is not None and create_type not in _VMDK_ACCEPTED_TYPES:
            raise UnsafeImage(
                f"VMDK createType {create_type!r} is not accepted; "
                f"only {' and '.join(_VMDK_ACCEPTED_TYPES)} single-file disks are"
            )
        if len(extents) > 1 or any(kind != "SPARSE" for kind, _ in extents):
            raise UnsafeImage("VMDK descriptor lists extents other than its own single sparse extent")
        reasons.append(f"embedded descriptor: createType={create_type or 'unspecified'}, one sparse extent")
    if create_type is None:
        create_type = "streamOptimized" if gd_offset == _VMDK_GD_AT_END else "monolithicSparse"
    facts["vmdk_create_type"] = create_type
    if compress:
        facts["compressed"] = True

    size = capacity * SECTOR
    check_size("vmdk", size, limit)
    reasons.append("no parent disk, no external extents")
    return InspectResult("vmdk", size, tuple(reasons), facts, img.size)
