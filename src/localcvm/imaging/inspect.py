"""Safe inspection of untrusted disk images, before qemu touches them.

An uploaded image is hostile until proven otherwise. Disk formats can point
at *other files*: a qcow2 backing file (possibly a ``json:{...}`` spec that
opens anything qemu can reach), a qcow2 external data file, a VMDK
descriptor whose extents name host files, a VMDK ``parentFileNameHint``, a
differencing VHD's parent. Opening such an image with qemu, even only to
convert it, would read host files into the guest's disk.

So the format is decided here, in pure Python, from the file's own header
bytes, and every such reference is refused. Only then is qemu-img asked
(always with the detected ``-f``) to confirm it sees the same thing.

Accepted: qcow2 (v2/v3, unencrypted, self-contained), VMDK monolithicSparse
and streamOptimized (single file), VHD fixed and dynamic, and raw (anything
not recognised). Other known formats (VHDX, VDI, QED, LUKS, qcow v1, ...)
are refused as unsupported rather than silently imported as raw bytes.

The structure layouts follow the public format specifications (QEMU's
qcow2 spec, VMware's Virtual Disk Format 1.1, Microsoft's VHD spec); where
qemu's reading differs from the spec (which VHD footer it trusts, how it
sizes a VHD, where it looks for a VMDK parent), we mirror qemu, because
qemu is what will read the image next.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import stat
import struct
from dataclasses import dataclass, field
from typing import Any

from . import qemu_img

__all__ = [
    "DEFAULT_MAX_VIRTUAL_SIZE",
    "InspectResult",
    "UnsafeImage",
    "UnsupportedImage",
    "detect_format",
    "inspect_image",
    "verify_with_qemu",
]

TiB = 1 << 40
#: Largest virtual disk accepted unless the caller says otherwise.
DEFAULT_MAX_VIRTUAL_SIZE = 2 * TiB

_HEAD_SIZE = 64 * 1024
_SECTOR = 512


class UnsafeImage(Exception):
    """The image is refused. ``reason`` is a message for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UnsupportedImage(UnsafeImage):
    """The image is refused because its format/features are not supported
    (not because it is dangerous): encrypted, VHDX, VDI, ..."""


@dataclass(frozen=True)
class InspectResult:
    """What an image is.

    ``format`` is the product name (raw, qcow2, vmdk, vhd; ``qemu_format``
    gives qemu's driver name), ``virtual_size`` the guest-visible size in
    bytes, ``reasons`` the evidence for the verdict in plain words, and
    ``facts`` format details worth keeping (e.g. in a manifest).
    """

    format: str
    virtual_size: int
    reasons: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    file_size: int = 0

    @property
    def qemu_format(self) -> str:
        return qemu_img.qemu_format(self.format)


# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------


class _Image:
    """Bounded random access to the file being inspected."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at end of file)."""
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        length = min(length, self.size - offset)
        parts = []
        while length > 0:
            block = os.pread(self.fd, length, offset)
            if not block:
                break
            parts.append(block)
            offset += len(block)
            length -= len(block)
        return b"".join(parts)

    def read_exact(self, offset: int, length: int, what: str) -> bytes:
        data = self.read(offset, length)
        if len(data) != length:
            raise UnsafeImage(f"malformed image: {what} lies beyond the end of the file")
        return data


def _human(n: int) -> str:
    for unit, size in (("TiB", TiB), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} bytes"


def _check_size(fmt: str, size: int, limit: int) -> None:
    if size > limit:
        raise UnsafeImage(
            f"{fmt} image declares a virtual size of {_human(size)} ({size} bytes), more than the {_human(limit)} limit"
        )
    if size <= 0:
        raise UnsafeImage(f"{fmt} image has no content (virtual size {size})")


# --------------------------------------------------------------------------
# qcow2
# --------------------------------------------------------------------------

_QCOW_MAGIC = b"QFI\xfb"
_QCOW2_FIELDS = struct.Struct(">IIQIIQIIQQIIQ")  # magic .. snapshots_offset (72 bytes)
_QCOW3_FIELDS = struct.Struct(">QQQII")  # features, refcount_order, header_length

_QCOW_INCOMPAT_DIRTY = 1 << 0
_QCOW_INCOMPAT_CORRUPT = 1 << 1
_QCOW_INCOMPAT_DATA_FILE = 1 << 2
_QCOW_INCOMPAT_COMPRESSION = 1 << 3
_QCOW_INCOMPAT_EXTL2 = 1 << 4
_QCOW_INCOMPAT_KNOWN = (
    _QCOW_INCOMPAT_DIRTY
    | _QCOW_INCOMPAT_CORRUPT
    | _QCOW_INCOMPAT_DATA_FILE
    | _QCOW_INCOMPAT_COMPRESSION
    | _QCOW_INCOMPAT_EXTL2
)

