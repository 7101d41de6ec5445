"""qcow2 (v2/v3) header checks: self-contained and unencrypted, or refused.

The layout follows QEMU's qcow2 specification (docs/interop/qcow2.txt).
"""

from __future__ import annotations

import struct
from typing import Any

from .probe import ImageFile, InspectResult, UnsafeImage, UnsupportedImage, c_string, check_size

__all__ = ["QCOW_MAGIC", "inspect_qcow2"]

QCOW_MAGIC = b"QFI\xfb"
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


def inspect_qcow2(img: ImageFile, head: bytes, limit: int) -> InspectResult:
    """The verdict on a file starting with the qcow2 magic (``head``: its first bytes)."""
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
    _refuse_backing_file(img, backing_offset, backing_size)

    if not 9 <= cluster_bits <= 21:
        raise UnsafeImage(f"malformed qcow2 image: cluster_bits {cluster_bits} out of range 9..21")
    cluster_size = 1 << cluster_bits

    if crypt_method != 0:
        raise UnsupportedImage("encrypted qcow2 images are not supported; decrypt it first")

    incompatible, header_length = _v3_features(head, cluster_size) if version == 3 else (0, 72)
    seen = _header_extensions(img, head, header_length, cluster_size)
    check_size("qcow2", size, limit)
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


def _refuse_backing_file(img: ImageFile, backing_offset: int, backing_size: int) -> None:
    """A backing file makes qemu open another file (or a json: spec: any driver, any host file)
    underneath this one. Never."""
    if not (backing_offset or backing_size):
        return
    name = ""
    if 0 < backing_size <= 1023:
        name = c_string(img.read(backing_offset, backing_size))
    kind = "a json: backing specification" if name.startswith("json:") else "a backing file"
    shown = f" ({name!r})" if name else ""
    raise UnsafeImage(
        f"qcow2 image refers to {kind}{shown}; only self-contained images are accepted "
        "(flatten it first, e.g. 'qemu-img convert -O qcow2 in.qcow2 out.qcow2')"
    )


def _v3_features(head: bytes, cluster_size: int) -> tuple[int, int]:
    """``(incompatible feature bits, header length)`` of a version 3 header, refusing external
    data files, images marked corrupt and features this checker does not know."""
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
    return incompatible, header_length


def _header_extensions(img: ImageFile, head: bytes, header_length: int, cluster_size: int) -> list[int]:
    """The types of the header extensions, refusing those that name other files or encryption.

    They run from the end of the header to the end of the first cluster
    (qemu's rule), each 8-byte aligned.
    """
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
                f"qcow2 image names an external data file ({c_string(data)!r}); only self-contained images are accepted"
            )
        if ext_type == _EXT_BACKING_FORMAT:
            raise UnsafeImage("qcow2 image carries a backing-format extension (it was made as an overlay)")
        if ext_type == _EXT_CRYPTO:
            raise UnsupportedImage("encrypted qcow2 images are not supported; decrypt it first")
        seen.append(ext_type)
        offset += (ext_len + 7) & ~7
    return seen
