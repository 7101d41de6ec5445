"""A cpio "newc" archive writer for the initramfs, with every entry owned by root.

Written here rather than with the ``cpio`` tool so the archive's owners and its /dev/console node do
not depend on who runs the build (no root needed to make a device node inside an archive).
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path


def _entry(ino: int, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> bytes:
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def write_initramfs(tree: Path, out: Path) -> None:
    """Pack ``tree`` (files, directories, symlinks) plus /dev/console into a gzip'd newc archive."""
    parts = []
    ino = 1
    for root, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = Path(root) / name
            rel = str(path.relative_to(tree))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                parts.append(_entry(ino, rel, stat.S_IFLNK | 0o777, os.readlink(path).encode()))
            elif stat.S_ISDIR(st.st_mode):
                parts.append(_entry(ino, rel, stat.S_IFDIR | 0o755))
            else:
                parts.append(_entry(ino, rel, stat.S_IFREG | (st.st_mode & 0o777), path.read_bytes()))
            ino += 1
    if not (tree / "dev").is_dir():
        parts.append(_entry(ino, "dev", stat.S_IFDIR | 0o755))
        ino += 1
    parts.append(_entry(ino, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    parts.append(_entry(ino + 1, "TRAILER!!!", 0))
    # mtime 0 in the gzip header too, so the same tree gives the same bytes
    out.write_bytes(gzip.compress(b"".join(parts), compresslevel=6, mtime=0))
