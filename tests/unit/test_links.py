"""Zero-copy copies between local stores on one file system (blobs.links): the destination takes
the chunks as hard links, stays byte-identical and independent of the source (deleting and gc'ing
the source, or gc in the destination, never touches the other side's bytes)."""

from __future__ import annotations

import filecmp
import os
import random

import pytest

from localcvm.blobs import ChunkCorrupt, LocalChunkStore, copy_missing_chunks, gc, read_image, write_image

SMALL = 64 * 1024


def block(seed: int, size: int = SMALL) -> bytes:
    return random.Random(seed).randbytes(size)


def make_file(path, parts) -> str:
    with open(path, "wb") as f:
        for p in parts:
            f.write(p)
    return str(path)


def packed_image(store: LocalChunkStore, tmp_path, seeds, name="a.raw"):
    """An image whose chunks sit in a pack of ``store`` (a bulk copy into it, as the sync job writes)."""
    staging = LocalChunkStore(tmp_path / f"staging-{name}")
    m = write_image(staging, make_file(tmp_path / name, [block(s) for s in seeds]), chunk_size=SMALL)
    copy_missing_chunks(staging, store, m, zero_copy=False)
    staging.close()
    return m


def inodes(store: LocalChunkStore) -> set[int]:
    found = set()
    for top, _dirs, names in os.walk(store.root):
        for n in names:
            if not n.startswith("."):
                found.add(os.stat(os.path.join(top, n)).st_ino)
    return found


