"""A chunk store in a local directory.

Layout under the store's root (one root per region, e.g.
``<data>/blobs/<region>``)::

    chunks/ab/cd/abcd...64 hex...     one immutable file per chunk (``put``)
    packs/<id>.pack, <id>.idx         many chunks per file (bulk ``writer()``, see blobs.packs)

(Stores made by older versions also hold an empty ``manifests/`` directory;
nothing uses it: manifests live in the database.)

Durability: every file is written to a temporary name in its final
directory and renamed over its final name (``os.replace``, atomic), so a
process killed at any point (kill -9) leaves a name holding either nothing or
the complete content. Chunk data is made durable in one batch: ``sync()``
(which ``write_image`` and the copy call before any manifest may name the
chunks) flushes the whole filesystem once (``syncfs``)
instead of one fsync per chunk, the way ``cp`` + ``sync`` does. A chunk
written after the last ``sync()`` may come back short after a power loss;
``touch(digest, length)`` treats a wrong-sized file as absent (so it is
written again) and every read verifies the hash. Each chunk's write-back starts as soon as it is written (so that
``sync()`` finds little left to do); ``read_into`` reads with ``O_DIRECT``
into the caller's aligned buffer where the filesystem allows it. Leftover temporaries
(``.*.tmp``) are invisible to listings and removed by ``purge_temp`` (which
``gc`` calls). Bulk writes (``writer()``) go to pack files instead; see
``blobs.packs`` for their layout and crash rules.

Confinement: all access goes through directory file descriptors opened from
the root with ``O_NOFOLLOW``, never through path strings, so a symlink
planted anywhere below the root (a directory or a chunk) is refused rather
than followed out of it. Reads also verify every chunk's hash.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator

from .errors import ChunkCorrupt, ChunkMissing, ChunkStoreError
from .manifest import check_digest, verify_chunk
from .store import ChunkInfo, ChunkStore
from ..fsio import allocated_bytes, pread_into, start_writeback, syncfs
from .packs import PackSet, PackWriter

__all__ = ["LocalChunkStore"]

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_HEX2 = re.compile(r"[0-9a-f]{2}")
_TMP_SUFFIX = ".tmp"


class LocalChunkStore(ChunkStore):
    """Chunks in a directory tree (see the module docstring).

    ``root`` itself is resolved once, at construction (an operator may
    configure it through a symlink); nothing below it is ever followed.
    Set ``fsync=False`` only for throw-away stores: it drops the crash
    guarantees, not the atomicity of renames.
    """

    parallelism = 4

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True, create: bool = True) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self._fsync = fsync
        if create:
            os.makedirs(self.root, exist_ok=True)
        self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        self._closed = False
        self._lock = threading.Lock()
        self._dirty_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._dirty = False  # chunks put since the last sync()
        try:
            self._chunks_fd = self._open_dir(self._root_fd, "chunks", create=True)
            self._packs_fd = self._open_dir(self._root_fd, "packs", create=True)
            self._packs = PackSet(self._packs_fd, fsync=fsync, write_atomic=self._write_atomic, sync_fd=self._sync)
        except BaseException:
            os.close(self._root_fd)
            raise

    def __repr__(self) -> str:
        return f"LocalChunkStore({self.root!r})"

    @property
    def packs(self) -> PackSet:
        """The store's pack files (see blobs.packs)."""
        return self._packs

    def adopt_from(self, src: ChunkStore, wanted: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Take chunks of another local store on the same file system by hard links (no bytes
        move; see blobs.links); returns the ones left for a byte copy."""
        from .links import link_missing_chunks, same_filesystem

        if isinstance(src, LocalChunkStore) and same_filesystem(src.root, self.root):
            return link_missing_chunks(src, self, wanted)
        return wanted

    # -- directory plumbing -----------------------------------------------

    def _open_dir(self, parent_fd: int, name: str, *, create: bool, durable: bool = True) -> int:
        """Open ``name`` under ``parent_fd`` as a directory, refusing symlinks.

        With ``create`` a missing directory is made (and, if ``durable``, its
        parent fsynced so the new entry survives a crash; chunk directories
        leave that to ``sync()``). Raises FileNotFoundError when it is missing
        and ``create`` is false.
        """
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ChunkStoreError(
                    f"{self.root}: {name!r} is not a real directory (symlink?); refusing to follow it"
                ) from None
            raise
        try:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
            if durable:
                self._sync(parent_fd)
        except FileExistsError:  # another thread or process won the race
            pass
        return self._open_dir(parent_fd, name, create=False)

    def chunk_dir(self, digest: str, *, create: bool) -> int:
        """fd of ``chunks/ab/cd`` for ``digest`` (caller closes it)."""
        self._check_open()
        top = self._open_dir(self._chunks_fd, digest[0:2], create=create, durable=False)
        try:
            return self._open_dir(top, digest[2:4], create=create, durable=False)
        finally:
            os.close(top)

    def _sync(self, fd: int) -> None:
        if self._fsync:
            os.fsync(fd)

    def _check_open(self) -> None:
        if self._closed:
            raise ChunkStoreError(f"{self!r} is closed")

    def _write_atomic(
        self, dir_fd: int, name: str, data: bytes | bytearray | memoryview, *, sync_dir: bool = True,
        sync_file: bool = True,
    ) -> None:
        """Write ``data`` to ``name`` in ``dir_fd``: temp file, fsync, rename,
        then fsync the directory (unless the caller defers both to ``sync``)."""
        tmp = f".{name}.{os.getpid()}.{secrets.token_hex(6)}{_TMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o444, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if sync_file:
                    self._sync(fd)
                elif self._fsync:
                    start_writeback(fd)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
        if sync_dir:
            self._sync(dir_fd)

    def _read_regular(self, dir_fd: int, name: str) -> bytes:
        """Read a whole regular file without following a symlink."""
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=dir_fd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            parts = []
            want = st.st_size
            while True:
                # Ask for one byte more than expected to notice a file that grew.
                block = os.read(fd, max(want + 1, 1 << 16))
                if not block:
                    break
                parts.append(block)
                want = max(0, want - len(block))
            return parts[0] if len(parts) == 1 else b"".join(parts)
        finally:
            os.close(fd)

    def _lstat(self, dir_fd: int, name: str) -> os.stat_result:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)

    # -- chunks -----------------------------------------------------------

    def has(self, digest: str) -> bool:
        check_digest(digest)
        if self._packs.has(digest):
            return True
        try:
            d = self.chunk_dir(digest, create=False)
        except FileNotFoundError:
            return False
        try:
            return stat.S_ISREG(self._lstat(d, digest).st_mode)
        except FileNotFoundError:
            return False
        finally:
            os.close(d)

    def _stored_chunk_dir(self, digest: str) -> int:
        """fd of the directory holding ``digest`` (caller closes it); ChunkMissing if there is none."""
        check_digest(digest)
        try:
            return self.chunk_dir(digest, create=False)
        except FileNotFoundError:
            raise ChunkMissing(digest, self.root) from None

    def get(self, digest: str) -> bytes:
        check_digest(digest)
        if self._packed(digest):
            return self._packs.get(digest)
        d = self._stored_chunk_dir(digest)
        try:
            data = self._read_regular(d, digest)
        except FileNotFoundError:
            raise ChunkMissing(digest, self.root) from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EINVAL):
                raise ChunkCorrupt(digest, "stored entry is not a regular file (symlink?)") from None
            raise
        finally:
            os.close(d)
        verify_chunk(digest, data)
        return data

    def read_into(self, digest: str, buf: memoryview) -> int:
        """Read the chunk into ``buf`` with ``O_DIRECT`` when the filesystem and
        ``buf``'s alignment allow it (else buffered), verify it, return its length.

        A direct read moves the data from the device into ``buf`` without
        filling the page cache: for a copy that streams gigabytes through a
        recycled buffer that halves the kernel's work (no page-cache pages
        to allocate and copy out of). Dirty pages of the file are written
        back by the kernel first, so the bytes are the same either way.
        """
        check_digest(digest)
        if self._packed(digest):
            return self._packs.read_into(digest, buf)
        d = self._stored_chunk_dir(digest)
        try:
            fd = self._open_chunk(d, digest)
        finally:
            os.close(d)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ChunkCorrupt(digest, "stored entry is not a regular file")
            if st.st_size > len(buf):
                raise ChunkCorrupt(digest, f"length {st.st_size}, larger than the {len(buf)} bytes expected at most")
            got = pread_into(fd, buf, 0)  # direct if the buffer allows, else buffered
        finally:
            os.close(fd)
        verify_chunk(digest, buf[: min(got, st.st_size)], st.st_size)
        return st.st_size

    def _packed(self, digest: str) -> bool:
        """Whether ``digest`` is in a pack; on a miss that no loose file covers either, look for
        packs written since (another store instance or process) before answering no."""
        if self._packs.has(digest):
            return True
        try:
            d = self.chunk_dir(digest, create=False)
        except FileNotFoundError:
            pass
        else:
            try:
                self._lstat(d, digest)
                return False
            except FileNotFoundError:
                pass
            finally:
                os.close(d)
        self._packs.refresh()
        return self._packs.has(digest)

    def writer(self) -> PackWriter:
        """Bulk writes go to a new pack file (one sequential file instead of a file per chunk)."""
        self._check_open()
        return self._packs.writer()

    def _open_chunk(self, dir_fd: int, digest: str) -> int:
        """Open a chunk file for reading, ``O_DIRECT`` if the filesystem takes it, never through a symlink."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC  # O_NONBLOCK: a planted FIFO cannot hang us
        try:
            try:
                return os.open(digest, flags | _O_DIRECT, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not _O_DIRECT:  # EINVAL: no O_DIRECT on this filesystem
                    raise
                return os.open(digest, flags, dir_fd=dir_fd)
        except FileNotFoundError:
            raise ChunkMissing(digest, self.root) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ChunkCorrupt(digest, "stored entry is not a regular file (symlink?)") from None
            raise

    def put(self, digest: str, data: bytes | bytearray, *, trusted: bool = False) -> None:
        check_digest(digest)
        if not trusted:
            verify_chunk(digest, data)
        d = self.chunk_dir(digest, create=True)
        try:
            # Renamed into place complete, so a killed process never leaves a
            # partial chunk under its name; content and directory entry are made
            # durable by sync(), in one batch for every chunk since the last one.
            self._write_atomic(d, digest, data, sync_dir=False, sync_file=False)
        finally:
            os.close(d)
        with self._dirty_lock:
            self._dirty = True

    def sync(self) -> None:
        """Make every chunk ``put`` before this call durable (content and name).

        One ``syncfs`` of the store's filesystem (what ``sync`` does for
        ``cp``) rather than an fsync per chunk. Serialised, so that when it
        returns every put that finished before the call is durable, even if a
        concurrent sync took the dirty flag.
        """
        if not self._fsync:
            return
        with self._sync_lock:
            with self._dirty_lock:
                dirty, self._dirty = self._dirty, False
            if dirty:
                syncfs(self._chunks_fd)

    def touch(self, digest: str, length: int | None = None) -> bool:
        check_digest(digest)
        if self._packs.touch(digest, length):
            return True
        try:
            d = self.chunk_dir(digest, create=False)
        except FileNotFoundError:
            return False
        try:
            st = self._lstat(d, digest)
            if not stat.S_ISREG(st.st_mode):
                return False  # a planted symlink: let put() replace it
            if st.st_size == 0 or (length is not None and st.st_size != length):
                return False  # cut short by a power loss before sync(): let put() write it again
            os.utime(digest, dir_fd=d, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(d)

    def delete(self, digest: str, *, older_than: float | None = None) -> int:
        check_digest(digest)
        freed = self._packs.delete(digest, older_than=older_than)
        try:
            d = self.chunk_dir(digest, create=False)
        except FileNotFoundError:
            return freed
        try:
            st = self._lstat(d, digest)
            if older_than is not None and st.st_mtime >= older_than:
                return freed
            os.unlink(digest, dir_fd=d)
            return freed + (st.st_size if stat.S_ISREG(st.st_mode) else 0)
        except FileNotFoundError:
            return freed
        finally:
            os.close(d)

    def _iter_leaf_dirs(self) -> Iterator[tuple[str, int]]:
        """Yield ``("abcd", fd)`` for every ``chunks/ab/cd`` directory; the
        fd is closed when the caller advances."""
        self._check_open()
        with os.scandir(self._chunks_fd) as top_entries:
            tops = sorted(e.name for e in top_entries if _HEX2.fullmatch(e.name) and e.is_dir(follow_symlinks=False))
        for top in tops:
            try:
                top_fd = self._open_dir(self._chunks_fd, top, create=False)
            except (FileNotFoundError, ChunkStoreError):
                continue
            try:
                with os.scandir(top_fd) as sub_entries:
                    subs = sorted(
                        e.name for e in sub_entries if _HEX2.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
                    )
                for sub in subs:
                    try:
                        leaf_fd = self._open_dir(top_fd, sub, create=False)
                    except (FileNotFoundError, ChunkStoreError):
                        continue
                    try:
                        yield top + sub, leaf_fd
                    finally:
                        os.close(leaf_fd)
            finally:
                os.close(top_fd)

    def iter_chunks(self) -> Iterator[ChunkInfo]:
        loose: set[str] = set()
        for info in self._iter_loose():
            loose.add(info.digest)
            yield info
        for info in self._packs.iter_chunks():
            if info.digest not in loose:
                yield info

    def _iter_loose(self) -> Iterator[ChunkInfo]:
        for prefix, leaf_fd in self._iter_leaf_dirs():
            with os.scandir(leaf_fd) as entries:
                for e in entries:
                    name = e.name
                    if len(name) != 64 or not name.startswith(prefix):
                        continue  # temporaries and strangers
                    try:
                        st = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        yield ChunkInfo(name, st.st_size, st.st_mtime)

    def bytes_on_disk(self) -> int:
        """Disk space the chunk files occupy (allocated blocks)."""
        loose = sum(allocated_bytes(leaf_fd) for _prefix, leaf_fd in self._iter_leaf_dirs())
        return loose + self._packs.bytes_on_disk()

    def purge_temp(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0

        def purge_in(dir_fd: int) -> None:
            nonlocal removed
            with os.scandir(dir_fd) as entries:
                for e in entries:
                    if not (e.name.startswith(".") and e.name.endswith(_TMP_SUFFIX)):
                        continue
                    try:
                        if e.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(e.name, dir_fd=dir_fd)
                            removed += 1
                    except FileNotFoundError:
                        pass

        for _, leaf_fd in self._iter_leaf_dirs():
            purge_in(leaf_fd)
        return removed

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in (self._chunks_fd, self._packs_fd, self._root_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