_EXT_END = 0x00000000
_EXT_BACKING_FORMAT = 0xE2792ACA
_EXT_FEATURE_TABLE = 0x6803F857
_EXT_CRYPTO = 0x0537BE77
_EXT_BITMAPS = 0x23852875
_EXT_DATA_FILE = 0x44415441


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _inspect_qcow2(img: _Image, head: bytes, limit: int) -> InspectResult:
    if len(head) < _QCOW2_FIELDS.size:
        raise UnsafeImage("malformed qcow2 image: header is truncated")
    (
        _magic,
        version,
        backing_offset,
        backing_size,
        cluster_bits,
        size,
        crypt_method,
        _l1_size,
        _l1_offset,
        _refcount_offset,
        _refcount_clusters,
        nb_snapshots,
        _snapshots_offset,
    ) = _QCOW2_FIELDS.unpack_from(head)
    if version == 1:
        raise UnsupportedImage("qcow (version 1) images are not supported; convert to qcow2 first")
    if version not in (2, 3):
        raise UnsafeImage(f"qcow2 image has unknown version {version}")

    reasons = ["qcow2 magic 'QFI\\xfb' at offset 0", f"qcow2 version {version}"]

    # A backing file makes qemu open another file (or a json: spec: any
    # driver, any host file) underneath this one. Never.
    if backing_offset or backing_size:
        name = ""
        if 0 < backing_size <= 1023:
            name = _text(img.read(backing_offset, backing_size))
        kind = "a json: backing specification" if name.startswith("json:") else "a backing file"
        shown = f" ({name!r})" if name else ""
        raise UnsafeImage(
            f"qcow2 image refers to {kind}{shown}; only self-contained images are accepted "
            "(flatten it first, e.g. 'qemu-img convert -O qcow2 in.qcow2 out.qcow2')"
        )

    if not 9 <= cluster_bits <= 21:
        raise UnsafeImage(f"malformed qcow2 image: cluster_bits {cluster_bits} out of range 9..21")
    cluster_size = 1 << cluster_bits

    if crypt_method != 0:
        raise UnsupportedImage("encrypted qcow2 images are not supported; decrypt it first")

    incompatible = 0
    header_length = 72
    if version == 3:
        if len(head) < 104:
            raise UnsafeImage("malformed qcow2 v3 image: header is truncated")
        incompatible, _compatible, _autoclear, _refcount_order, header_length = _QCOW3_FIELDS.unpack_from(head, 72)
        if header_length < 104 or header_length % 8 or header_length > cluster_size:
            raise UnsafeImage(f"malformed qcow2 image: header length {header_length}")
        if incompatible & _QCOW_INCOMPAT_DATA_FILE:
            raise UnsafeImage(
                "qcow2 image keeps its data in an external data file; only self-contained images are accepted"
            )
        if incompatible & _QCOW_INCOMPAT_CORRUPT:
            raise UnsupportedImage("qcow2 image is marked corrupt; repair it with 'qemu-img check -r all' first")
        unknown = incompatible & ~_QCOW_INCOMPAT_KNOWN
        if unknown:
            raise UnsupportedImage(f"qcow2 image uses unknown incompatible features (bits {unknown:#x})")

    # Header extensions run from the end of the header to the end of the
    # first cluster (qemu's rule), each 8-byte aligned.
    first_cluster = head if len(head) >= cluster_size else img.read(0, cluster_size)
    end = min(cluster_size, len(first_cluster))
    offset = header_length
    seen = []
    while offset + 8 <= end:
        ext_type, ext_len = struct.unpack_from(">II", first_cluster, offset)
        offset += 8
        if ext_type == _EXT_END:
            break
        if offset + ext_len > end:
            raise UnsafeImage("malformed qcow2 image: header extension runs past the first cluster")
        data = first_cluster[offset : offset + ext_len]
        if ext_type == _EXT_DATA_FILE:
            raise UnsafeImage(
                f"qcow2 image names an external data file ({_text(data)!r}); only self-contained images are accepted"
            )
        if ext_type == _EXT_BACKING_FORMAT:
            raise UnsafeImage("qcow2 image carries a backing-format extension (it was made as an overlay)")
        if ext_type == _EXT_CRYPTO:
            raise UnsupportedImage("encrypted qcow2 images are not supported; decrypt it first")
        seen.append(ext_type)
        offset += (ext_len + 7) & ~7
    _check_size("qcow2", size, limit)
    reasons += ["no backing file", "no external data file"]
    facts: dict[str, Any] = {"qcow2_version": version, "cluster_size": cluster_size}
    if nb_snapshots:
        facts["internal_snapshots"] = nb_snapshots
        reasons.append(f"{nb_snapshots} internal snapshot(s) (ignored: the active state is imported)")
    if _EXT_BITMAPS in seen:
        facts["bitmaps"] = True
    if incompatible & _QCOW_INCOMPAT_DIRTY:
        reasons.append("dirty flag set (refcounts may need repair)")
    return InspectResult("qcow2", size, tuple(reasons), facts, img.size)


