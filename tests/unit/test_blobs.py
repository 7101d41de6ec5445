"""Content-addressed chunk stores: real files, real stores (local and S3)."""

from __future__ import annotations

import filecmp
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from localcvm.blobs import (
    CHUNK_SIZE,
    ChunkCorrupt,
    ChunkMissing,
    ChunkStoreError,
    CopyTrace,
    LocalChunkStore,
    Manifest,
    copy_missing_chunks,
    gc,
    read_image,
    referenced_digests,
    sha256_hex,
    write_image,
)
from localcvm.blobs.packfile import HEADER

MiB = 1 << 20
SMALL = 64 * 1024  # a small chunk size for tests that need many chunks


def block(seed: int, size: int) -> bytes:
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(size)


def make_file(path, parts) -> str:
    """Write ``parts`` (bytes, or an int = that many zero bytes) to ``path``."""
    with open(path, "wb") as f:
        for p in parts:
            if isinstance(p, int):
                f.seek(p, os.SEEK_CUR)
            else:
                f.write(p)
        f.truncate(f.tell())
    return str(path)


def disk_usage(path) -> int:
    """Allocated bytes of a file or a directory tree (like du)."""
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def corrupt(store, digest: str) -> None:
    """Replace a stored chunk's content behind the store's back."""
    if isinstance(store, LocalChunkStore):
        loc = store.packs.locate(digest)
        if loc is not None:  # in a pack (write_image's bulk writer): the record's data follows its header
            from localcvm.blobs.packfile import HEADER

            path, at = os.path.join(store.root, "packs", f"{loc.pack}.pack"), loc.offset + HEADER + 100
        else:
            path, at = os.path.join(store.root, "chunks", digest[:2], digest[2:4], digest), 100
        with open(path, "r+b") as f:
            f.seek(at)
            b = f.read(1)
            f.seek(at)
            f.write(bytes([b[0] ^ 0xFF]))
    else:  # a "trusted" put skips the hash check: the object now holds other bytes under the name
        data = bytearray(store.get(digest))
        data[100] ^= 0xFF
        store.put(digest, bytes(data), trusted=True)


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------


def test_manifest_json_is_compact_stable_and_round_trips():
    m = Manifest(virtual_size=CHUNK_SIZE + 10, chunks=["a" * 64, None], facts={"source_format": "qcow2"})
    text = m.to_json()
    assert " " not in text and "\n" not in text
    assert text == Manifest.from_json(text).to_json()
    assert Manifest.from_json(text) == m
    assert m.chunk_length(0) == CHUNK_SIZE and m.chunk_length(1) == 10
    assert m.digests() == {"a" * 64} and m.hole_count == 1


@pytest.mark.parametrize(
    "bad",
    [
        '{"virtual_size": 10, "chunk_size": 4, "chunks": ["' + "a" * 64 + '"], "facts": {}}',  # wrong count
        '{"virtual_size": 4, "chunk_size": 4, "chunks": ["../../etc/passwd"], "facts": {}}',  # bad digest
        '{"virtual_size": -1, "chunk_size": 4, "chunks": [], "facts": {}}',
        '{"version": 99, "virtual_size": 0, "chunk_size": 4, "chunks": [], "facts": {}}',
        "not json",
    ],
)
def test_manifest_rejects_inconsistent_json(bad):
    with pytest.raises(ValueError):
        Manifest.from_json(bad)


# --------------------------------------------------------------------------
# The store interface, on every backend
# --------------------------------------------------------------------------


