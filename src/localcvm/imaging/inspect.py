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

Layout: this module opens the file and dispatches on its header bytes to
``qcow2.py``, ``vmdk.py`` or ``vhd.py``; ``probe.py`` holds what they share
(the verdict types, bounded reads).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
import struct

from . import qemu_img
from .probe import (
    DEFAULT_MAX_VIRTUAL_SIZE,
    HEAD_SIZE,
    ImageFile,
    InspectResult,
    UnsafeImage,
    UnsupportedImage,
    check_size,
)
from .qcow2 import QCOW_MAGIC, inspect_qcow2
from .vhd import VHD_COOKIE, inspect_vhd
from .vmdk import VMDK_MAGIC, inspect_vmdk, looks_like_descriptor, reject_descriptor_file

__all__ = [
    "DEFAULT_MAX_VIRTUAL_SIZE",
    "InspectResult",
    "UnsafeImage",
    "UnsupportedImage",
    "detect_format",
    "inspect_image",
    "inspect_qcow2_head",
    "is_vhd_footer",
    "streams_as_raw",
    "verify_with_qemu",
]


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
        img = ImageFile(fd, size)
        if size == 0:
            raise UnsafeImage("the image file is empty")
        head = img.read(0, HEAD_SIZE)
        if head.startswith(QCOW_MAGIC):
            return inspect_qcow2(img, head, max_virtual_size)
        if head.startswith(VMDK_MAGIC):
            return inspect_vmdk(img, head, max_virtual_size)
        if head.startswith(VHD_COOKIE):
            return inspect_vhd(img, head[:512], True, max_virtual_size)
        name = _unsupported_format(head)
        if name:
            raise UnsupportedImage(f"{name} images are not supported; convert it to qcow2, vmdk, vhd or raw first")
        if looks_like_descriptor(head):
            reject_descriptor_file(head)
        if size >= 512:
            tail = img.read(size - 512, 512)
            if tail.startswith(VHD_COOKIE):
                return inspect_vhd(img, tail, False, max_virtual_size)
        check_size("raw", size, max_virtual_size)
        return InspectResult("raw", size, ("no known image header: treated as a raw disk",), {}, size)
    finally:
        os.close(fd)


def streams_as_raw(head: bytes) -> bool:
    """True when a file's first bytes show no image header, so it may be read as a raw disk while it
    arrives (its last 512 bytes must still not be a VHD footer: ``is_vhd_footer``). An image with
    any known header, supported or not, is False: it is inspected as a whole file."""
    return not (head.startswith((QCOW_MAGIC, VMDK_MAGIC, VHD_COOKIE)) or _unsupported_format(head)
                or looks_like_descriptor(head))


def inspect_qcow2_head(head: bytes, *, max_virtual_size: int = DEFAULT_MAX_VIRTUAL_SIZE) -> InspectResult | None:
    """The header checks of a qcow2 from its first bytes alone (a download still arriving): the
    same refusals as ``inspect_image`` (backing or data files, encryption, unknown features,
    size). None when ``head`` is not a qcow2's."""
    if not head.startswith(QCOW_MAGIC):
        return None
    fd = os.memfd_create("qcow2-head", os.MFD_CLOEXEC)
    try:
        os.write(fd, head)
        return inspect_qcow2(ImageFile(fd, len(head)), head, max_virtual_size)
    finally:
        os.close(fd)


def is_vhd_footer(tail: bytes) -> bool:
    """Whether the last 512 bytes of a file are a (fixed) VHD's footer."""
    return tail.startswith(VHD_COOKIE)


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
    if fmt == "raw" and info.virtual_size == -(-result.virtual_size // 512) * 512:
        # a raw file has no header; qemu-img reads one whose size is not a multiple of 512 bytes
        # as a disk of whole sectors, the last one padded with zeros
        return dataclasses.replace(result, reasons=result.reasons + ("qemu-img info agrees",))
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
