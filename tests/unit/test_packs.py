"""Pack files of the local chunk store (blobs/packs.py): bulk writes, reads, crash recovery, gc."""

from __future__ import annotations

import mmap
import os
import signal
import subprocess
import sys
import time

import pytest

from localcvm.blobs import ChunkCorrupt, ChunkMissing, LocalChunkStore, gc, sha256_hex
from localcvm.blobs.packfile import HEADER, record_header, scan_pack

MiB = 1024 * 1024


def chunk(seed: int, size: int = MiB) -> bytes:
    return (seed.to_bytes(4, "big") * (size // 4 + 1))[:size]


def pack_files(root, suffix: str) -> list[str]:
    return sorted(n for n in os.listdir(os.path.join(root, "packs")) if n.endswith(suffix))


def write_packed(store: LocalChunkStore, datas: list[bytes]) -> list[str]:
    digests = [sha256_hex(d) for d in datas]
    with store.writer() as w:
        for d, data in zip(digests, datas):
            w.put(d, data)
    return digests


def test_writer_packs_chunks_into_one_file_readable_every_way(tmp_path):
    store = LocalChunkStore(tmp_path / "s")
    datas = [chunk(i) for i in range(5)] + [chunk(99, 12345)]  # a short last chunk: not 4 KiB aligned
    digests = write_packed(store, datas)
    assert len(pack_files(store.root, ".pack")) == 1
    assert pack_files(store.root, ".open") == []
    assert not [p for p in (tmp_path / "s" / "chunks").rglob("*") if p.is_file()]  # no loose chunk files
    aligned = memoryview(mmap.mmap(-1, MiB))
    unaligned = memoryview(bytearray(MiB + 1))[1:]
    for d, data in zip(digests, datas):
        assert store.has(d) and store.touch(d, len(data)) and not store.touch(d, len(data) + 1)
        assert store.get(d) == data
        assert store.read_into(d, aligned) == len(data) and aligned[: len(data)] == data  # direct I/O
        assert store.read_into(d, unaligned) == len(data) and unaligned[: len(data)] == data  # buffered
    with pytest.raises(ChunkCorrupt):
        store.read_into(digests[0], memoryview(bytearray(100)))  # too small a buffer
    assert sorted(store.iter_digests()) == sorted(digests)
    assert store.bytes_stored() == sum(map(len, datas))
    # a second writer skips what the packs already hold
    with store.writer() as w:
        assert w.put(digests[0], datas[0]) is False
    assert len(pack_files(store.root, ".pack")) == 1


def test_another_store_finds_sealed_packs_with_or_without_their_index(tmp_path):
    a = LocalChunkStore(tmp_path / "s")
    b = LocalChunkStore(tmp_path / "s")  # opened before the pack exists: finds it on a miss
    digests = write_packed(a, [chunk(i) for i in range(3)])
    assert b.get(digests[1]) == chunk(1)
    (idx,) = pack_files(a.root, ".idx")
    os.unlink(os.path.join(a.root, "packs", idx))
    c = LocalChunkStore(tmp_path / "s")  # rebuilt from the headers
    assert sorted(c.iter_digests()) == sorted(digests)
    assert pack_files(a.root, ".idx") == [idx]
    with open(os.path.join(a.root, "packs", idx), "r+b") as f:  # a damaged index is not trusted
        f.seek(20)
        f.write(b"\xff\xff\xff")
    d = LocalChunkStore(tmp_path / "s")
    assert sorted(d.iter_digests()) == sorted(digests) and d.get(digests[2]) == chunk(2)


def test_a_live_writer_is_left_alone_and_a_dead_ones_pack_is_recovered(tmp_path):
    a = LocalChunkStore(tmp_path / "s")
    w = a.writer()
    digests = [sha256_hex(chunk(i)) for i in range(3)]
    for i, d in enumerate(digests):
        w.put(d, chunk(i))
    assert a.get(digests[0]) == chunk(0)  # readable here before sealing
    (open_pack,) = pack_files(a.root, ".open")
    b = LocalChunkStore(tmp_path / "s")  # the pack is locked: another store neither lists nor seals it
    assert list(b.iter_digests()) == [] and pack_files(a.root, ".open") == [open_pack]
    w.close()
    assert b.get(digests[2]) == chunk(2)
    assert pack_files(a.root, ".open") == []

    # a writer killed mid-pack (kill -9): complete records survive, a torn last one does not
    script = f"""
import os, signal, sys
sys.path[:0] = {sys.path!r}
from localcvm.blobs import LocalChunkStore, sha256_hex
s = LocalChunkStore({str(tmp_path / "k")!r})
w = s.writer()
for i in range(10, 14):
    data = (i.to_bytes(4, "big") * ({MiB} // 4 + 1))[:{MiB}]
    w.put(sha256_hex(data), data)
print("written", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "written" in proc.stdout, proc.stderr
    root = tmp_path / "k"
    (left,) = pack_files(root, ".open")
    path = root / "packs" / left
    size = path.stat().st_size
    assert size == 4 * (HEADER + MiB)
    with open(path, "ab") as f:  # a fifth record cut short by the kill
        f.write(record_header(sha256_hex(chunk(14)), MiB) + chunk(14)[:1000])
    killed = [sha256_hex(chunk(i)) for i in range(10, 14)]
    k = LocalChunkStore(root)
    assert sorted(k.iter_digests()) == sorted(killed)
    assert pack_files(root, ".open") == [] and len(pack_files(root, ".pack")) == 1
    assert (root / "packs" / pack_files(root, ".pack")[0]).stat().st_size == size  # torn tail dropped
    assert all(k.get(d) == chunk(i) for i, d in zip(range(10, 14), killed))


def test_gc_punches_packed_chunks_and_removes_empty_packs(tmp_path):
    store = LocalChunkStore(tmp_path / "s")
    digests = write_packed(store, [chunk(i) for i in range(4)])
    (pack,) = pack_files(store.root, ".pack")
    path = tmp_path / "s" / "packs" / pack
    old = time.time() - 7200
    os.utime(path, (old, old))
    before = store.bytes_on_disk()
    # recently reused chunks (touch refreshes the pack) are spared by the grace period
    store.touch(digests[0])
    assert gc(store, digests[:2], grace_seconds=600) == (0, 0)
    os.utime(path, (old, old))
    removed, freed = gc(store, digests[:2], grace_seconds=600)
    assert (removed, freed) == (2, 2 * MiB)
    assert store.bytes_on_disk() <= before - 2 * MiB  # the space is given back at once (hole punched)
    assert path.stat().st_mtime == pytest.approx(old, abs=1)  # removing is not reusing
    assert sorted(store.iter_digests()) == sorted(digests[:2])
    assert sorted(d for d, _, _ in scan_pack(path)) == sorted(digests[:2])  # the holes hold no header
    for d in digests[2:]:
        assert not store.has(d)
        with pytest.raises(ChunkMissing):
            store.get(d)
    again = LocalChunkStore(tmp_path / "s")  # the stale index was dropped: the headers tell the truth
    assert sorted(again.iter_digests()) == sorted(digests[:2])
    assert gc(again, [], grace_seconds=0) == (2, 2 * MiB)
    assert pack_files(store.root, ".pack") == [] and pack_files(store.root, ".idx") == []
    # the first store's index is stale now: its reads say missing, never return other bytes
    with pytest.raises(ChunkMissing):
        store.get(digests[0])


def test_a_chunk_punched_by_another_process_is_not_counted_as_stored(tmp_path):
    server = LocalChunkStore(tmp_path / "s")
    digests = write_packed(server, [chunk(i) for i in range(3)])
    cli = LocalChunkStore(tmp_path / "s")  # e.g. `localcvm images gc` in its own process
    assert gc(cli, digests[1:], grace_seconds=0) == (1, MiB)
    # the server's index still lists the chunk: a dedup must not trust it
    assert not server.touch(digests[0], MiB) and not server.has(digests[0])
    with pytest.raises(ChunkMissing):
        server.get(digests[0])
    assert server.touch(digests[1], MiB) and server.get(digests[2]) == chunk(2)
    with server.writer() as w:  # so the next copy writes it again
        assert w.put(digests[0], chunk(0)) is True
    assert server.get(digests[0]) == chunk(0)


def test_a_corrupt_packed_chunk_is_refused(tmp_path):
    store = LocalChunkStore(tmp_path / "s")
    digests = write_packed(store, [chunk(i) for i in range(2)])
    (pack,) = pack_files(store.root, ".pack")
    path = tmp_path / "s" / "packs" / pack
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(HEADER + MiB + HEADER + 500)  # inside the second record's data
        f.write(b"\x00\x01\x02")
    assert store.get(digests[0]) == chunk(0)
    with pytest.raises(ChunkCorrupt):
        store.get(digests[1])
    with pytest.raises(ChunkCorrupt):
        store.read_into(digests[1], memoryview(mmap.mmap(-1, MiB)))


def test_a_symlinked_pack_is_never_followed(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"x" * 8192)
    store = LocalChunkStore(tmp_path / "s")
    (tmp_path / "s" / "packs" / "deadbeef.pack").symlink_to(secret)
    again = LocalChunkStore(tmp_path / "s")
    assert list(again.iter_digests()) == []
    assert secret.read_bytes() == b"x" * 8192 and store.bytes_stored() == 0
