"""Disk image handling: a resource-limited qemu-img wrapper, the safe
inspection of untrusted uploads, and the disk files of launched instances.

Layout (low level: it must not import ``localcvm.store``, ``localcvm.api`` or
``localcvm.services``)::

    qemu_img.py   info / convert / compare / create / resize / map_extents, under resource limits
    inspect.py    inspect_image(path) -> InspectResult (or UnsafeImage): opens the file and
                  dispatches on its header to qcow2.py, vmdk.py, vhd.py; probe.py holds what
                  they share (InspectResult, UnsafeImage, UnsupportedImage, bounded reads)
    qcow2_read.py   open_qcow2(fd): a plain qcow2 read as raw guest bytes from its clusters
    mapped_read.py  open_mapped(fd, path, fmt, size): VMDK/VHD (or any image) read as raw guest
                  bytes from where ``qemu-img map`` shows its data stored uncompressed
    volumes.py    Volumes (qcow2 overlays over raw bases materialised from chunk manifests),
                  capture_chunks (a disk's contents back into chunks), GIB
    public_disk.py  the bytes of a public image's system disk (an MBR, one partition, a label)

Public API::

    qemu_img.info(path, fmt) -> ImageInfo
    qemu_img.convert(src, src_fmt, dst, dst_fmt, progress=None)
    qemu_img.compare(a, fmt_a, b, fmt_b) -> bool
    qemu_img.create(path, fmt, size, backing=None, backing_fmt=None)
    inspect_image(path, max_virtual_size=...) -> InspectResult   (or UnsafeImage)
"""

from __future__ import annotations

from . import qemu_img
from .inspect import (
    DEFAULT_MAX_VIRTUAL_SIZE,
    InspectResult,
    UnsafeImage,
    UnsupportedImage,
    detect_format,
    inspect_image,
    verify_with_qemu,
)
from .qemu_img import ImageInfo, Limits, QemuImgError, QemuImgTimeout, compare, convert, create, info, qemu_format

__all__ = [
    "DEFAULT_MAX_VIRTUAL_SIZE",
    "ImageInfo",
    "InspectResult",
    "Limits",
    "QemuImgError",
    "QemuImgTimeout",
    "UnsafeImage",
    "UnsupportedImage",
    "compare",
    "convert",
    "create",
    "detect_format",
    "info",
    "inspect_image",
    "qemu_format",
    "qemu_img",
    "verify_with_qemu",
]