# --------------------------------------------------------------------------
# VMDK
# --------------------------------------------------------------------------

_VMDK_MAGIC = b"KDMV"
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


def _looks_like_descriptor(head: bytes) -> bool:
    """A text VMDK descriptor (the small file that names extent files)."""
    text = head.split(b"\0", 1)[0][:_HEAD_SIZE]
    if text.lstrip().startswith(b"# Disk DescriptorFile"):
        return True
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return False
    return _CREATE_TYPE_RE.search(decoded) is not None and _EXTENT_RE.search(decoded) is not None


def _reject_descriptor_file(head: bytes) -> None:
    create_type, extents = _parse_descriptor(head.split(b"\0", 1)[0].decode("utf-8", "replace"))
    files = [f for _, f in extents if f]
    refs = f" referencing {', '.join(repr(f) for f in files)}" if files else ""
    raise UnsafeImage(
        f"this is a VMDK descriptor file (createType={create_type or 'unknown'}){refs}: descriptor files "
        "point at other files and are refused; upload a single-file VMDK "
        f"({' or '.join(_VMDK_ACCEPTED_TYPES)})"
    )


def _inspect_vmdk(img: _Image, head: bytes, limit: int) -> InspectResult:
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
        if img.size < 3 * _SECTOR:
            raise UnsafeImage("malformed VMDK image: footer missing")
        tail = img.read_exact(img.size - 3 * _SECTOR, 3 * _SECTOR, "VMDK footer")
        _val, marker_size, marker_type = struct.unpack_from("<QII", tail, 0)
        footer = tail[_SECTOR : 2 * _SECTOR]
        eos_val, eos_size, eos_type = struct.unpack_from("<QII", tail, 2 * _SECTOR)
        if (
            footer[:4] != _VMDK_MAGIC
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
        if desc_size * _SECTOR > _VMDK_MAX_DESCRIPTOR:
            raise UnsafeImage(f"malformed VMDK image: embedded descriptor of {desc_size} sectors")
        text = _text(img.read_exact(desc_offset * _SECTOR, desc_size * _SECTOR, "VMDK descriptor"))
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

    size = capacity * _SECTOR
    _check_size("vmdk", size, limit)
    reasons.append("no parent disk, no external extents")
    return InspectResult("vmdk", size, tuple(reasons), facts, img.size)


# --------------------------------------------------------------------------
# VHD
# --------------------------------------------------------------------------

_VHD_COOKIE = b"conectix"
_VHD_FOOTER = struct.Struct(">8sIIQI4sI4sQQHBBII16sB")
_VHD_FIXED, _VHD_DYNAMIC, _VHD_DIFFERENCING = 2, 3, 4
_VHD_MAX_GEOMETRY = 65535 * 16 * 255
# Creator apps whose footer "current size" qemu trusts over the CHS geometry.
_VHD_CURRENT_SIZE_CREATORS = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0")


def _vhd_checksum(footer: bytes) -> int:
    body = footer[:64] + b"\0\0\0\0" + footer[68:]
    return ~sum(body) & 0xFFFFFFFF


def _inspect_vhd(img: _Image, footer: bytes, at_start: bool, limit: int) -> InspectResult:
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
        if block_size < _SECTOR or block_size & (block_size - 1):
            raise UnsafeImage(f"malformed dynamic VHD: block size {block_size}")
        facts["vhd_block_size"] = block_size
    reasons.append(f"{facts['vhd_type']} VHD")

    # Size as qemu computes it: the CHS geometry, unless the creator is one
    # known to use the "current size" field, or the geometry is maxed out.
    chs_sectors = cyls * heads * secs
    if creator_app in _VHD_CURRENT_SIZE_CREATORS or chs_sectors == _VHD_MAX_GEOMETRY:
        size = (current_size // _SECTOR) * _SECTOR
    else:
        size = chs_sectors * _SECTOR
    _check_size("vhd", size, limit)
    return InspectResult("vhd", size, tuple(reasons), facts, img.size)


# --------------------------------------------------------------------------
# Formats refused as unsupported
# --------------------------------------------------------------------------


def _unsupported_format(head: bytes) -> str | None:
    """Name of a known disk format localcvm does not import, if ``head`` is one."""
    if head.startswith(b"vhdxfile"):
        return "VHDX"
    if head.startswith(b"QED\0"):
        return "QED"
    if head.startswith(b"LUKS\xba\xbe"):
        return "LUKS-encrypted"
    if len(head) >= 0x44 and struct.unpack_from("<I", head, 0x40)[0] == 0xBEDA107F:
        return "VirtualBox VDI"
    if head.startswith(b"COWD"):
        return "VMware ESX COW (VMDK3)"
    if head.startswith((b"WithoutFreeSpace", b"WithouFreSpacExt")):
        return "Parallels"
    if head.startswith(b"Bochs Virtual HD Image"):
        return "Bochs"
    return None


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def _open_regular(path: str | os.PathLike[str]) -> tuple[int, int]:
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeImage("the image path is a symbolic link; refused") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafeImage("the image is not a regular file")
    return fd, st.st_size


def detect_format(path: str | os.PathLike[str], *, max_virtual_size: int = DEFAULT_MAX_VIRTUAL_SIZE) -> InspectResult:
    """Decide the format from the header bytes alone (no qemu involved).

    Raises UnsafeImage (or its subclass UnsupportedImage) with a message
    for the user when the image must not be imported.
    """
    fd, size = _open_regular(path)
    try:
        img = _Image(fd, size)
        if size == 0:
            raise UnsafeImage("the image file is empty")
        head = img.read(0, _HEAD_SIZE)
        if head.startswith(_QCOW_MAGIC):
            return _inspect_qcow2(img, head, max_virtual_size)
        if head.startswith(_VMDK_MAGIC):
            return _inspect_vmdk(img, head, max_virtual_size)
        if head.startswith(_VHD_COOKIE):
            return _inspect_vhd(img, head[:512], True, max_virtual_size)
        name = _unsupported_format(head)
        if name:
            raise UnsupportedImage(f"{name} images are not supported; convert it to qcow2, vmdk, vhd or raw first")
        if _looks_like_descriptor(head):
            _reject_descriptor_file(head)
        if size >= 512:
            tail = img.read(size - 512, 512)
            if tail.startswith(_VHD_COOKIE):
                return _inspect_vhd(img, tail, False, max_virtual_size)
        _check_size("raw", size, max_virtual_size)
        return InspectResult("raw", size, ("no known image header: treated as a raw disk",), {}, size)
    finally:
        os.close(fd)


def verify_with_qemu(path: str | os.PathLike[str], result: InspectResult) -> InspectResult:
    """Ask ``qemu-img info -f <detected>`` whether it agrees with ``result``.

    Raises UnsafeImage when qemu cannot open the image in that format, sees
    a backing or data file, other VMDK extents, or another virtual size.
    Returns ``result`` with a reason added.
    """
    fmt = result.qemu_format
    try:
        info = qemu_img.info(path, fmt)
    except qemu_img.QemuImgError as exc:
        raise UnsafeImage(f"qemu-img cannot read the image as {result.format}: {exc.stderr or exc}") from None
    if info.format != fmt:
        raise UnsafeImage(f"qemu-img reads the image as {info.format!r}, not {fmt!r}")
    if info.backing_file:
        raise UnsafeImage(f"qemu-img reports a backing file ({info.backing_file!r}); refused")
    if info.data_file:
        raise UnsafeImage(f"qemu-img reports an external data file ({info.data_file!r}); refused")
    if fmt == "vmdk":
        own = os.path.realpath(path)
        for extent in (info.format_specific.get("data") or {}).get("extents", []):
            name = extent.get("filename")
            if name and os.path.realpath(name) != own:
                raise UnsafeImage(f"qemu-img reports a VMDK extent in another file ({name!r}); refused")
    if info.virtual_size != result.virtual_size:
        raise UnsafeImage(
            f"qemu-img reports a virtual size of {info.virtual_size} bytes, "
            f"the image header says {result.virtual_size}; refused"
        )
    return dataclasses.replace(result, reasons=result.reasons + ("qemu-img info agrees",))


def inspect_image(
    path: str | os.PathLike[str],
    *,
    max_virtual_size: int = DEFAULT_MAX_VIRTUAL_SIZE,
    check_with_qemu: bool = True,
) -> InspectResult:
    """Inspect an untrusted image: header checks in Python first, then (if
    ``check_with_qemu``) a confirming ``qemu-img info`` with the detected
    format. Raises UnsafeImage/UnsupportedImage with a user-facing reason."""
    result = detect_format(path, max_virtual_size=max_virtual_size)
    if check_with_qemu:
        result = verify_with_qemu(path, result)
    return result