def test_a_packed_image_is_linked_not_copied(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = packed_image(src, tmp_path, range(8))
    written, progress = [], []
    assert copy_missing_chunks(src, dst, m, before_put=written.append,
                               progress=lambda d, t: progress.append((d, t))) == 0
    assert written == []  # no chunk went through the byte path
    assert progress[-1] == (8 * SMALL, 8 * SMALL)
    (pack,) = [p for p in os.listdir(tmp_path / "dst" / "packs") if p.endswith(".pack")]
    assert os.stat(tmp_path / "dst" / "packs" / pack).st_nlink == 2  # one inode, two names
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def loose_image(store: LocalChunkStore, tmp_path, seeds):
    """An image whose chunks are loose files (single puts, as older versions stored every chunk)."""
    from localcvm.blobs import Manifest, sha256_hex

    parts = [block(s) for s in seeds]
    for p in parts:
        store.put(sha256_hex(p), p)
    make_file(tmp_path / "a.raw", parts)
    return Manifest(virtual_size=len(parts) * SMALL, chunk_size=SMALL, chunks=[sha256_hex(p) for p in parts])


def test_loose_chunks_are_linked_too(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = loose_image(src, tmp_path, range(5))
    assert copy_missing_chunks(src, dst, m) == 0
    assert inodes(dst) <= inodes(src) and len(inodes(dst)) == 5
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def test_the_copy_survives_deleting_and_gc_of_the_source(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    keep = packed_image(src, tmp_path, range(100, 104), name="keep.raw")  # same pack? no: its own
    m = packed_image(src, tmp_path, range(8))
    copy_missing_chunks(src, dst, m)
    # the source drops the image (its manifest is gone) and collects: records are punched there
    gc(src, keep.digests(), grace_seconds=0)
    assert not any(src.has(d) for d in m.digests())
    for d in m.digests():  # the destination's bytes are untouched, verified on read
        assert dst.get(d)
    read_image(dst, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)
    for name in os.listdir(tmp_path / "dst" / "packs"):
        if name.endswith(".pack"):
            assert os.stat(tmp_path / "dst" / "packs" / name).st_nlink == 1  # the source unshared first


def test_gc_in_the_destination_leaves_the_source_whole(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = packed_image(src, tmp_path, range(6))
    copy_missing_chunks(src, dst, m)
    gc(dst, set(), grace_seconds=0)  # the destination's copy is deleted
    assert not any(dst.has(d) for d in m.digests())
    read_image(src, m, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def test_a_partial_destination_links_only_what_it_lacks_and_resumes(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = loose_image(src, tmp_path, range(6))
    first = m.chunks[0]
    dst.put(first, src.get(first))  # already there as its own bytes (e.g. an earlier copy)
    before = os.stat(os.path.join(dst.root, "chunks", first[:2], first[2:4], first)).st_ino
    assert copy_missing_chunks(src, dst, m) == 0
    assert os.stat(os.path.join(dst.root, "chunks", first[:2], first[2:4], first)).st_ino == before
    assert copy_missing_chunks(src, dst, m) == 0  # a second run finds everything present


def test_zero_copy_off_copies_bytes(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = packed_image(src, tmp_path, range(4))
    assert copy_missing_chunks(src, dst, m, zero_copy=False) == 4 * SMALL
    assert not inodes(dst) & inodes(src)


def test_a_corrupt_linked_chunk_is_still_refused_on_read(tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), LocalChunkStore(tmp_path / "dst")
    m = loose_image(src, tmp_path, range(3))
    copy_missing_chunks(src, dst, m)
    victim = m.chunks[1]
    with open(os.path.join(src.root, "chunks", victim[:2], victim[2:4], victim), "r+b") as f:
        f.seek(10)
        f.write(b"\xff\xfe")
    with pytest.raises(ChunkCorrupt):
        dst.get(victim)


def test_s3_to_s3_copies_are_server_side(blob_s3_server, blob_store_factory, tmp_path, monkeypatch):
    """Two S3-backed regions on one endpoint: the copy is CopyObject, no chunk byte read or written
    by localcvm; the destination reads back byte-identical, and survives the source's deletion."""
    src, dst = blob_store_factory("s3"), blob_store_factory("s3")
    m = write_image(src, make_file(tmp_path / "a.raw", [block(s) for s in range(80)]), chunk_size=SMALL)
    first = m.chunks[0]
    dst.put(first, src.get(first))  # one chunk already there: touched, not copied

    def no_bytes(*_a, **_k):
        raise AssertionError("a chunk's bytes went through localcvm")

    for store in (src, dst):
        monkeypatch.setattr(store, "get", no_bytes)
        monkeypatch.setattr(store, "read_into", no_bytes)
        monkeypatch.setattr(store, "put", no_bytes)
    progress = []
    assert copy_missing_chunks(src, dst, m, progress=lambda d, t: progress.append((d, t))) == 0
    assert progress[-1] == (80 * SMALL, 80 * SMALL)
    monkeypatch.undo()
    for d in m.digests():
        src.delete(d)
    read_image(dst, m, tmp_path / "out.raw")  # every chunk verified against its SHA-256
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)


def test_local_to_s3_copies_bytes(blob_s3_server, blob_store_factory, tmp_path):
    src, dst = LocalChunkStore(tmp_path / "src"), blob_store_factory("s3")
    m = packed_image(src, tmp_path, range(3))
    assert copy_missing_chunks(src, dst, m) == 3 * SMALL  # different backends: the byte path


def test_s3_server_side_copy_is_checked_against_the_sources_listing(blob_s3_server, blob_store_factory, tmp_path,
                                                                    monkeypatch):
    """Without a SHA-256 from the server (SeaweedFS gives none), each copy's ETag is compared with the
    source's ETag from one listing: a mismatch is ChunkCorrupt and leaves no object behind."""
    src, dst = blob_store_factory("s3"), blob_store_factory("s3")
    m = write_image(src, make_file(tmp_path / "a.raw", [block(s) for s in range(70)]), chunk_size=SMALL)
    listed = src.etags()
    assert set(listed) == set(m.digests())
    victim = m.chunks[5]
    monkeypatch.setattr(src, "head", lambda *_a: (_ for _ in ()).throw(AssertionError("a HEAD per chunk")))
    monkeypatch.setattr(src, "etags", lambda: {**listed, victim: ('"0123456789abcdef0123456789abcdef"', SMALL)})
    with pytest.raises(ChunkCorrupt):
        copy_missing_chunks(src, dst, m)
    assert not dst.has(victim)
