"""Zero-copy region copies: chunks taken from another local store by hard links.

Chunks are immutable and named by their hash, so when two regions' stores sit on
one file system (the embedded default: every region under one data dir), the
destination can take the chunks it lacks as new names for the same inodes:
``link(2)`` moves no byte, is atomic, and the copy is as independent as a byte
copy on that disk:

* a loose chunk file is only ever replaced (a new inode renamed over the name)
  or unlinked, never changed in place, so either side may delete its name;
* a sealed pack is changed in place only by gc punching out deleted records,
  and ``PackSet.delete`` first gives its name a private copy when the inode has
  other links (``fsio.unshare``), under the pack's exclusive ``flock``; linking
  holds the shared lock, so a punch and a link never interleave;
* every read still verifies the chunk's hash.

A pack is linked whole, so the destination may also receive chunks it does not
need; its gc removes them (after unsharing) like any other unreferenced chunk.
Durability is the byte copy's: the new names are flushed (``syncfs``) before the
caller writes the manifest, and a copy killed half-way finds the links it made
(``touch``) when it runs again.
"""

from __future__ import annotations

import errno
import fcntl
import os
from typing import TYPE_CHECKING

from ..fsio import syncfs

if TYPE_CHECKING:  # pragma: no cover
    from .local import LocalChunkStore

__all__ = ["link_missing_chunks", "same_filesystem"]

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def same_filesystem(a: str, b: str) -> bool:
    """Whether two store roots are on one file system (hard links between them work)."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def link_missing_chunks(src: LocalChunkStore, dst: LocalChunkStore,
                        wanted: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Link the ``wanted`` chunks (digest, length) that ``dst`` lacks from ``src``; return the ones
    still missing (for the byte copy: a chunk deleted or unshared meanwhile, a name taken)."""
    missing = [(d, n) for d, n in wanted if not dst.touch(d, n)]
    packs: set[str] = set()
    loose_linked = False
    for digest, _length in missing:
        loc = src.packs.locate(digest)
        if loc is not None:
            packs.add(loc.pack)
        else:
            loose_linked |= _link_loose(src, dst, digest)
    linked_packs = [p for p in sorted(packs) if _link_pack(src, dst, p)]
    if not linked_packs and not loose_linked:
        return missing
    dst.packs.refresh()
    # The new names are durable before any manifest names them (the linked inodes already are):
    # a pack's name is one entry of the packs directory; loose links span many directories.
    if loose_linked:
        syncfs(dst.packs.dir_fd)
    else:
        os.fsync(dst.packs.dir_fd)
    # A linked pack's index was read under the pack's lock (exact); loose links are checked on disk.
    return [(d, n) for d, n in missing if not dst.packs.has(d, n) and not dst.touch(d, n)]


def _link_loose(src: LocalChunkStore, dst: LocalChunkStore, digest: str) -> bool:
    try:
        sd = src.chunk_dir(digest, create=False)
    except FileNotFoundError:
        return False
    try:
        dd = dst.chunk_dir(digest, create=True)
        try:
            os.link(digest, digest, src_dir_fd=sd, dst_dir_fd=dd, follow_symlinks=False)
            return True
        except (FileExistsError, FileNotFoundError):
            return False  # a short leftover in dst (put replaces it) or deleted meanwhile
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                return False
            raise
        finally:
            os.close(dd)
    finally:
        os.close(sd)


def _link_pack(src: LocalChunkStore, dst: LocalChunkStore, pack_id: str) -> bool:
    """Link a sealed pack of ``src`` (and its index, when it has one) into ``dst`` under the same
    names, holding the pack's shared lock; then mark it recent for ``dst``'s gc grace period."""
    if not src.packs.is_sealed(pack_id):
        return False
    name, src_fd, dst_fd = f"{pack_id}.pack", src.packs.dir_fd, dst.packs.dir_fd
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=src_fd)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        held = os.fstat(fd)
        now = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            return False  # unshared by a gc meanwhile: copy the bytes instead
        os.link(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
        # An index is only ever replaced whole or removed (before a punch, under the exclusive
        # lock): under the shared lock it is exact, and sharing its inode is safe.
        try:
            os.link(f"{pack_id}.idx", f"{pack_id}.idx", src_dir_fd=src_fd, dst_dir_fd=dst_fd,
                    follow_symlinks=False)
        except (FileExistsError, FileNotFoundError):
            pass  # dst rebuilds it from the records' headers
        os.utime(fd)  # recent for dst's gc grace period (for src's too: it only keeps chunks longer)
        return True
    except (FileExistsError, FileNotFoundError):
        return False
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            return False  # another file system after all, or links not allowed here
        raise
    finally:
        os.close(fd)