def test_store_interface(blob_store):
    data = block(1, 1000)
    digest = sha256_hex(data)
    assert not blob_store.has(digest)
    assert not blob_store.touch(digest)
    with pytest.raises(ChunkMissing):
        blob_store.get(digest)

    blob_store.put(digest, data)
    blob_store.put(digest, data)  # idempotent
    assert blob_store.has(digest) and blob_store.touch(digest)
    assert blob_store.get(digest) == data
    assert list(blob_store.iter_digests()) == [digest]
    assert blob_store.bytes_stored() == 1000

    with pytest.raises(ChunkCorrupt):  # content must hash to its name
        blob_store.put(sha256_hex(b"other"), data)
    with pytest.raises(ValueError):
        blob_store.put("../../etc/passwd", data)
    with pytest.raises(ValueError):
        blob_store.has("ABC")

    assert blob_store.delete(digest) == 1000
    assert blob_store.delete(digest) == 0
    assert not blob_store.has(digest)
    assert blob_store.bytes_stored() == 0


def test_read_into_fills_the_buffer_and_verifies(blob_store):
    """read_into (what image copies read with) returns the same verified bytes as get, into the
    caller's buffer: page-aligned (O_DIRECT on a local store) or not (buffered)."""
    import mmap

    odd = block(3, SMALL + 123)  # not a multiple of any block size
    digest = sha256_hex(odd)
    blob_store.put(digest, odd)
    aligned = mmap.mmap(-1, 2 * SMALL)
    assert blob_store.read_into(digest, memoryview(aligned)) == len(odd)
    assert aligned[: len(odd)] == odd  # (what follows is unspecified: a direct read fills whole blocks)
    unaligned = memoryview(bytearray(len(odd) + 1))[1:]  # O_DIRECT refuses this address: buffered
    assert blob_store.read_into(digest, unaligned) == len(odd) and bytes(unaligned) == odd
    exact = memoryview(bytearray(len(odd)))
    assert blob_store.read_into(digest, exact) == len(odd) and bytes(exact) == odd

    with pytest.raises(ChunkCorrupt, match="larger than"):
        blob_store.read_into(digest, memoryview(bytearray(len(odd) - 1)))
    with pytest.raises(ChunkMissing):
        blob_store.read_into(sha256_hex(b"never stored"), memoryview(aligned))
    with pytest.raises(ValueError):
        blob_store.read_into("../x", memoryview(aligned))
    corrupt(blob_store, digest)
    with pytest.raises(ChunkCorrupt):
        blob_store.read_into(digest, memoryview(aligned))


def test_local_read_into_refuses_odd_entries(tmp_path):
    """A chunk file cut short, a symlink or a FIFO in place of a chunk: a clear ChunkCorrupt,
    never a hang, never a read through the link."""
    import mmap

    store = LocalChunkStore(tmp_path / "store")
    buf = memoryview(mmap.mmap(-1, 2 * SMALL))
    data = block(4, SMALL)
    digest = sha256_hex(data)
    store.put(digest, data)
    path = tmp_path / "store" / "chunks" / digest[:2] / digest[2:4] / digest
    os.chmod(path, 0o644)
    os.truncate(path, SMALL // 2)
    with pytest.raises(ChunkCorrupt):
        store.read_into(digest, buf)

    path.unlink()
    secret = tmp_path / "secret"
    secret.write_bytes(data)
    path.symlink_to(secret)
    with pytest.raises(ChunkCorrupt, match="regular file"):
        store.read_into(digest, buf)

    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ChunkCorrupt, match="regular file"):
        store.read_into(digest, buf)
    path.unlink()
    with pytest.raises(ChunkMissing):
        store.read_into(digest, buf)


def test_round_trip_is_byte_identical(blob_store, tmp_path):
    # Data, written zeros, a hole of the sparse file, data, a short last chunk.
    src = make_file(
        tmp_path / "a.raw",
        [block(1, CHUNK_SIZE), bytes(CHUNK_SIZE), CHUNK_SIZE, block(2, CHUNK_SIZE), block(3, 12345)],
    )
    progress = []
    m = write_image(blob_store, src, facts={"source_format": "raw"}, progress=lambda d, t: progress.append((d, t)))
    size = os.path.getsize(src)
    assert m.virtual_size == size and m.chunk_size == CHUNK_SIZE
    assert [d is None for d in m.chunks] == [False, True, True, False, False]
    assert m.facts == {"source_format": "raw"}
    assert progress[-1] == (size, size)
    assert blob_store.bytes_stored() == 2 * CHUNK_SIZE + 12345

    out = tmp_path / "b.raw"
    read_image(blob_store, Manifest.from_json(m.to_json()), out)
    assert filecmp.cmp(src, out, shallow=False)


