"""Small file-system calls shared by the chunk stores (``blobs``), the disk
files (``imaging.volumes``) and the hypervisor drivers: a utility layer that
imports nothing from localcvm.

The libc calls Python's ``os`` module lacks (``syncfs``, ``fallocate`` with
flags) go through one lazily loaded ``ctypes`` handle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import stat
import uuid

__all__ = ["allocated_bytes", "copy_data", "fsync_dir", "pread_into", "punch_hole", "start_writeback", "syncfs", "unshare",
           "write_json_atomic"]

_O_DIRECT = getattr(os, "O_DIRECT", 0)
_PUNCH = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_LIBC: ctypes.CDLL | bool | None = None


def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            lib.syncfs.argtypes = [ctypes.c_int]
            lib.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
            _LIBC = lib
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC or None


def syncfs(fd: int) -> None:
    """``syncfs(2)`` on the filesystem holding ``fd`` (falls back to ``sync(2)``)."""
    lib = _libc()
    if lib is not None and lib.syncfs(fd) == 0:
        return
    os.sync()


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync the directory at ``path``: makes the renames, links and unlinks done in it durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def punch_hole(fd: int, offset: int, length: int) -> bool:
    """Free ``length`` bytes at ``offset`` (they read back as zeros); False if the filesystem cannot."""
    lib = _libc()
    if lib is None:
        return False
    if lib.fallocate(fd, _PUNCH, offset, length) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err))


def start_writeback(fd: int, offset: int = 0, length: int = 0) -> None:
    """Start writing ``fd``'s dirty pages in the range (0, 0 = whole file) to the device, without waiting.

    Chunks are made durable in one batch (``syncfs`` or a pack's fsync);
    left alone, the kernel holds their dirty pages until then (or its 30 s
    timer), so the whole write-back happens at the end, after the copy.
    Started per chunk, it overlaps with the copying and the final flush
    finds little left to do. ``POSIX_FADV_DONTNEED`` on Linux starts an
    asynchronous write-back of the dirty range (then drops only pages
    already clean: none, for data just written), the portable spelling of
    ``sync_file_range(WRITE)``.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        try:
            advise(fd, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass  # only a hint


def pread_into(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``fd`` at ``offset`` (stops early at end of file); return the bytes read.

    If ``fd`` is open with ``O_DIRECT`` and the buffer or length is not
    aligned the way the device wants (EINVAL), carry on with buffered reads.
    """
    got = 0
    while got < len(view):
        try:
            n = os.preadv(fd, [view[got:]], offset + got)
        except OSError as exc:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            if exc.errno != errno.EINVAL or not flags & _O_DIRECT:
                raise
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
            continue
        if n == 0:
            break
        got += n
    return got


def allocated_bytes(dir_fd: int) -> int:
    """Disk space (allocated blocks) of the regular files directly in ``dir_fd``."""
    total = 0
    with os.scandir(dir_fd) as entries:
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_blocks * 512
    return total


def copy_data(src_fd: int, dst_fd: int, size: int) -> None:
    """Copy ``size`` bytes of ``src_fd`` into ``dst_fd`` inside the kernel (``copy_file_range``),
    data extents only: holes of the source stay holes (``SEEK_DATA``/``SEEK_HOLE``)."""
    os.ftruncate(dst_fd, size)
    pos = 0
    while pos < size:
        try:
            start = os.lseek(src_fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                return
            raise
        end = min(os.lseek(src_fd, start, os.SEEK_HOLE), size)
        while start < end:
            n = os.copy_file_range(src_fd, dst_fd, end - start, start, start)
            if n == 0:
                return
            start += n
        pos = end


def unshare(dir_fd: int, name: str, fd: int) -> int:
    """Give ``name`` (open as ``fd``, read-write) an inode of its own when other hard links share
    it: a private copy replaces it atomically, so changing it in place (punching holes) leaves
    the other links' bytes untouched. Returns the fd to change (``fd`` itself when it was
    private, else the copy's, and ``fd`` is closed). The caller holds the file's lock."""
    st = os.fstat(fd)
    if st.st_nlink <= 1:
        return fd
    tmp = f".{name}.unshare.tmp"
    new = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444, dir_fd=dir_fd)
    fcntl.flock(new, fcntl.LOCK_EX)  # before it has the name: nobody links it meanwhile
    try:
        copy_data(fd, new, st.st_size)
        os.fsync(new)
        os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except BaseException:
        os.close(new)
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise
    os.close(fd)
    return new


def write_json_atomic(path: os.PathLike[str] | str, obj) -> None:
    """Replace ``path`` with ``obj`` as JSON, atomically and durably (a temp file beside it, fsync,
    rename, fsync of the directory): a reader sees the old content or the new, never half."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w") as fh:
            json.dump(obj, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    fsync_dir(folder or ".")
