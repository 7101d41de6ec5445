"""What every format inspector shares: the verdict types and bounded reads of the file.

``inspect.py`` dispatches on the header bytes to ``qcow2.py``, ``vmdk.py`` and
``vhd.py``; each returns an ``InspectResult`` or raises ``UnsafeImage`` /
``UnsupportedImage`` with a message for the user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import qemu_img

__all__ = [
    "DEFAULT_MAX_VIRTUAL_SIZE",
    "HEAD_SIZE",
    "SECTOR",
    "TiB",
    "ImageFile",
    "InspectResult",
    "UnsafeImage",
    "UnsupportedImage",
    "c_string",
    "check_size",
    "human_size",
]

TiB = 1 << 40
#: Largest virtual disk accepted unless the caller says otherwise.
DEFAULT_MAX_VIRTUAL_SIZE = 2 * TiB

#: How much of the file's start the dispatcher reads to tell the format.
HEAD_SIZE = 64 * 1024
SECTOR = 512


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


class ImageFile:
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


def human_size(n: int) -> str:
    for unit, size in (("TiB", TiB), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} bytes"


def check_size(fmt: str, size: int, limit: int) -> None:
    if size > limit:
        raise UnsafeImage(
            f"{fmt} image declares a virtual size of {human_size(size)} ({size} bytes), more than the {human_size(limit)} limit"
        )
    if size <= 0:
        raise UnsafeImage(f"{fmt} image has no content (virtual size {size})")


def c_string(raw: bytes) -> str:
    """A NUL-terminated string field, decoded leniently."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