def test_dedup_same_image_twice_stores_chunks_once(blob_store, tmp_path):
    data = [block(1, CHUNK_SIZE), block(2, CHUNK_SIZE), block(1, CHUNK_SIZE)]  # chunk 0 == chunk 2
    a = make_file(tmp_path / "a.raw", data)
    b = make_file(tmp_path / "b.raw", data)
    m1 = write_image(blob_store, a)
    stored = blob_store.bytes_stored()
    assert stored == 2 * CHUNK_SIZE  # the repeated chunk is stored once
    disk = disk_usage(blob_store.root) if isinstance(blob_store, LocalChunkStore) else None

    m2 = write_image(blob_store, b)
    assert m2.chunks == m1.chunks
    assert blob_store.bytes_stored() == stored
    if disk is not None:  # measured on disk, not just as the store reports it
        assert disk_usage(blob_store.root) == disk
        assert disk < 2 * CHUNK_SIZE + 64 * 1024


def test_holes_take_no_space(tmp_path):
    store = LocalChunkStore(tmp_path / "store")
    # 28 MiB of zeros, one non-zero chunk, 32 MiB of zeros.
    src = make_file(tmp_path / "a.raw", [28 * MiB, block(7, CHUNK_SIZE), 32 * MiB])
    m = write_image(store, src)
    assert m.hole_count == len(m.chunks) - 1 and len(m.digests()) == 1
    assert m.chunks[28 * MiB // CHUNK_SIZE] is not None
    assert disk_usage(store.root) < CHUNK_SIZE + 256 * 1024

    out = tmp_path / "b.raw"
    read_image(store, m, out)
    assert os.path.getsize(out) == 60 * MiB + CHUNK_SIZE
    assert disk_usage(out) <= CHUNK_SIZE + 64 * 1024  # written sparse
    assert filecmp.cmp(src, out, shallow=False)


def test_one_percent_change_adds_one_percent_of_chunks(blob_store, tmp_path):
    n = 100
    base = bytearray(block(11, n * SMALL))
    a = make_file(tmp_path / "a.raw", [bytes(base)])
    base[37 * SMALL + 5] ^= 0x55  # one byte in one chunk: 1% of the chunks
    b = make_file(tmp_path / "b.raw", [bytes(base)])
    m1 = write_image(blob_store, a, chunk_size=SMALL)
    before = blob_store.bytes_stored()
    m2 = write_image(blob_store, b, chunk_size=SMALL)
    assert blob_store.bytes_stored() - before == SMALL
    assert sum(x != y for x, y in zip(m1.chunks, m2.chunks, strict=True)) == 1


def test_corrupted_chunk_is_detected_on_read(blob_store, tmp_path):
    src = make_file(tmp_path / "a.raw", [block(1, 3 * SMALL)])
    m = write_image(blob_store, src, chunk_size=SMALL)
    victim = m.chunks[1]
    corrupt(blob_store, victim)
    with pytest.raises(ChunkCorrupt) as info:
        blob_store.get(victim)
    assert victim in str(info.value)
    with pytest.raises(ChunkCorrupt):
        read_image(blob_store, m, tmp_path / "out.raw")


def test_missing_chunk_is_reported_on_read(blob_store, tmp_path):
    m = write_image(blob_store, make_file(tmp_path / "a.raw", [block(1, 2 * SMALL)]), chunk_size=SMALL)
    blob_store.delete(m.chunks[0])
    with pytest.raises(ChunkMissing):
        read_image(blob_store, m, tmp_path / "out.raw")


def test_gc_frees_unreferenced_chunks_and_keeps_referenced(blob_store, tmp_path):
    shared = block(1, SMALL)
    a = write_image(blob_store, make_file(tmp_path / "a.raw", [shared, block(2, SMALL)]), chunk_size=SMALL)
    b_parts = [shared, block(3, SMALL), block(4, SMALL)]
    b = write_image(blob_store, make_file(tmp_path / "b.raw", b_parts), chunk_size=SMALL)
    assert blob_store.bytes_stored() == 4 * SMALL

    # Within the grace period nothing is removed (a writer may be mid-image).
    assert gc(blob_store, referenced_digests([a]), grace_seconds=3600) == (0, 0)
    # Every manifest passed in protects its chunks.
    assert gc(blob_store, referenced_digests([a, b])) == (0, 0)

    removed, freed = gc(blob_store, referenced_digests([a]))
    assert (removed, freed) == (2, 2 * SMALL)
    assert set(blob_store.iter_digests()) == a.digests()
    read_image(blob_store, a, tmp_path / "a.out")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "a.out", shallow=False)
    assert gc(blob_store, set()) == (2, 2 * SMALL)
    assert blob_store.bytes_stored() == 0


