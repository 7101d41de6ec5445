"""Public images are backed by real (small) disks in each region's chunk store."""

from __future__ import annotations

from localcvm.blobs import read_image
from localcvm.config import Settings
from localcvm.services.core import Services


def test_public_image_disk_is_materialised_per_region(tmp_path):
    services = Services(Settings.load(data_dir=tmp_path / "data", workers=0))
    try:
        images = services.images
        ubuntu = next(v for v in images.catalogue.public if v.os_name.startswith("Ubuntu Server 22.04 LTS 64"))
        manifest = images.system_manifest("ap-guangzhou", ubuntu.image_id)
        assert manifest.virtual_size == ubuntu.size_gib * 1024**3  # the disk is as large as ImageSize says
        assert len(manifest.digests()) == 2  # ... but stores its first 2 MiB (MBR and labels); the rest are holes
        out = tmp_path / "ubuntu.raw"
        read_image(services.blobs.store("ap-guangzhou"), manifest, out)
        with open(out, "rb") as fh:
            head = fh.read(512)
        assert head[510:512] == b"\x55\xaa"  # an MBR
        assert head[446 + 4] == 0x83  # one Linux partition
        assert ubuntu.image_id.encode() in head
        assert out.stat().st_blocks * 512 < 64 * 1024**2  # sparse on disk
        # another region gets its own copy of the chunk
        images.system_manifest("ap-singapore", ubuntu.image_id)
        assert all(services.blobs.store("ap-singapore").has(d) for d in manifest.digests())
        windows = next(v for v in images.catalogue.public if v.os_type == "Windows")
        win_manifest = images.system_manifest("ap-guangzhou", windows.image_id)
        assert win_manifest.virtual_size == 50 * 1024**3
    finally:
        services.close()
