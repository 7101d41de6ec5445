"""The public guest disk's layout, read from the image files (debugfs, mtools): no mounts, no boot."""

from __future__ import annotations

import os
import subprocess

import pytest

from localcvm.imaging.guest import build_public_disk, describe_public_disk, disk_name
from localcvm.imaging.guest.cpio import write_initramfs
from localcvm.imaging.guest.disk import FIRST_SECTOR, SECTOR, partitions
from tests.guest_util import GUEST_CACHE, public_disk

MT_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


@pytest.fixture(scope="module")
def disk():
    return public_disk()


def _root_image(disk, tmp_path):
    """Partition 2 copied out to a file (debugfs reads a file system image, not an offset)."""
    _t, start, sectors, _b = partitions(disk)[1]
    out = tmp_path / "root.img"
    with disk.open("rb") as src, out.open("wb") as dst:
        src.seek(start * SECTOR)
        remaining = sectors * SECTOR
        while remaining:
            data = src.read(min(remaining, 1 << 20))
            dst.write(data)
            remaining -= len(data)
    return out


def _debugfs(image, request: str) -> str:
    return subprocess.run(["debugfs", "-R", request, str(image)], capture_output=True, text=True, check=True).stdout


def test_partition_table_boot_fat_then_ext4_root(disk):
    parts = partitions(disk)
    assert [p[0] for p in parts] == [0x0C, 0x83]
    boot, root = parts
    assert boot[1] == FIRST_SECTOR and boot[3] is True and root[3] is False
    assert root[1] == boot[1] + boot[2]
    assert (root[1] + root[2]) * SECTOR == disk.stat().st_size
    # tens of MiB, not a full distribution
    assert 20 * 2**20 < disk.stat().st_size < 200 * 2**20
    # syslinux's MBR code is in front of the table
    mbr = disk.read_bytes()[:512]
    assert b"\x55\xaa" == mbr[510:] and mbr[:440] == open("/usr/lib/SYSLINUX/mbr.bin", "rb").read()[:440]


def test_boot_partition_has_syslinux_kernel_and_initrd(disk):
    listing = subprocess.run(["mdir", "-a", "-i", f"{disk}@@{FIRST_SECTOR * SECTOR}", "::/"],
                             capture_output=True, text=True, check=True, env=MT_ENV).stdout.lower()
    for name in ("ldlinux  sys", "ldlinux  c32", "vmlinuz", "initrd   gz", "syslinux cfg"):
        assert name in listing, listing
    cfg = subprocess.run(["mtype", "-i", f"{disk}@@{FIRST_SECTOR * SECTOR}", "::/syslinux.cfg"],
                         capture_output=True, text=True, check=True, env=MT_ENV).stdout
    facts = describe_public_disk(GUEST_CACHE)
    assert f"root=UUID={facts['root_uuid']}" in cfg and "console=ttyS0" in cfg


def test_root_has_init_dropbear_modules_owned_by_root(disk, tmp_path):
    image = _root_image(disk, tmp_path)
    facts = describe_public_disk(GUEST_CACHE)
    for path in ("/etc/localcvm/boot.sh", "/etc/inittab", "/usr/sbin/dropbear", "/bin/busybox",
                 "/lib/x86_64-linux-gnu/libc.so.6", f"/lib/modules/{facts['kernel_version']}/modules.dep"):
        stat = _debugfs(image, f"stat {path}")
        assert "User:     0   Group:     0" in stat, (path, stat[:300])
    assert "Type: symlink" in _debugfs(image, "stat /sbin/init")
    hosts = _debugfs(image, "cat /etc/hosts")
    assert "169.254.0.23\tmetadata.tencentyun.com" in hosts
    deps = _debugfs(image, f"cat /lib/modules/{facts['kernel_version']}/modules.dep")
    assert "kernel/fs/ext4/ext4.ko: " in deps and "virtio_blk.ko" in deps
    assert "UUID" in _debugfs(image, "stats") and facts["root_uuid"] in _debugfs(image, "stats")


def test_cached_disk_is_reused_and_described(disk):
    mtime = disk.stat().st_mtime_ns
    assert build_public_disk(GUEST_CACHE) == disk
    assert disk.stat().st_mtime_ns == mtime
    facts = describe_public_disk(GUEST_CACHE)
    assert facts["path"] == str(disk) and facts["size"] == disk.stat().st_size
    assert facts["kernel_version"].endswith("-amd64") and facts["built_at"]
    assert disk.name == disk_name() and disk.name.startswith("public-linux-v")


def test_describe_without_a_build(tmp_path):
    assert describe_public_disk(tmp_path) is None


