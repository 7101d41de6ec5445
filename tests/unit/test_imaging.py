"""qemu-img wrapper and safe inspection, on real images made by real qemu-img."""

from __future__ import annotations

import os
import random
import struct
import subprocess

import pytest

from localcvm.blobs import LocalChunkStore, read_image, write_image
from localcvm.imaging import (
    InspectResult,
    Limits,
    QemuImgError,
    QemuImgTimeout,
    UnsafeImage,
    UnsupportedImage,
    detect_format,
    inspect_image,
    qemu_img,
    verify_with_qemu,
)

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

pytestmark = pytest.mark.usefixtures("img_qemu_img")


def make_raw(path, size=6 * MiB, seed=1) -> str:
    """A raw disk: random data, a zero gap (sparse), more random data."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.write(rnd.randbytes(2 * MiB))
        f.seek(size - MiB)
        f.write(rnd.randbytes(MiB))
    return str(path)


def qemu(*args: str) -> None:
    """Run qemu-img directly, to build test fixtures the wrapper refuses to."""
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def patch(path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def rejected(path, **kwargs) -> str:
    with pytest.raises(UnsafeImage) as info:
        inspect_image(path, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------
# Accepted formats
# --------------------------------------------------------------------------


def test_raw_is_detected(img_dir):
    r = inspect_image(make_raw(img_dir / "a.img"))
    assert (r.format, r.virtual_size) == ("raw", 6 * MiB)
    assert "qemu-img info agrees" in r.reasons


@pytest.mark.parametrize(
    "fmt, options, facts",
    [
        ("qcow2", {}, {"qcow2_version": 3}),
        ("qcow2", {"compat": "0.10"}, {"qcow2_version": 2}),
        ("vmdk", {}, {"vmdk_create_type": "monolithicSparse"}),
        ("vmdk", {"subformat": "streamOptimized"}, {"vmdk_create_type": "streamOptimized"}),
        ("vpc", {}, {"vhd_type": "dynamic"}),
        ("vpc", {"subformat": "fixed"}, {"vhd_type": "fixed"}),
    ],
)
def test_images_made_by_qemu_are_accepted(img_dir, fmt, options, facts):
    raw = make_raw(img_dir / "a.raw")
    out = img_dir / f"a.{fmt}"
    qemu_img.convert(raw, "raw", out, fmt, options=options)
    r = inspect_image(out)
    assert r.format == {"vpc": "vhd"}.get(fmt, fmt)
    assert r.virtual_size == 6 * MiB
    assert facts.items() <= r.facts.items()


def test_vhd_size_follows_qemu_geometry_rule(img_dir):
    # Without force_size qemu rounds the size up to a CHS geometry and
    # reads it back through the geometry: our header parser must agree.
    path = img_dir / "geo.vhd"
    qemu_img.create(path, "vhd", 10_000_000)
    r = inspect_image(path)  # raises if qemu disagrees
    assert r.virtual_size == qemu_img.info(path, "vpc").virtual_size != 10_000_000


# --------------------------------------------------------------------------
# Refused images
# --------------------------------------------------------------------------


def test_qcow2_with_backing_file_is_refused(img_dir):
    base = make_raw(img_dir / "base.raw")
    qemu_img.create(img_dir / "over.qcow2", "qcow2", backing=base, backing_fmt="raw")
    assert "backing file" in rejected(img_dir / "over.qcow2")


def test_qcow2_with_json_backing_spec_is_refused(img_dir):
    spec = 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/passwd"}}'
    qemu("create", "-f", "qcow2", "-u", "-b", spec, "-F", "raw", str(img_dir / "j.qcow2"), "1M")
    msg = rejected(img_dir / "j.qcow2")
    assert "json:" in msg and "/etc/passwd" in msg


def test_qcow2_with_external_data_file_is_refused(img_dir):
    path = img_dir / "d.qcow2"
    qemu("create", "-f", "qcow2", "-o", f"data_file={img_dir / 'data.raw'}", str(path), "4M")
    assert "external data file" in rejected(path)
    # Even with the feature bit cleared, the data-file header extension alone is refused.
    with open(path, "rb") as f:
        incompatible = struct.unpack(">Q", f.read(80)[72:80])[0]
    patch(path, 72, struct.pack(">Q", incompatible & ~(1 << 2)))
    msg = rejected(path)
    assert "external data file" in msg and "data.raw" in msg


def test_qcow2_over_the_size_limit_is_refused(img_dir):
    path = img_dir / "huge.qcow2"
    qemu_img.create(path, "qcow2", 10 * TiB)  # sparse: a few hundred KiB on disk
    assert os.path.getsize(path) < 4 * MiB
    msg = rejected(path, max_virtual_size=2 * TiB)
    assert "10 TiB" in msg and "2 TiB" in msg
    assert inspect_image(path, max_virtual_size=16 * TiB).virtual_size == 10 * TiB


def test_raw_over_the_size_limit_is_refused(img_dir):
    path = img_dir / "huge.raw"
    with open(path, "wb") as f:
        f.truncate(3 * TiB)
    assert "limit" in rejected(path, max_virtual_size=2 * TiB)


def test_vmdk_descriptor_pointing_at_host_files_is_refused(img_dir):
    path = img_dir / "evil.vmdk"
    path.write_text(
        "# Disk DescriptorFile\n"
        "version=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicFlat"\n\n'
        "# Extent description\n"
        'RW 2048 FLAT "/etc/passwd" 0\n'
    )
    msg = rejected(path)
    assert "descriptor" in msg and "/etc/passwd" in msg
    # Without the comment header it is still recognised (not taken as raw).
    path.write_text('createType="vmfs"\nRW 2048 VMFS "/etc/shadow"\n')
    assert "/etc/shadow" in rejected(path)


def test_vmdk_with_parent_hint_is_refused(img_dir):
    path = img_dir / "child.vmdk"
    qemu_img.create(path, "vmdk", 4 * MiB)
    data = path.read_bytes()
    end_of_descriptor = data.index(b"\0", 512)
    patch(path, end_of_descriptor, b'parentFileNameHint="/etc/shadow"\n')
    assert "parent" in rejected(path)


def test_vmdk_with_zero_capacity_header_is_refused(img_dir):
    # capacity 0 makes qemu read the embedded descriptor as a full
    # descriptor file, extents and all.
    path = img_dir / "zero.vmdk"
    qemu_img.create(path, "vmdk", 4 * MiB)
    patch(path, 12, struct.pack("<Q", 0))
    assert "zero capacity" in rejected(path)


def _vhd_set_type(path, disk_type: int) -> None:
    """Rewrite the VHD footer copy at offset 0 with a new type and checksum."""
    with open(path, "r+b") as f:
        footer = bytearray(f.read(512))
        footer[60:64] = struct.pack(">I", disk_type)
        footer[64:68] = b"\0\0\0\0"
        footer[64:68] = struct.pack(">I", ~sum(footer) & 0xFFFFFFFF)
        f.seek(0)
        f.write(footer)


def test_differencing_vhd_is_refused(img_dir):
    path = img_dir / "diff.vhd"
    qemu_img.create(path, "vhd", 4 * MiB)
    _vhd_set_type(path, 4)
    assert "parent" in rejected(path)


def test_vhd_with_bad_checksum_is_refused(img_dir):
    path = img_dir / "bad.vhd"
    qemu_img.create(path, "vhd", 4 * MiB)
    patch(path, 48, struct.pack(">Q", 8 * TiB))  # enlarge, leave the checksum stale
    assert "checksum" in rejected(path)


@pytest.mark.parametrize("fmt, name", [("vhdx", "VHDX"), ("vdi", "VDI"), ("qed", "QED")])
def test_other_formats_are_unsupported_not_raw(img_dir, fmt, name):
    path = img_dir / f"a.{fmt}"
    qemu("create", "-f", fmt, str(path), "4M")
    with pytest.raises(UnsupportedImage, match=name):
        inspect_image(path)


def test_symlinks_empty_files_and_directories_are_refused(img_dir):
    target = make_raw(img_dir / "a.raw")
    (img_dir / "link.raw").symlink_to(target)
    assert "symbolic link" in rejected(img_dir / "link.raw")
    (img_dir / "empty.raw").write_bytes(b"")
    assert "empty" in rejected(img_dir / "empty.raw")
    (img_dir / "dir.raw").mkdir()
    assert "regular file" in rejected(img_dir / "dir.raw")


def test_qemu_must_agree_with_the_header(img_dir):
    raw = make_raw(img_dir / "a.raw")
    # A wrong verdict (size or format) is caught by the qemu-img cross-check.
    with pytest.raises(UnsafeImage, match="virtual size"):
        verify_with_qemu(raw, InspectResult("raw", 5 * MiB))
    with pytest.raises(UnsafeImage, match="cannot read the image as qcow2"):
        verify_with_qemu(raw, InspectResult("qcow2", 6 * MiB))
    # detect_format alone never runs qemu.
    assert detect_format(raw).reasons == ("no known image header: treated as a raw disk",)


# --------------------------------------------------------------------------
# qemu-img wrapper
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["qcow2", "vmdk", "vhd"])
def test_convert_round_trip(img_dir, fmt):
    raw = make_raw(img_dir / "a.raw", seed=5)
    mid = img_dir / f"a.{fmt}"
    back = img_dir / "b.raw"
    seen: list[float] = []
    qemu_img.convert(raw, "raw", mid, fmt, progress=seen.append)
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)
    qemu_img.convert(mid, fmt, back, "raw")
    assert qemu_img.compare(raw, "raw", mid, fmt, strict=False)
    assert qemu_img.compare(raw, "raw", back, "raw", strict=True)
    assert os.path.getsize(back) == 6 * MiB  # vhd keeps the exact size (force_size)


def test_compare_detects_a_difference(img_dir):
    a = make_raw(img_dir / "a.raw", seed=1)
    b = img_dir / "b.raw"
    qemu_img.convert(a, "raw", b, "qcow2")
    assert qemu_img.compare(a, "raw", b, "qcow2")
    patch(a, 3 * MiB + 17, b"x")
    assert not qemu_img.compare(a, "raw", b, "qcow2")


def test_info_and_create_with_backing(img_dir):
    base = make_raw(img_dir / "base.raw")
    qemu_img.create(img_dir / "over.qcow2", "qcow2", backing=base, backing_fmt="raw")
    info = qemu_img.info(img_dir / "over.qcow2", "qcow2")
    assert info.format == "qcow2" and info.virtual_size == 6 * MiB
    assert info.backing_file == base and info.data_file is None
    with pytest.raises(ValueError):
        qemu_img.create(img_dir / "x.qcow2", "qcow2", backing=base)  # no implicit probing
    with pytest.raises(ValueError):
        qemu_img.create(img_dir / "x.qcow2", "qcow2")  # no size


def test_errors_carry_qemu_stderr(img_dir):
    raw = make_raw(img_dir / "a.raw")
    with pytest.raises(QemuImgError) as info:
        qemu_img.info(raw, "qcow2")
    assert "qcow2" in str(info.value) and info.value.stderr
    with pytest.raises(QemuImgError, match="No such file"):
        qemu_img.info(img_dir / "missing.raw", "raw")
    with pytest.raises(ValueError):
        qemu_img.info(raw, "nbd")  # only whitelisted drivers


def test_paths_are_never_protocols(img_dir, monkeypatch):
    # A relative file named like a protocol spec is opened as a file.
    monkeypatch.chdir(img_dir)
    make_raw(img_dir / "nbd:localhost:10809")
    assert qemu_img.info("nbd:localhost:10809", "raw").virtual_size == 6 * MiB


def test_resource_limits_are_enforced(img_dir):
    raw = make_raw(img_dir / "a.raw")
    with pytest.raises(QemuImgError):
        qemu_img.info(raw, "raw", limits=Limits(address_space=8 * MiB, cpu_seconds=5, timeout=30))
    with pytest.raises(QemuImgTimeout, match="timed out"):
        qemu_img.convert(raw, "raw", img_dir / "b.qcow2", "qcow2", limits=Limits(GiB, 5, timeout=0.001))
    with pytest.raises(QemuImgTimeout):
        qemu_img.convert(
            raw, "raw", img_dir / "c.qcow2", "qcow2", progress=lambda p: None, limits=Limits(GiB, 5, timeout=0.001)
        )


def test_import_pipeline_end_to_end(img_dir):
    """Untrusted qcow2 -> inspect -> raw -> chunks -> raw: same disk."""
    src = img_dir / "upload.qcow2"
    qemu_img.convert(make_raw(img_dir / "orig.raw", seed=9), "raw", src, "qcow2")
    found = inspect_image(src, max_virtual_size=GiB)
    qemu_img.convert(src, found.format, img_dir / "disk.raw", "raw")
    store = LocalChunkStore(img_dir / "store")
    m = write_image(store, img_dir / "disk.raw", facts={"source_format": found.format})
    read_image(store, m, img_dir / "out.raw")
    assert os.path.getsize(img_dir / "out.raw") == found.virtual_size
    assert qemu_img.compare(src, "qcow2", img_dir / "out.raw", "raw")