def test_dedup_refreshes_age_so_gc_spares_reused_chunks(tmp_path):
    store = LocalChunkStore(tmp_path / "store")
    src = make_file(tmp_path / "a.raw", [block(1, SMALL)])
    m = write_image(store, src, chunk_size=SMALL)
    (digest,) = m.digests()
    loc = store.packs.locate(digest)  # write_image packs its chunks: a packed chunk's age is its pack's
    path = os.path.join(store.root, "packs", f"{loc.pack}.pack")
    old = time.time() - 7200
    os.utime(path, (old, old))
    # An unreferenced two-hour-old chunk is collectable with a 1 h grace ...
    assert [c.digest for c in store.iter_chunks() if c.mtime < time.time() - 3600] == [digest]
    # ... but a new image that reuses it (dedup: no put) refreshes its age.
    write_image(store, src, chunk_size=SMALL)
    assert gc(store, set(), grace_seconds=3600) == (0, 0)


# --------------------------------------------------------------------------
# Copy between stores (copy_missing_chunks: what the image sync job runs), the byte path;
# the zero-copy (link) path is tested in test_links.py
# --------------------------------------------------------------------------


def test_copy_copies_only_missing_chunks(blob_store, blob_kind, blob_store_factory, tmp_path):
    dst = blob_store_factory(blob_kind)
    parts = [block(i, SMALL) for i in range(6)]
    # six distinct chunks, a hole, and a repeat of the first chunk
    m = write_image(blob_store, make_file(tmp_path / "a.raw", parts + [SMALL, parts[0]]), chunk_size=SMALL)
    assert m.hole_count == 1
    # The destination already has two of the six distinct chunks.
    for p in parts[:2]:
        dst.put(sha256_hex(p), p)
    progress, written = [], []
    copied = copy_missing_chunks(blob_store, dst, m, progress=lambda d, t: progress.append((d, t)),
                                 before_put=written.append, zero_copy=False)
    assert copied == 4 * SMALL
    assert sorted(written) == sorted(sha256_hex(p) for p in parts[2:])  # dedup: the two are not written again
    assert progress[0] == (0, 6 * SMALL) and progress[-1] == (6 * SMALL, 6 * SMALL)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert set(dst.iter_digests()) == m.digests()
    written.clear()
    assert copy_missing_chunks(blob_store, dst, m, before_put=written.append, zero_copy=False) == 0  # nothing left to do
    assert written == []
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def test_copy_of_an_empty_or_all_hole_manifest_writes_nothing(blob_store, blob_kind, blob_store_factory, tmp_path):
    dst = blob_store_factory(blob_kind)
    m = write_image(blob_store, make_file(tmp_path / "zeros.raw", [3 * SMALL]), chunk_size=SMALL)
    assert m.digests() == set() and m.hole_count == 3
    progress = []
    assert copy_missing_chunks(blob_store, dst, m, progress=lambda d, t: progress.append((d, t)), zero_copy=False) == 0
    assert progress == [(0, 0)] and list(dst.iter_digests()) == []
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "zeros.raw", tmp_path / "out.raw", shallow=False)


