"""Pack files: many chunks appended to one file, for bulk writers.

A copy that writes thousands of 1 MiB chunks as thousands of files pays for
a file creation, a directory entry and a separate small write-back per
chunk; on the disks measured (docs/benchmarks.md) that made a region ->
region copy a third slower than ``cp`` of the same bytes. A pack turns the
same copy into one sequential file write, as ``cp`` does. Each chunk keeps
its own identity (digest, verified reads, dedup, gc), so packs are only a
storage layout of ``LocalChunkStore``; loose chunk files stay for single
``put`` calls and everything written before packs existed.

Layout under the store's root::

    packs/<id>.open     a pack being written (or abandoned by a crash)
    packs/<id>.pack     a sealed pack: complete and durable
    packs/<id>.idx      the sealed pack's index (optional, rebuilt if absent)

A pack is a sequence of records, each aligned to 4 KiB so that reads can
bypass the page cache (``O_DIRECT``)::

    header  4 KiB   magic "LCVMPACK", version, data length, SHA-256 (raw)
    data    the chunk, zero-padded to a multiple of 4 KiB

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
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .chunks import ChunkCorrupt, ChunkInfo, ChunkMissing, ChunkStoreError, ChunkWriter, check_digest
from ..fsio import allocated_bytes, pread_into, punch_hole, start_writeback

__all__ = ["PackSet", "PackWriter", "ALIGN", "scan_pack"]

ALIGN = 4096
HEADER = ALIGN
MAGIC = b"LCVMPACK"
VERSION = 1
MAX_CHUNK = 64 * 1024 * 1024  # sanity bound on a header's length field
PACK_LIMIT = 1024 * 1024 * 1024  # a writer starts a new pack past this size
_HDR = struct.Struct("<8sII32s")  # magic, version, data length, sha256 digest
_IDX_MAGIC = b"LCVMIDX1"
_IDX_HEAD = struct.Struct("<8sI")
_IDX_ENTRY = struct.Struct("<32sQI")  # digest, record offset, data length
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_SEEK_DATA = getattr(os, "SEEK_DATA", None)


def padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class Loc(NamedTuple):
    pack: str  # pack id
    offset: int  # of the record's header
    length: int  # of the chunk's data


@dataclass
class _Pack:
    sealed: bool  # False only while a PackWriter of this process appends to it
    live: int = 0


def _header(digest: str, length: int) -> bytes:
    return _HDR.pack(MAGIC, VERSION, length, bytes.fromhex(digest)).ljust(HEADER, b"\0")


def _parse_header(raw: bytes) -> tuple[str, int] | None:
    if len(raw) < _HDR.size:
        return None
    magic, version, length, digest = _HDR.unpack_from(raw)
    if magic != MAGIC or version != VERSION or not 0 < length <= MAX_CHUNK:
        return None
    return digest.hex(), length


class PackSet:
    """The packs of one store: an in-memory index (digest -> record) plus writers.

    ``write_atomic(dir_fd, name, data)`` and ``sync_dir(fd)`` come from the
    owning store (its durable small-file write and its fsync policy).
    """

    def __init__(self, dir_fd: int, *, fsync: bool, write_atomic: Callable[..., None],
                 sync_fd: Callable[[int], None]) -> None:
        self._dir_fd = dir_fd
        self._fsync = fsync
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
                entries = list(_scan(fd, verify=False))
            finally:
                os.close(fd)
            self._store_index(pack_id, entries)
        self._packs[pack_id] = _Pack(sealed=True)
        for digest, offset, length in entries:
            self._add(pack_id, digest, offset, length)

    def _read_index(self, pack_id: str) -> list[tuple[str, int, int]] | None:
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
        body, check = raw[:-32], raw[-32:]
        if len(raw) < _IDX_HEAD.size + 32 or hashlib.sha256(body).digest() != check:
            return None
        magic, count = _IDX_HEAD.unpack_from(body)
        if magic != _IDX_MAGIC or len(body) != _IDX_HEAD.size + count * _IDX_ENTRY.size:
            return None
        return [(d.hex(), off, n) for d, off, n in _IDX_ENTRY.iter_unpack(body[_IDX_HEAD.size:])]

    def _store_index(self, pack_id: str, entries: list[tuple[str, int, int]]) -> None:
        body = _IDX_HEAD.pack(_IDX_MAGIC, len(entries)) + b"".join(
            _IDX_ENTRY.pack(bytes.fromhex(d), off, n) for d, off, n in entries)
        self._write_atomic(self._dir_fd, f"{pack_id}.idx", body + hashlib.sha256(body).digest())

    def _recover(self, pack_id: str) -> None:
        """Seal an abandoned ``.open`` pack (its writer died), keeping its verified records."""
        fd = os.open(f"{pack_id}.open", os.O_RDWR | os.O_NOFOLLOW | _CLOEXEC, dir_fd=self._dir_fd)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a live writer (another process, or another store instance here)
            entries = list(_scan(fd, verify=True))
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

    def _seal(self, fd: int, pack_id: str, entries: list[tuple[str, int, int]]) -> None:
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
            if self._record_gone(fd, loc, digest):
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
                if self._record_gone(fd, loc, digest):
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

    @staticmethod
    def _record_gone(fd: int, loc: Loc, digest: str) -> bool:
        """True when the record's header no longer names ``digest`` (punched by gc elsewhere)."""
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        if flags & _O_DIRECT:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~_O_DIRECT)  # a small unaligned read
        raw = os.pread(fd, HEADER, loc.offset)
        return _parse_header(raw) != (digest, loc.length)

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
                    st = os.fstat(fd)
                    if older_than is not None and st.st_mtime >= older_than:
                        continue
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

    # -- writing -----------------------------------------------------------------

    def writer(self) -> PackWriter:
        return PackWriter(self)


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
        self._entries: dict[str, list[tuple[str, int, int]]] = {}
        self._closed = False

    def _new_pack(self) -> tuple[str, int]:
        s = self._set
        pack_id = f"{int(time.time()):08x}{secrets.token_hex(8)}"
        fd = os.open(f"{pack_id}.open", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o444, dir_fd=s._dir_fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with s._lock:
            s._packs[pack_id] = _Pack(sealed=False)
        self._entries[pack_id] = []
        return pack_id, fd

    def put(self, digest: str, data: bytes | bytearray | memoryview) -> bool:
        """Append a chunk whose hash the caller has verified; False if the packs already hold it."""
        check_digest(digest)
        length = len(data)
        if not 0 < length <= MAX_CHUNK:
            raise ChunkStoreError(f"chunk {digest}: length {length} cannot be packed")
        if self._set.has(digest, length):
            return False
        with self._lock:
            if self._closed:
                raise ChunkStoreError("pack writer is closed")
            if self._current is None or self._size >= PACK_LIMIT:
                if self._current is not None:
                    self._done.append(self._current)
                self._current = self._new_pack()
                self._size = 0
            pack_id, fd = self._current
            offset = self._size
            self._size += HEADER + padded(length)
        total = HEADER + padded(length)
        parts = [_header(digest, length), data]
        if padded(length) != length:
            parts.append(bytes(padded(length) - length))
        written = os.pwritev(fd, parts, offset)  # the whole record in one call
        if written != total:  # a short write to a regular file: finish it piecewise
            blob = b"".join(bytes(p) for p in parts)
            while written < total:
                written += os.pwrite(fd, blob[written:], offset + written)
        if self._set._fsync:
            start_writeback(fd, offset, total)
        with self._set._lock:
            self._set._add(pack_id, digest, offset, length)
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
        s = self._set
        for pack_id, fd in packs:
            try:
                entries = sorted(self._entries.get(pack_id, []), key=lambda e: e[1])
                if entries:
                    s._seal(fd, pack_id, entries)
                else:
                    os.unlink(f"{pack_id}.open", dir_fd=s._dir_fd)
                with s._lock:
                    p = s._packs.get(pack_id)
                    if p is not None:
                        p.sealed = True
                        if not entries:
                            del s._packs[pack_id]
            finally:
                os.close(fd)  # releases the flock

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def scan_pack(path: str | os.PathLike[str], *, verify: bool = True) -> list[tuple[str, int, int]]:
    """The records of the pack file at ``path`` as ``(digest, offset, length)``, read-only and without
    locking: what an inspector sees of a pack, even one another process is still writing."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC)
    try:
        return list(_scan(fd, verify=verify))
    finally:
        os.close(fd)


def _scan(fd: int, *, verify: bool) -> Iterator[tuple[str, int, int]]:
    """Yield ``(digest, offset, length)`` for each record found in a pack.

    Holes (punched records) are skipped with SEEK_DATA; anything that is not
    a valid header is stepped over 4 KiB at a time. With ``verify`` each
    record's data must hash to its header's digest (an abandoned pack may
    end in a torn record).
    """
    size = os.fstat(fd).st_size
    pos = 0
    while pos + HEADER <= size:
        if _SEEK_DATA is not None:
            try:
                pos = os.lseek(fd, pos, _SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole is left
                    return
                raise
            pos -= pos % ALIGN
        parsed = _parse_header(os.pread(fd, HEADER, pos))
        if parsed is not None and pos + HEADER + parsed[1] <= size:
            digest, length = parsed
            ok = True
            if verify:
                data = os.pread(fd, length, pos + HEADER)
                ok = len(data) == length and hashlib.sha256(data).hexdigest() == digest
            if ok:
                yield digest, pos, length
                pos += HEADER + padded(length)
                continue
        pos += ALIGN
