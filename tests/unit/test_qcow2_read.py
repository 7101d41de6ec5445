"""The direct qcow2 reader reads the same guest bytes as `qemu-img convert -O raw`, or declines.

Images are made by the real qemu-img/qemu-io in the layouts an import meets: several cluster
sizes, version 2 and 3, zero clusters, clusters allocated out of guest order, an internal
snapshot (the active layer is read), a sparse tail. Layouts it does not read (compressed
clusters, subclusters) and damaged tables make it decline, so the import converts instead.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import pytest

from localcvm.imaging.qcow2_read import open_qcow2
from qcow2_util import LAYOUTS, _image, _qemu, _raw_digest


def _read_digest(path: Path, bufsize: int) -> tuple[int, str] | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = open_qcow2(fd)
        if reader is None:
            return None
        h, total, buf = hashlib.sha256(), 0, memoryview(bytearray(bufsize))
        while n := reader.readinto(buf):
            h.update(buf[:n])
            total += n
        return total, h.hexdigest()
    finally:
        os.close(fd)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("bufsize", [1 << 20, 12345])
def test_reads_what_qemu_img_converts(tmp_path, layout, bufsize):
    size, opts, *io = LAYOUTS[layout]
    path = _image(tmp_path, f"{layout}.qcow2", size, opts, *io)
    assert _read_digest(path, bufsize) == _raw_digest(path, tmp_path)


def test_reads_the_active_layer_not_a_snapshot(tmp_path):
    path = _image(tmp_path, "snap.qcow2", "8M", "cluster_size=65536", "write -P 1 0 2M")
    _qemu("qemu-img", "snapshot", "-c", "before", str(path))
    _qemu("qemu-io", "-f", "qcow2", "-c", "write -P 2 1M 2M", str(path))
    assert _read_digest(path, 1 << 20) == _raw_digest(path, tmp_path)


def test_converted_qcow2_of_random_data(tmp_path):
    raw = tmp_path / "r.raw"
    raw.write_bytes(os.urandom(3 << 20) + bytes(1 << 20) + os.urandom(5000))
    path = tmp_path / "r.qcow2"
    _qemu("qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(path))
    data = raw.read_bytes()
    data += bytes(-len(data) % 512)  # a qcow2's virtual size is whole sectors
    assert _read_digest(path, 1 << 20) == (len(data), hashlib.sha256(data).hexdigest())


def test_declines_compressed_and_subcluster_images(tmp_path):
    raw = tmp_path / "r.raw"
    raw.write_bytes(b"compressible " * 200000)
    for name, extra in (("c.qcow2", ["-c"]), ("e.qcow2", ["-o", "extended_l2=on"])):
        _qemu("qemu-img", "convert", "-f", "raw", "-O", "qcow2", *extra, str(raw), str(tmp_path / name))
        assert _read_digest(tmp_path / name, 1 << 20) is None, name


def _l1_offset(path: Path) -> int:
    return struct.unpack(">Q", path.read_bytes()[40:48])[0]


def test_declines_damaged_tables(tmp_path):
    # an L2 entry pointing past the end of the file
    path = _image(tmp_path, "d.qcow2", "8M", "cluster_size=65536", "write -P 1 0 1M")
    with open(path, "r+b") as fh:
        fh.seek(_l1_offset(path))
        l2 = struct.unpack(">Q", fh.read(8))[0] & 0x00FFFFFFFFFFFE00
        fh.seek(l2)
        fh.write(struct.pack(">Q", (1 << 63) | (1 << 40)))
    assert _read_digest(path, 1 << 20) is None
    # a misaligned L2 table offset
    path = _image(tmp_path, "m.qcow2", "8M", "cluster_size=65536", "write -P 1 0 1M")
    with open(path, "r+b") as fh:
        fh.seek(_l1_offset(path))
        entry = struct.unpack(">Q", fh.read(8))[0]
        fh.seek(_l1_offset(path))
        fh.write(struct.pack(">Q", entry + 512))
    assert _read_digest(path, 1 << 20) is None
    # a truncated file
    path = _image(tmp_path, "t.qcow2", "8M", "cluster_size=65536", "write -P 1 0 1M")
    path.write_bytes(path.read_bytes()[:100])
    assert _read_digest(path, 1 << 20) is None
