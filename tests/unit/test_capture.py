"""Incremental capture of a qcow2 overlay (imaging.volumes.capture_chunks) against real qemu-img/qemu-io."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from localcvm.blobs import CHUNK_SIZE, LocalChunkStore, read_image, write_image
from localcvm.imaging import qemu_img
from localcvm.imaging.volumes import capture_chunks

MiB = 1024 * 1024


def qemu_io(path: Path, *cmds: str) -> None:
    args = ["qemu-io", "-f", "qcow2"]
    for c in cmds:
        args += ["-c", c]
    subprocess.run([*args, str(path)], check=True, capture_output=True)


def guest_view(path: Path, out: Path) -> bytes:
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(out)], check=True)
    return out.read_bytes()


def setup(tmp_path: Path, base_size: int, disk_size: int):
    store = LocalChunkStore(tmp_path / "store")
    base = tmp_path / "base.raw"
    with open(base, "wb") as fh:
        fh.write(os.urandom(base_size))
    manifest = write_image(store, base)
    overlay = tmp_path / "disk.qcow2"
    qemu_img.create(overlay, "qcow2", disk_size, backing=base, backing_fmt="raw")
    return store, base, manifest, overlay


def capture(store, overlay: Path, base_path: Path | None, base_manifest):
    info = qemu_img.info(overlay, "qcow2")
    extents = qemu_img.map_extents(overlay, "qcow2")
    return capture_chunks(store, overlay, base_path, info.virtual_size, extents, base_manifest)


def test_untouched_overlay_reuses_every_base_chunk_and_reads_nothing(tmp_path):
    store, base, manifest, overlay = setup(tmp_path, 3 * CHUNK_SIZE, 8 * CHUNK_SIZE)
    got = capture(store, overlay, base, manifest)
    assert got.chunks[:3] == manifest.chunks and got.chunks[3:] == [None] * 5
    assert got.facts["captured_chunks"] == 0


def test_writes_zeroes_and_a_short_base_tail_give_the_guest_view(tmp_path):
    base_size = 2 * CHUNK_SIZE + 123_457  # the base's last chunk is short
    store, base, manifest, overlay = setup(tmp_path, base_size, 6 * CHUNK_SIZE)
    qemu_io(overlay, f"write -P 0x61 {CHUNK_SIZE + 5} 70000",  # inside a base chunk, unaligned
            f"write -z {4 * CHUNK_SIZE} {CHUNK_SIZE}",  # explicit zeroes beyond the base
            f"write -P 0x62 {5 * CHUNK_SIZE + 4096} 4096")
    got = capture(store, overlay, base, manifest)
    # chunk 0 untouched (reused), 1 written, 2 straddles the base's end, 3 never touched, 4 zeroed, 5 written
    assert got.chunks[0] == manifest.chunks[0]
    assert got.chunks[1] != manifest.chunks[1]
    assert got.chunks[3] is None and got.chunks[4] is None
    assert got.facts["captured_chunks"] == 4
    out = tmp_path / "restored.raw"
    read_image(store, got, out)
    assert out.read_bytes() == guest_view(overlay, tmp_path / "guest.raw")


def test_without_a_base_manifest_every_data_chunk_is_read(tmp_path):
    store, base, manifest, overlay = setup(tmp_path, 2 * CHUNK_SIZE, 4 * CHUNK_SIZE)
    qemu_io(overlay, f"write -P 0x63 {3 * CHUNK_SIZE} 512")
    fresh = LocalChunkStore(tmp_path / "fresh")  # nothing of the base in it
    got = capture(fresh, overlay, base, None)
    assert got.chunks[:2] == manifest.chunks and got.chunks[2] is None and got.chunks[3] is not None
    out = tmp_path / "restored.raw"
    read_image(fresh, got, out)
    assert out.read_bytes() == guest_view(overlay, tmp_path / "guest.raw")