def test_initramfs_archive_is_root_owned_newc_with_console(tmp_path):
    import gzip

    tree = tmp_path / "t"
    (tree / "bin").mkdir(parents=True)
    (tree / "init").write_text("#!/bin/sh\n")
    (tree / "init").chmod(0o755)
    (tree / "bin/sh").symlink_to("busybox")
    write_initramfs(tree, tmp_path / "i.gz")
    listing = subprocess.run(["cpio", "-itv"], input=gzip.decompress((tmp_path / "i.gz").read_bytes()),
                             capture_output=True, check=True).stdout.decode()
    lines = {line.split()[-1] if "->" not in line else line.split()[-3]: line for line in listing.splitlines()}
    assert lines["init"].startswith("-rwxr-xr-x") and " root " in lines["init"]
    assert lines["dev/console"].startswith("crw-------")
    assert "bin/sh -> busybox" in listing


CLOUD_CONFIG = """#cloud-config
hostname: ignored
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3Nza key1@host
  - "ssh-rsa AAAAB3 key2"
password: 'hunter2'
chpasswd:
  expire: false
  list: |
    root:other-pw
runcmd:
  - echo one > /root/one
  - [ls, -l]
  - 'touch /root/two'
packages:
  - nginx
"""


def test_cloud_config_reader_keeps_only_keys_password_runcmd(tmp_path):
    import shutil

    from localcvm.imaging.guest.rootfs import files_dir

    awk = [shutil.which("busybox"), "awk"] if shutil.which("busybox") else [shutil.which("awk")]
    (tmp_path / "ud").write_text(CLOUD_CONFIG)
    with __import__("importlib").resources.as_file(files_dir() / "cloud-config.awk") as script:
        out = subprocess.run([*awk, "-f", str(script), str(tmp_path / "ud")], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "key ssh-ed25519 AAAAC3Nza key1@host", "key ssh-rsa AAAAB3 key2",
        "password hunter2", "password other-pw",
        "runcmd echo one > /root/one", "runcmd touch /root/two",
    ]


@pytest.mark.slow
def test_two_processes_build_the_disk_once(disk, tmp_path):
    """Two processes that want the disk at once: one builds, the other waits and gets the same file."""
    import sys

    cache = tmp_path / "cache"
    (cache / "debs").mkdir(parents=True)
    for deb in (GUEST_CACHE / "debs").glob("*.deb"):  # no second download
        os.link(deb, cache / "debs" / deb.name)
    code = ("import sys; from pathlib import Path; from localcvm.imaging.guest import build_public_disk;"
            "p = build_public_disk(Path(sys.argv[1]), progress=lambda s, d, t: d == 0 and print('BUILT', flush=True));"
            "print(p)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o.count("BUILT") for o in outs) == 1
    assert outs[0][-1] == outs[1][-1] == str(cache / disk.name)
    assert sorted(x.name for x in cache.iterdir()) == sorted([".build.lock", "debs", disk.name, disk.with_suffix(".json").name])
    # the same recipe gives the same layout (not the same bytes: file times differ)
    assert partitions(cache / disk.name) == partitions(disk)


def test_cli_build_public_reports_the_cached_disk(disk):
    import sys

    env = {**os.environ, "LOCALCVM_GUEST_CACHE": str(GUEST_CACHE)}
    out = subprocess.run([sys.executable, "-m", "localcvm", "images", "build-public"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(disk) in out.stdout and "kernel " in out.stdout


def test_nocloud_seed_files_and_image(tmp_path):
    from localcvm.imaging.guest import nocloud_files, write_seed

    files = nocloud_files(instance_id="ins-1", hostname="h1", user_data="#!/bin/sh\necho hi\n",
                          authorized_keys=["ssh-ed25519 AAAA k1", "ssh-ed25519 BBBB k2\n"], metadata_endpoint=":8080")
    assert files["meta-data"] == b"instance-id: ins-1\nlocal-hostname: h1\n"
    assert files["authorized_keys"] == b"ssh-ed25519 AAAA k1\nssh-ed25519 BBBB k2\n"
    assert "root-password" not in files
    image = write_seed(tmp_path / "seed.img", files)
    label = subprocess.run(["mlabel", "-s", "-i", str(image), "::"], capture_output=True, text=True, env=MT_ENV).stdout
    assert "cidata" in label.lower()
    got = subprocess.run(["mtype", "-i", str(image), "::/metadata-endpoint"], capture_output=True, text=True,
                         check=True, env=MT_ENV).stdout
    assert got == ":8080\n"
    write_seed(image, {"meta-data": "instance-id: ins-2\n"})  # replaced whole
    listing = subprocess.run(["mdir", "-b", "-i", str(image), "::/"], capture_output=True, text=True, env=MT_ENV).stdout
    assert listing.split() == ["::/meta-data"]
