"""write_stream: a raw disk chunked as it arrives gives the same manifest and bytes as write_image
of the same file, whatever the pieces' sizes; the last chunk waits for check_last."""

from __future__ import annotations

import filecmp
import os
import random

import pytest

from localcvm.blobs import LocalChunkStore, read_image, write_image
from localcvm.blobs.stream import write_stream

SMALL = 64 * 1024


def pieces_of(data: bytes, sizes):
    at, i = 0, 0
    while at < len(data):
        n = sizes[i % len(sizes)]
        yield data[at:at + n]
        at, i = at + n, i + 1


@pytest.mark.parametrize("sizes", [[1], [SMALL], [1000, 70_000, 3], [5 * SMALL]])
def test_same_manifest_as_write_image(tmp_path, sizes):
    rng = random.Random(3)
    data = rng.randbytes(5 * SMALL) + bytes(2 * SMALL) + rng.randbytes(SMALL // 3)  # a hole, a short tail
    (tmp_path / "a.raw").write_bytes(data)
    if sizes == [1]:
        data = data[: 2 * SMALL + 17]
        (tmp_path / "a.raw").write_bytes(data)
    a, b = LocalChunkStore(tmp_path / "a"), LocalChunkStore(tmp_path / "b")
    expected = write_image(a, tmp_path / "a.raw", chunk_size=SMALL)
    got = write_stream(b, pieces_of(data, sizes), chunk_size=SMALL)
    assert got.chunks == expected.chunks and got.virtual_size == len(data)
    read_image(b, got, tmp_path / "out.raw")
    assert filecmp.cmp(tmp_path / "a.raw", tmp_path / "out.raw", shallow=False)
    assert not any(name.endswith(".open") for name in os.listdir(tmp_path / "b" / "packs"))  # sealed


def test_check_last_sees_the_tail_before_the_last_chunk_is_stored(tmp_path):
    data = random.Random(4).randbytes(3 * SMALL) + b"conectix" + bytes(504)
    store = LocalChunkStore(tmp_path / "s")
    seen = []

    class Refused(Exception):
        pass

    def check(tail: bytes) -> None:
        seen.append(tail)
        raise Refused

    with pytest.raises(Refused):
        write_stream(store, pieces_of(data, [4096]), chunk_size=SMALL, check_last=check)
    assert seen == [data[-512:]]
    # the held-back last chunk (the footer) was never stored
    from localcvm.blobs import sha256_hex

    assert not store.has(sha256_hex(data[3 * SMALL:]))


def test_an_empty_stream_is_an_empty_manifest(tmp_path):
    m = write_stream(LocalChunkStore(tmp_path / "s"), iter([]), chunk_size=SMALL)
    assert m.virtual_size == 0 and m.chunks == []
