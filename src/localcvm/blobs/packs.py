"""Pack files: many chunks appended to one file, for bulk writers.

Thousands of 1 MiB chunks as thousands of files cost a file creation, a directory
entry and a small write-back each (a third slower than ``cp``, docs/benchmarks.md);
a pack is one sequential file write, and one hard link for a zero-copy region copy
(blobs.links). Each chunk keeps its identity (digest, verified reads, dedup, gc);
loose chunk files stay for single ``put`` calls and older stores.

Layout under the store's root::

    packs/<id>.open     a pack being written (or abandoned by a crash)
    packs/<id>.pack     a sealed pack: complete and durable
    packs/<id>.idx      the sealed pack's index (optional, rebuilt if absent)

A pack is a sequence of 4 KiB-aligned records (a header naming the chunk,
then its data); ``blobs.packfile`` holds the record and index formats.

Crash rules:

* A writer holds an exclusive ``flock`` on its ``.open`` file. A record is
  written whole (one ``pwritev``) before it is indexed, so a process killed
  at any point leaves complete records plus at most one partial one at the
  end. Another store that finds an unlocked ``.open`` file (its writer is
  dead) scans it, keeps every record whose data hashes to its header's
  digest, makes it durable and seals it. So a copy killed mid-pack keeps
  every chunk it finished: at most the chunk in flight is written again.
* Sealing (writer close, or recovery) is fsync of the data, rename to
  ``.pack``, fsync of the directory, then the index written atomically. A
  ``.pack`` is therefore always complete; its index is an optimisation: a
  missing or damaged index is rebuilt by reading the headers.
* Deleting a chunk (gc) drops the pack's index file (stale from now on),
  then punches a hole over the record (the space is freed at once and the
  header reads back as zeros, so no later scan sees it); a pack whose last
  chunk is deleted is removed. An index entry made stale by another
  process's gc never counts: reads verify the hash and ``touch`` reads the
  header back, so the chunk is "missing" (and written again by a dedup),
  never wrong data.

A packed chunk's modification time (for gc's grace period) is its pack's:
``touch`` refreshes the whole pack, which can only make gc keep chunks
longer, never remove one too early.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .errors import ChunkCorrupt, ChunkMissing, ChunkStoreError
from .manifest import check_digest
from .packfile import HEADER, MAX_CHUNK, Entry, decode_index, encode_index, padded, record_gone, record_parts, scan
from .store import ChunkInfo, ChunkWriter
from ..fsio import allocated_bytes, pread_into, punch_hole, start_writeback, unshare

__all__ = ["PACK_LIMIT", "Loc", "PackSet", "PackWriter"]

PACK_LIMIT = 1024 * 1024 * 1024  # a writer starts a new pack past this size
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class Loc(NamedTuple):
    pack: str  # pack id
    offset: int  # of the record's header
    length: int  # of the chunk's data


@dataclass
class _Pack:
    sealed: bool  # False only while a PackWriter of this process appends to it
    live: int = 0


class PackSet:
    """The packs of one store: an in-memory index (digest -> record) plus writers.

    ``write_atomic(dir_fd, name, data)`` and ``sync_fd(fd)`` come from the
    owning store (its durable small-file write and its fsync policy).
    ``PackWriter`` appends through ``create_pack``, ``add_record`` and
    ``finish_pack``; everything else here is reading, recovery and gc.
    """

    def __init__(self, dir_fd: int, *, fsync: bool, write_atomic: Callable[..., None],
                 sync_fd: Callable[[int], None]) -> None:
        self._dir_fd = dir_fd
        self.fsync = fsync  # whether writers start write-back early (the store's fsync policy)
        self._write_atomic = write_atomic
        self._sync_fd = sync_fd
        self._lock = threading.RLock()
        self._index: dict[str, Loc] = {}
        self._extra: dict[str, list[Loc]] = {}  # the same chunk in more than one pack (rare)
        self._packs: dict[str, _Pack] = {}
        self._listing: frozenset[str] = frozenset()
        self.refresh()

    # -- names ---------------------------------------------------------------

    def _name(self, pack_id: str) -> str:
        p = self._packs.get(pack_id)
        return f"{pack_id}.pack" if p is None or p.sealed else f"{pack_id}.open"

    def _open(self, pack_id: str, flags: int) -> int:
        """Open a pack by id, following a concurrent seal (``.open`` renamed to ``.pack``)."""
        flags |= os.O_NOFOLLOW | _CLOEXEC
        first = self._name(pack_id)
        try:
            return os.open(first, flags, dir_fd=self._dir_fd)
        except FileNotFoundError:
            other = f"{pack_id}.pack" if first.endswith(".open") else f"{pack_id}.open"
            return os.open(other, flags, dir_fd=self._dir_fd)

    # -- loading ---------------------------------------------------------------

    def refresh(self) -> None:
        """Index packs that appeared since the last look (other store instances, other processes),
        and recover packs whose writer died."""
        names = frozenset(os.listdir(self._dir_fd))
        if names == self._listing:
            return
        with self._lock:
            for name in sorted(names):
                pack_id, dot, kind = name.partition(".")
                if not dot or pack_id in self._packs or kind not in ("pack", "open"):
                    continue
                if kind == "open" and f"{pack_id}.pack" in names:
                    continue  # renamed meanwhile; the .pack entry is handled
                try:
                    if kind == "pack":
                        self._load_sealed(pack_id)
                    else:
                        self._recover(pack_id)
                except FileNotFoundError:
                    continue  # sealed, recovered or removed meanwhile: the next refresh sees it
                except OSError:
                    continue  # not a regular file we may read (a planted symlink, ...): never followed
            self._listing = names

    def _add(self, pack_id: str, digest: str, offset: int, length: int) -> None:
        loc = Loc(pack_id, offset, length)
        if digest in self._index:
            self._extra.setdefault(digest, []).append(loc)
        else:
            self._index[digest] = loc
        self._packs[pack_id].live += 1

    def _load_sealed(self, pack_id: str) -> None:
        entries = self._read_index(pack_id)
        if entries is None:
            fd = os.open(f"{pack_id}.pack", os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self._dir_fd)
            try:
                entries = list(scan(fd, verify=False))
            finally:
                os.close(fd)
            self._store_index(pack_id, entries)
        self._packs[pack_id] = _Pack(sealed=True)
        for digest, offset, length in entries:
            self._add(pack_id, digest, offset, length)

    def _read_index(self, pack_id: str) -> list[Entry] | None:
        try:
            fd = os.open(f"{pack_id}.idx", os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self._dir_fd)
        except FileNotFoundError:
            return None
        try:
            raw = b""
            while chunk := os.read(fd, 1 << 20):
                raw += chunk
        finally:
            os.close(fd)
        return decode_index(raw)

    def _store_index(self, pack_id: str, entries: list[Entry]) -> None:
        self._write_atomic(self._dir_fd, f"{pack_id}.idx", encode_index(entries))

    def _recover(self, pack_id: str) -> None:
        """Seal an abandoned ``.open`` pack (its writer died), keeping its verified records."""
        fd = os.open(f"{pack_id}.open", os.O_RDWR | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self._dir_fd)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a live writer (another process, or another store instance here)
            entries = list(scan(fd, verify=True))
            if not entries:
                os.unlink(f"{pack_id}.open", dir_fd=self._dir_fd)
                return
            end = max(off + HEADER + padded(n) for _, off, n in entries)
            if os.fstat(fd).st_size > end:
                os.ftruncate(fd, end)  # drop a torn last record
            self._seal(fd, pack_id, entries)
        finally:
            os.close(fd)
        self._packs[pack_id] = _Pack(sealed=True)
        for digest, offset, length in entries:
            self._add(pack_id, digest, offset, length)

    def _seal(self, fd: int, pack_id: str, entries: list[Entry]) -> None:
        self._sync_fd(fd)
        os.rename(f"{pack_id}.open", f"{pack_id}.pack", src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        self._sync_fd(self._dir_fd)
        self._store_index(pack_id, entries)

    # -- lookups ---------------------------------------------------------------

    def locate(self, digest: str) -> Loc | None:
        with self._lock:
            return self._index.get(digest)

    def has(self, digest: str, length: int | None = None) -> bool:
        loc = self.locate(digest)
        return loc is not None and (length is None or loc.length == length)

    def touch(self, digest: str, length: int | None = None) -> bool:
        """Refresh the chunk's pack (its mtime is the chunk's) if the record is still there.

        The header is read back, not taken from the index: another process's
        gc may have punched the record since, and a dedup that trusted a
        stale index would reference a chunk that is gone.
        """
        loc = self.locate(digest)
        if loc is None or (length is not None and loc.length != length):
            return False
        try:
            fd = self._open(loc.pack, os.O_RDONLY)
        except FileNotFoundError:
            self._forget(digest, loc)
            return False
        try:
            if record_gone(fd, loc.offset, digest, loc.length):
                self._forget(digest, loc)
                return False
            os.utime(fd)
        finally:
            os.close(fd)
        return True

    def read_into(self, digest: str, buf: memoryview) -> int:
        """Read a packed chunk into ``buf`` (direct I/O when ``buf`` holds the padded record), verified."""
        loc = self.locate(digest)
        if loc is None:
            raise ChunkMissing(digest, "packs")
        if loc.length > len(buf):
            raise ChunkCorrupt(digest, f"length {loc.length}, larger than the {len(buf)} bytes expected at most")
        direct = len(buf) >= padded(loc.length)
        try:
            try:
                fd = self._open(loc.pack, os.O_RDONLY | (_O_DIRECT if direct else 0))
            except OSError as exc:
                if exc.errno != errno.EINVAL or not direct:  # EINVAL: no O_DIRECT on this filesystem
                    raise
                fd = self._open(loc.pack, os.O_RDONLY)
        except FileNotFoundError:
            self._forget(digest, loc)
            raise ChunkMissing(digest, "packs") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ChunkCorrupt(digest, f"pack {loc.pack} is not a regular file (symlink?)") from None
            raise
        try:
            want = padded(loc.length) if direct else loc.length
            got = pread_into(fd, buf[:want], loc.offset + HEADER)
            data = buf[: loc.length]
            if got < loc.length or hashlib.sha256(data).hexdigest() != digest:
                if record_gone(fd, loc.offset, digest, loc.length):
                    self._forget(digest, loc)
                    raise ChunkMissing(digest, "packs")
                raise ChunkCorrupt(digest, f"packed record in {loc.pack} does not hash to its name")
        finally:
            os.close(fd)
        return loc.length

    def get(self, digest: str) -> bytes:
        loc = self.locate(digest)
        if loc is None:
            raise ChunkMissing(digest, "packs")
        buf = bytearray(loc.length)
        self.read_into(digest, memoryview(buf))
        return bytes(buf)

    def _forget(self, digest: str, loc: Loc) -> None:
        with self._lock:
            if self._index.get(digest) == loc:
                rest = self._extra.pop(digest, [])
                if rest:
                    self._index[digest] = rest.pop(0)
                    if rest:
                        self._extra[digest] = rest
                else:
                    del self._index[digest]

    # -- listing -----------------------------------------------------------------

    def iter_chunks(self) -> Iterator[ChunkInfo]:
        self.refresh()
        with self._lock:
            items = list(self._index.items())
        mtimes: dict[str, float] = {}
        for digest, loc in items:
            if loc.pack not in mtimes:
                try:
                    mtimes[loc.pack] = os.stat(self._name(loc.pack), dir_fd=self._dir_fd,
                                               follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    mtimes[loc.pack] = time.time()  # being sealed: treat as new
            yield ChunkInfo(digest, loc.length, mtimes[loc.pack])

    def bytes_on_disk(self) -> int:
        return allocated_bytes(self._dir_fd)

    # -- deletion ----------------------------------------------------------------

    def delete(self, digest: str, *, older_than: float | None = None) -> int:
        """Punch every packed copy of ``digest`` out of its pack; return the chunk bytes freed."""
        freed = 0
        with self._lock:
            locs = ([self._index[digest]] if digest in self._index else []) + self._extra.get(digest, [])
            for loc in locs:
                pack = self._packs.get(loc.pack)
                if pack is None or not pack.sealed:
                    continue  # a pack still being written is never punched
                name = f"{loc.pack}.pack"
                try:
                    fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self._dir_fd)
                except FileNotFoundError:
                    self._forget(digest, loc)
                    continue
                try:
                    # a pack hard-linked into another store (blobs.links): punch a private copy only
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    st = os.fstat(fd)
                    if older_than is not None and st.st_mtime >= older_than:
                        continue
                    fd = unshare(self._dir_fd, name, fd)
                    # The index goes first: it is rebuilt from the headers, and a journal that kept
                    # the hole after a power loss kept this earlier unlink too. Neither is fsynced:
                    # losing both merely brings an unreferenced chunk back for the next gc.
                    try:
                        os.unlink(f"{loc.pack}.idx", dir_fd=self._dir_fd)
                    except FileNotFoundError:
                        pass
                    if not punch_hole(fd, loc.offset, HEADER + padded(loc.length)):
                        os.pwrite(fd, bytes(HEADER), loc.offset)  # no hole punching here: at least unlist it
                    # a pack's mtime says when its chunks were last written or reused (gc's grace
                    # period), not when one was removed: put it back
                    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(fd)
                self._forget(digest, loc)
                if loc in self._extra.get(digest, []):
                    self._extra[digest].remove(loc)
                    if not self._extra[digest]:
                        del self._extra[digest]
                freed += loc.length
                pack.live -= 1
                if pack.live <= 0:
                    os.unlink(name, dir_fd=self._dir_fd)
                    del self._packs[loc.pack]
        return freed

    # -- sharing with another store (blobs.links) --------------------------------

    @property
    def dir_fd(self) -> int:
        return self._dir_fd

    def is_sealed(self, pack_id: str) -> bool:
        with self._lock:
            pack = self._packs.get(pack_id)
            return pack is not None and pack.sealed

    # -- writing -----------------------------------------------------------------

    def writer(self) -> PackWriter:
        return PackWriter(self)

    def create_pack(self) -> tuple[str, int]:
        """A new, empty ``.open`` pack for a writer of this process: ``(pack id, fd)``, the fd
        holding the pack's exclusive lock (so no other store takes it for abandoned)."""
        pack_id = f"{int(time.time()):08x}{secrets.token_hex(8)}"
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
        fd = os.open(f"{pack_id}.open", flags, 0o444, dir_fd=self._dir_fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with self._lock:
            self._packs[pack_id] = _Pack(sealed=False)
        return pack_id, fd

    def add_record(self, pack_id: str, digest: str, offset: int, length: int) -> None:
        """Index a record a writer has just written whole into its open pack: readable from now on."""
        with self._lock:
            self._add(pack_id, digest, offset, length)

    def finish_pack(self, pack_id: str, fd: int, entries: list[Entry]) -> None:
        """Seal a writer's pack holding ``entries`` (fsync, rename to ``.pack``, index), or
        remove it when it holds nothing. The caller closes ``fd`` (releasing the lock) after."""
        if entries:
            self._seal(fd, pack_id, sorted(entries, key=lambda e: e[1]))
        else:
            os.unlink(f"{pack_id}.open", dir_fd=self._dir_fd)
        with self._lock:
            p = self._packs.get(pack_id)
            if p is not None:
                p.sealed = True
                if not entries:
                    del self._packs[pack_id]


class PackWriter(ChunkWriter):
    """Appends chunks to new packs; ``close`` seals them (durable, indexed).

    Safe for several threads. A chunk the store already holds in a pack is
    skipped. Records are visible to readers as soon as ``put`` returns.
    """

    def __init__(self, packs: PackSet) -> None:
        self._set = packs
        self._lock = threading.Lock()
        self._current: tuple[str, int] | None = None  # (pack id, fd)
        self._size = 0
        self._done: list[tuple[str, int]] = []
        self._entries: dict[str, list[Entry]] = {}
        self._writing: set[str] = set()  # digests reserved by a put (stay reserved: written once)
        self._closed = False

    def _reserve(self, digest: str, length: int) -> tuple[str, int, int] | None:
        """Room for a record of ``length`` data bytes: ``(pack id, fd, offset)``; None when the
        packs hold the chunk or another thread is writing it (one image may repeat a chunk)."""
        with self._lock:
            if self._closed:
                raise ChunkStoreError("pack writer is closed")
            if digest in self._writing or self._set.has(digest, length):
                return None
            self._writing.add(digest)
            if self._current is None or self._size >= PACK_LIMIT:
                if self._current is not None:
                    self._done.append(self._current)
                self._current = self._set.create_pack()
                self._entries[self._current[0]] = []
                self._size = 0
            pack_id, fd = self._current
            offset = self._size
            self._size += HEADER + padded(length)
        return pack_id, fd, offset

    def put(self, digest: str, data: bytes | bytearray | memoryview) -> bool:
        """Append a chunk whose hash the caller has verified; False if the packs already hold it."""
        check_digest(digest)
        length = len(data)
        if not 0 < length <= MAX_CHUNK:
            raise ChunkStoreError(f"chunk {digest}: length {length} cannot be packed")
        room = self._reserve(digest, length)
        if room is None:
            return False
        pack_id, fd, offset = room
        total = HEADER + padded(length)
        parts = record_parts(digest, data)
        written = os.pwritev(fd, parts, offset)  # the whole record in one call
        if written != total:  # a short write to a regular file: finish it piecewise
            blob = b"".join(bytes(p) for p in parts)
            while written < total:
                written += os.pwrite(fd, blob[written:], offset + written)
        if self._set.fsync:
            start_writeback(fd, offset, total)
        self._set.add_record(pack_id, digest, offset, length)
        with self._lock:
            self._entries[pack_id].append((digest, offset, length))
        return True

    def close(self) -> None:
        """Seal every pack written (fsync, rename, index). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            packs = self._done + ([self._current] if self._current else [])
            self._current = None
        for pack_id, fd in packs:
            try:
                self._set.finish_pack(pack_id, fd, self._entries.get(pack_id, []))
            finally:
                os.close(fd)  # releases the flock

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
