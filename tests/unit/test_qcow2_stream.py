"""The streaming qcow2 reader: the guest bytes of a qcow2 read as it arrives, or NotStreamable.

It must never give wrong bytes: for every layout it either reads exactly what
`qemu-img convert -O raw` gives, or declines. Files written by `qemu-img convert` (what users
upload) must stream; images grown by a guest (clusters allocated out of order) may decline.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from pathlib import Path

import pytest

from localcvm.imaging.qcow2_stream import NotStreamable, Qcow2Stream

from qcow2_util import LAYOUTS, _image, _qemu, _raw_digest


class _Pieces:
    """The file in pieces of random sizes, as a download arrives."""

    def __init__(self, data: bytes, seed: int):
        self.data, self.pos, self.rng = memoryview(data), 0, random.Random(seed)

    def readinto(self, buf: memoryview) -> int:
        n = min(len(buf), len(self.data) - self.pos, self.rng.choice((1, 511, 4096, 65536, 1 << 20)))
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


class _Full(_Pieces):
    """A source that fills every buffer (as the import's download does)."""

    def readinto(self, buf: memoryview) -> int:
        got = 0
        while got < len(buf) and (n := super().readinto(buf[got:])):
            got += n
        return got


def _stream_digest(path: Path, bufsize: int, seed: int = 1) -> tuple[int, str]:
    data = path.read_bytes()
    stream = Qcow2Stream(_Full(data, seed), data[:65536])
    h, total, buf = hashlib.sha256(), 0, memoryview(bytearray(bufsize))
    while n := stream.readinto(buf):
        h.update(buf[:n])
        total += n
    return total, h.hexdigest()


def _converted(tmp: Path, name: str, raw_bytes: bytes, *opts: str) -> Path:
    raw = tmp / f"{name}.raw"
    raw.write_bytes(raw_bytes)
    out = tmp / f"{name}.qcow2"
    _qemu("qemu-img", "convert", "-f", "raw", "-O", "qcow2", *opts, str(raw), str(out))
    return out


@pytest.mark.parametrize("opts", [(), ("-o", "cluster_size=4096"), ("-o", "cluster_size=2M"), ("-o", "compat=0.10"),
                                  ("-o", "cluster_size=512")])
@pytest.mark.parametrize("bufsize", [1 << 20, 7777])
def test_qemu_img_convert_output_streams(tmp_path, opts, bufsize):
    rng = random.Random(3)
    disk = rng.randbytes(3 << 20) + bytes(2 << 20) + rng.randbytes(1 << 20) + bytes(777) + rng.randbytes(4096)
    path = _converted(tmp_path, "c", disk, *opts)
    assert _stream_digest(path, bufsize) == _raw_digest(path, tmp_path)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_any_layout_streams_right_or_declines(tmp_path, layout):
    size, opts, *io = LAYOUTS[layout]
    path = _image(tmp_path, f"{layout}.qcow2", size, opts, *io)
    try:
        got = _stream_digest(path, 1 << 20, seed=len(layout))
    except NotStreamable:
        return
    assert got == _raw_digest(path, tmp_path)


def test_declines_what_it_cannot_read_in_one_pass(tmp_path):
    compressible = b"compressible " * 300000
    with pytest.raises(NotStreamable):
        _stream_digest(_converted(tmp_path, "z", compressible, "-c"), 1 << 20)
    with pytest.raises(NotStreamable):
        _stream_digest(_converted(tmp_path, "e", compressible, "-o", "extended_l2=on"), 1 << 20)
    # a guest that wrote the end of its disk first: the data arrives out of guest order
    path = _image(tmp_path, "ooo.qcow2", "16M", "cluster_size=65536", "write -P 9 12M 1M", "write -P 3 0 1M")
    with pytest.raises(NotStreamable):
        _stream_digest(path, 1 << 20)


def test_a_truncated_stream_reads_zeros_past_its_end(tmp_path):
    rng = random.Random(5)
    path = _converted(tmp_path, "t", rng.randbytes(4 << 20))
    cut = tmp_path / "cut.qcow2"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) - (1 << 20) - 1000])  # the last data clusters missing
    assert _stream_digest(cut, 1 << 20) == _raw_digest(cut, tmp_path)


def test_preallocated_metadata_streams_or_declines(tmp_path):
    path = tmp_path / "pre.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", str(path), "64M"],
                   check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 4 1M 3M", str(path)], check=True, capture_output=True)
    try:
        got = _stream_digest(path, 1 << 20)
    except NotStreamable:
        return
    assert got == _raw_digest(path, tmp_path)
