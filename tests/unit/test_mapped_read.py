"""VMDK and VHD images read as raw guest bytes from the runs qemu-img map shows stored in place."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess

import pytest

from localcvm.imaging.mapped_read import map_usable, open_mapped
from localcvm.imaging.qemu_img import Extent

MiB = 1 << 20
SIZE = 24 * MiB


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    path = tmp_path_factory.mktemp("mapped") / "disk.raw"
    rng = random.Random(3)
    with open(path, "wb") as fh:
        fh.truncate(SIZE)
        for at in (0, 5 * MiB + 4096, 13 * MiB, SIZE - MiB // 2):
            fh.seek(at)
            fh.write(rng.randbytes(MiB // 2))
    return path


def _convert(raw, fmt: str, *opts: str):
    out = raw.with_name(f"disk-{fmt}-{'-'.join(opts) or 'plain'}.img")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *[a for o in opts for a in ("-o", o)],
                    str(raw), str(out)], check=True, capture_output=True)
    return out


def _read_all(reader, piece: int) -> bytes:
    out = bytearray()
    buf = memoryview(bytearray(piece))
    while n := reader.readinto(buf):
        out += buf[:n]
    return bytes(out)


@pytest.mark.parametrize(("fmt", "opts", "product"), [
    ("vmdk", (), "vmdk"),                                   # monolithicSparse
    ("vpc", ("subformat=dynamic", "force_size=on"), "vhd"),
    ("vpc", ("subformat=fixed", "force_size=on"), "vhd"),
])
@pytest.mark.parametrize("piece", [MiB, 3 * 65536 + 512])  # aligned, and runs split across reads
def test_stored_in_place_reads_back_the_disk(raw, fmt, opts, product, piece):
    image = _convert(raw, fmt, *opts)
    fd = os.open(image, os.O_RDONLY)
    try:
        reader = open_mapped(fd, image, product, SIZE)
        assert reader is not None
        got = _read_all(reader, piece)
    finally:
        os.close(fd)
    assert len(got) == SIZE
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(raw.read_bytes()).hexdigest()


@pytest.mark.parametrize(("fmt", "opts", "product"), [
    ("vmdk", ("subformat=streamOptimized",), "vmdk"),  # compressed grains: no offset to read from
])
def test_compressed_data_is_declined(raw, fmt, opts, product):
    image = _convert(raw, fmt, *opts)
    fd = os.open(image, os.O_RDONLY)
    try:
        assert open_mapped(fd, image, product, SIZE) is None
    finally:
        os.close(fd)


def test_a_map_that_does_not_cover_the_disk_is_declined(raw):
    image = _convert(raw, "vmdk")
    fd = os.open(image, os.O_RDONLY)
    try:
        assert open_mapped(fd, image, "vmdk", SIZE + MiB) is None  # the size inspection reported differs
    finally:
        os.close(fd)


def _e(start, length, *, data=True, zero=False, depth=0, offset=-1):
    return Extent(start, length, depth, True, zero, data, start if offset == -1 else offset)


@pytest.mark.parametrize(("why", "extents"), [
    ("a gap", [_e(0, MiB), _e(2 * MiB, 2 * MiB)]),
    ("an overlap", [_e(0, 2 * MiB), _e(MiB, 3 * MiB)]),
    ("short of the disk", [_e(0, 3 * MiB)]),
    ("a backing layer", [_e(0, MiB), _e(MiB, 3 * MiB, depth=1)]),
    ("compressed data", [_e(0, MiB), _e(MiB, 3 * MiB, offset=None)]),
    ("data past the file", [_e(0, MiB), _e(MiB, 3 * MiB, offset=8 * MiB)]),
])
def test_maps_that_do_not_check_out_are_declined(why, extents):
    assert not map_usable(extents, 4 * MiB, 8 * MiB), why


def test_zeros_need_no_offset():
    assert map_usable([_e(0, MiB), _e(MiB, 3 * MiB, data=False, offset=None)], 4 * MiB, 2 * MiB)
