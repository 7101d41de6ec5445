"""Volumes.link_base: a copy's launch base is the source's base under a second name, never anything else."""

from __future__ import annotations

import os

from localcvm.blobs import Manifest
from localcvm.imaging.volumes import Volumes


def test_link_base_links_only_a_regular_base_of_the_right_size(tmp_path):
    vols = Volumes(tmp_path, blobs=None)
    manifest = Manifest(virtual_size=8192, chunks=[None])
    src = vols.base_path("ap-guangzhou", "img-src-0")
    src.parent.mkdir(parents=True)

    assert vols.link_base("ap-guangzhou", "img-src-0", "ap-shanghai", "img-a-0", manifest) is None  # no source base

    src.write_bytes(b"x" * 4096)  # not the manifest's size: not this image's base
    assert vols.link_base("ap-guangzhou", "img-src-0", "ap-shanghai", "img-a-0", manifest) is None
    src.write_bytes(b"x" * 8192)
    os.chmod(src, 0o444)
    got = vols.link_base("ap-guangzhou", "img-src-0", "ap-shanghai", "img-a-0", manifest)
    assert got == vols.base_path("ap-shanghai", "img-a-0") and got.samefile(src)
    # idempotent: a resumed job finds its base in place
    assert vols.link_base("ap-guangzhou", "img-src-0", "ap-shanghai", "img-a-0", manifest) == got
    # dropping one name leaves the other intact
    vols.drop_base("ap-guangzhou", "img-src-0")
    assert got.read_bytes() == b"x" * 8192

    # a symlink planted as the source base is never followed
    target = tmp_path / "elsewhere.raw"
    target.write_bytes(b"y" * 8192)
    src.symlink_to(target)
    assert vols.link_base("ap-guangzhou", "img-src-0", "ap-shanghai", "img-b-0", manifest) is None
    assert not vols.base_path("ap-shanghai", "img-b-0").exists()