class Interrupted(Exception):
    pass


def test_copy_resumes_after_interruption(blob_store, blob_kind, blob_store_factory, tmp_path):
    dst = blob_store_factory(blob_kind)
    n = 12
    src = make_file(tmp_path / "a.raw", [block(100 + i, SMALL) for i in range(n)])
    m = write_image(blob_store, src, chunk_size=SMALL)

    def stop_after_three(done, total):
        if done >= 3 * SMALL:
            raise Interrupted

    with pytest.raises(Interrupted):
        copy_missing_chunks(blob_store, dst, m, progress=stop_after_three, zero_copy=False)
    # One write in flight: exactly the chunks handled before the interruption landed.
    assert len(list(dst.iter_digests())) == 3
    # Re-running copies only what is missing: nothing is copied twice.
    written = []
    assert copy_missing_chunks(blob_store, dst, m, before_put=written.append, zero_copy=False) == (n - 3) * SMALL
    assert len(written) == n - 3 and set(dst.iter_digests()) == m.digests()
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(src, tmp_path / "out.raw", shallow=False)


def test_copy_across_backends(blob_s3_server, blob_store_factory, tmp_path):
    src, dst = blob_store_factory("local"), blob_store_factory("s3")
    m = write_image(src, make_file(tmp_path / "a.raw", [block(i, SMALL) for i in range(3)]), chunk_size=SMALL)
    first = m.chunks[0]
    dst.put(first, src.get(first))
    assert copy_missing_chunks(src, dst, m, zero_copy=False) == 2 * SMALL
    back = blob_store_factory("local")
    assert copy_missing_chunks(dst, back, m, zero_copy=False) == 3 * SMALL
    read_image(back, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def test_copy_refuses_to_spread_corruption(blob_store, blob_kind, blob_store_factory, tmp_path):
    dst = blob_store_factory(blob_kind)
    m = write_image(blob_store, make_file(tmp_path / "a.raw", [block(i, SMALL) for i in range(3)]), chunk_size=SMALL)
    victim = m.chunks[1]
    corrupt(blob_store, victim)
    written = []
    with pytest.raises(ChunkCorrupt) as info:
        copy_missing_chunks(blob_store, dst, m, before_put=written.append, zero_copy=False)
    assert info.value.digest == victim
    assert victim not in written  # never handed to the writer ...
    assert not dst.has(victim) and victim not in set(dst.iter_digests())  # ... so nothing under its name
    if isinstance(dst, LocalChunkStore):
        again = LocalChunkStore(dst.root)  # not even in a pack another store would recover
        assert not again.has(victim)
        again.close()


def test_copy_refuses_a_chunk_of_another_length_than_the_manifest_says(blob_store, blob_kind, blob_store_factory):
    dst = blob_store_factory(blob_kind)
    short = block(9, SMALL // 2)
    digest = sha256_hex(short)
    blob_store.put(digest, short)
    m = Manifest(virtual_size=2 * SMALL, chunk_size=SMALL, chunks=[digest, None])  # claims SMALL bytes
    with pytest.raises(ChunkCorrupt, match="manifest expects"):
        copy_missing_chunks(blob_store, dst, m, zero_copy=False)
    assert not dst.has(digest)


KILL_SCRIPT = """
import os, signal, sys
sys.path[:0] = {path!r}
from localcvm.blobs import CopyTrace, LocalChunkStore, Manifest, copy_missing_chunks
manifest = Manifest.from_json(open({manifest!r}).read())
src, dst = LocalChunkStore({src!r}), LocalChunkStore({dst!r})
trace = CopyTrace({trace!r}, "copy", 1)
writes = 0

def before_put(digest):
    trace.put(digest)
    if {mode!r} == "before-write" and writes == {kill_after}:
        os.kill(os.getpid(), signal.SIGKILL)  # the write after N never starts

real_pwritev = os.pwritev

def pwritev(fd, parts, offset):  # the pack writer's one call per record
    global writes
    if {mode!r} == "mid-write" and writes == {kill_after}:
        record = b"".join(bytes(p) for p in parts)
        os.pwrite(fd, record[: len(record) // 2], offset)
        os.kill(os.getpid(), signal.SIGKILL)  # the record after N is torn
    writes += 1
    return real_pwritev(fd, parts, offset)

os.pwritev = pwritev
copy_missing_chunks(src, dst, manifest, before_put=before_put, zero_copy=False)
print("finished without being killed", flush=True)
"""


@pytest.mark.parametrize("mode", ["before-write", "mid-write"])
@pytest.mark.parametrize("kill_after", [1, 5])
def test_copy_resumes_after_the_copying_process_is_killed(tmp_path, kill_after, mode):
    """A copy killed (SIGKILL) after N chunks, before its next write or in the middle of it (a torn
    record): a second copy finishes it, every chunk reads back verified from the destination, and
    at most one chunk is written twice."""
    n = 12
    src_root, dst_root, trace_path = tmp_path / "src", tmp_path / "dst", tmp_path / "trace"
    src = LocalChunkStore(src_root)
    raw = make_file(tmp_path / "a.raw", [block(200 + i, SMALL) for i in range(n - 2)] + [SMALL, block(300, SMALL)])
    m = write_image(src, raw, chunk_size=SMALL)
    assert len(m.digests()) == n - 1
    (tmp_path / "m.json").write_text(m.to_json())
    script = KILL_SCRIPT.format(path=sys.path, manifest=str(tmp_path / "m.json"), src=str(src_root),
                                dst=str(dst_root), trace=str(trace_path), kill_after=kill_after, mode=mode)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, (proc.stdout, proc.stderr)
    (left,) = [p for p in (dst_root / "packs").iterdir() if p.suffix == ".open"]  # never sealed
    record = HEADER + SMALL
    assert left.stat().st_size == kill_after * record + (record // 2 if mode == "mid-write" else 0)

    dst = LocalChunkStore(dst_root)  # recovers the pack the killed copy left open
    assert len(set(dst.iter_digests())) == kill_after
    trace = CopyTrace(str(trace_path), "copy", 2)
    try:
        copied = copy_missing_chunks(src, dst, m, before_put=trace.put, zero_copy=False)
    finally:
        trace.close()
    assert copied == (n - 1 - kill_after) * SMALL
    for i, digest in enumerate(m.chunks):
        if digest is not None:
            assert dst.get(digest) == src.get(digest) and len(dst.get(digest)) == m.chunk_length(i)
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(raw, tmp_path / "out.raw", shallow=False)

    lines = [line.split() for line in trace_path.read_text().splitlines()]
    assert {attempt for _, attempt, _ in lines} == {"1", "2"}
    writes = Counter(digest for _, _, digest in lines)
    assert set(writes) == m.digests()
    assert sum(1 for c in writes.values() if c > 1) <= 1 and max(writes.values()) <= 2
    dst.close()
    src.close()

# --------------------------------------------------------------------------
# Local store specifics: atomic writes, confinement
# --------------------------------------------------------------------------


def test_local_layout_and_leftover_temporaries(tmp_path, monkeypatch):
    import localcvm.blobs.local

    flushes = []
    real_syncfs = localcvm.blobs.local.syncfs
    monkeypatch.setattr(localcvm.blobs.local, "syncfs", lambda fd: (flushes.append(fd), real_syncfs(fd)))
    store = LocalChunkStore(tmp_path / "store")
    data = block(1, 1000)
    digest = sha256_hex(data)
    store.put(digest, data)
    leaf = tmp_path / "store" / "chunks" / digest[:2] / digest[2:4]
    assert (leaf / digest).read_bytes() == data
    # New chunks (content and directory entries) are made durable in one batch
    # by sync(), which write_image and the copy call before returning.
    assert flushes == []  # the put left the flush to sync()
    store.sync()
    assert len(flushes) == 1
    store.sync()  # nothing new since: no second flush
    assert len(flushes) == 1
    other = LocalChunkStore(tmp_path / "other")
    write_image(other, make_file(tmp_path / "a.raw", [block(5, SMALL)]), chunk_size=SMALL)
    # write_image's chunks go to a pack, sealed (fsync'd) before it returns ...
    assert [p.suffix for p in (tmp_path / "other" / "packs").iterdir()] in ([".pack", ".idx"], [".idx", ".pack"])
    other.sync()
    assert len(flushes) == 1  # ... so nothing is left to flush
    # A crash mid-write leaves only a temporary, never a partial chunk under
    # its name; temporaries are invisible and purged by gc.
    other = sha256_hex(b"half")
    tmp = leaf / f".{other}.123.abc.tmp"
    tmp.write_bytes(b"ha")
    old = time.time() - 7200
    os.utime(tmp, (old, old))
    assert list(store.iter_digests()) == [digest]
    assert not store.has(other)
    gc(store, {digest})
    assert not tmp.exists() and (leaf / digest).exists()


def test_local_store_never_follows_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret"
    secret.write_bytes(b"top secret")
    store = LocalChunkStore(tmp_path / "store")

    # A symlinked chunk directory is refused, not followed.
    digest = sha256_hex(b"top secret")
    (tmp_path / "store" / "chunks" / digest[:2]).symlink_to(outside, target_is_directory=True)
    with pytest.raises(ChunkStoreError):
        store.get(digest)
    with pytest.raises(ChunkStoreError):
        store.put(digest, b"top secret")
    assert list(store.iter_digests()) == []

    # A symlink in place of a chunk file is not read through either, and a
    # put replaces it with a real file.
    data = block(2, 100)
    d2 = sha256_hex(data)
    store.put(d2, data)
    leaf = tmp_path / "store" / "chunks" / d2[:2] / d2[2:4]
    (leaf / d2).unlink()
    (leaf / d2).symlink_to(secret)
    assert not store.has(d2) and not store.touch(d2)
    with pytest.raises(ChunkCorrupt):
        store.get(d2)
    store.put(d2, data)
    assert store.get(d2) == data and secret.read_bytes() == b"top secret"



def test_write_image_reads_into_buffers_and_hashes_correctly(tmp_path):
    """The pipelined writer must name every chunk by its true hash."""
    store = LocalChunkStore(tmp_path / "store", fsync=False)
    parts = [block(i, SMALL) for i in range(40)]
    m = write_image(store, make_file(tmp_path / "a.raw", parts), chunk_size=SMALL, workers=3)
    assert m.chunks == [hashlib.sha256(p).hexdigest() for p in parts]


def test_a_chunk_cut_short_is_not_trusted_and_is_written_again(tmp_path):
    """After a power loss a chunk written since the last sync() may be short: touch() with the
    length says it is absent, so the next writer stores it again, and reads stay verified."""
    store = LocalChunkStore(tmp_path / "store")
    data = os.urandom(CHUNK_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    store.put(digest, data)
    store.sync()
    assert store.touch(digest, CHUNK_SIZE)
    path = next(p for p in (tmp_path / "store").rglob(digest))
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:
        fh.truncate(CHUNK_SIZE // 3)
    assert store.touch(digest) and not store.touch(digest, CHUNK_SIZE)
    open(path, "wb").close()  # zero length: never a valid chunk
    assert not store.touch(digest)
    src = tmp_path / "one.raw"
    src.write_bytes(data)
    m = write_image(store, src)  # the writer finds it short and stores it again
    assert m.chunks == [digest]
    assert store.get(digest) == data and store.touch(digest, CHUNK_SIZE)
