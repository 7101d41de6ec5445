"""Assemble the guest disk in files, with no mounts and no loop devices.

Layout: an MBR (syslinux's mbr.bin, which boots the active partition), partition 1 = FAT with
syslinux, the kernel and the initramfs, partition 2 = the ext4 root made with ``mke2fs -d``. Each
file system is made in a file of its own and copied into the disk at its partition's offset.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .packages import GuestBuildError, run

SECTOR = 512
MIB = 1024 * 1024
FIRST_SECTOR = 2048  # partitions start at 1 MiB, as fdisk aligns them
MBR_CANDIDATES = ("/usr/lib/SYSLINUX/mbr.bin", "/usr/lib/syslinux/mbr/mbr.bin", "/usr/share/syslinux/mbr.bin")
DISK_SIGNATURE = 0x4C435643  # "LCVC"
ROOT_LABEL = "localcvm-root"
BOOT_LABEL = "LCVMBOOT"
ROOT_FREE_MIB = 40  # room for what a user writes over SSH


def _mib_round(n: int) -> int:
    return -(-n // MIB)


def syslinux_cfg(root_uuid: str) -> str:
    """The bootloader configuration: boot at once, kernel log and console on the first serial port."""
    return (
        "SERIAL 0 115200\nDEFAULT localcvm\nPROMPT 0\nTIMEOUT 0\n"
        "LABEL localcvm\n  LINUX /vmlinuz\n  INITRD /initrd.gz\n"
        f"  APPEND root=UUID={root_uuid} console=tty0 console=ttyS0,115200 quiet loglevel=3 panic=10\n"
    )


def make_boot_fs(path: Path, kernel: Path, initrd: Path, cfg: str, work: Path) -> int:
    """The FAT boot partition image (syslinux installed into it); returns its size in MiB."""
    size_mib = max(16, _mib_round(kernel.stat().st_size + initrd.stat().st_size) + 4)
    env_file = work / "syslinux.cfg"
    env_file.write_text(cfg)
    # -h: the partition's first sector, which the boot sector's BPB records for the loader
    run(["mkfs.fat", "-C", "-n", BOOT_LABEL, "-h", str(FIRST_SECTOR), "-i", "4c435643", str(path), str(size_mib * 1024)])
    run(["mcopy", "-i", str(path), str(kernel), "::/vmlinuz"])
    run(["mcopy", "-i", str(path), str(initrd), "::/initrd.gz"])
    run(["mcopy", "-i", str(path), str(env_file), "::/syslinux.cfg"])
    run(["syslinux", "--install", str(path)])
    return size_mib


def _tree_size(root: Path) -> int:
    total = 0
    for dirpath, dirs, files in os.walk(root):
        for name in files + dirs:
            st = (Path(dirpath) / name).lstat()
            total += max(st.st_size, 4096) if not os.path.islink(Path(dirpath) / name) else 0
    return total


def make_root_fs(path: Path, tree: Path, uuid: str, work: Path) -> int:
    """The ext4 root image from ``tree``; every file owned by root (whoever runs the build)."""
    size_mib = _mib_round(_tree_size(tree) * 5 // 4) + ROOT_FREE_MIB
    run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", ROOT_LABEL, "-U", uuid, "-E", f"root_owner=0:0,hash_seed={uuid}",
         "-d", str(tree), str(path), f"{size_mib}M"])
    if os.geteuid() != 0:
        # mke2fs -d copies the builder's uid/gid; the guest's files must belong to root
        cmds = work / "chown.debugfs"
        lines = []
        for dirpath, dirs, files in os.walk(tree):
            for name in dirs + files:
                rel = "/" + str((Path(dirpath) / name).relative_to(tree))
                lines += [f'sif "{rel}" uid 0', f'sif "{rel}" gid 0']
        cmds.write_text("\n".join(lines) + "\n")
        run(["debugfs", "-w", "-f", str(cmds), str(path)])
    return size_mib


def _mbr_code() -> bytes:
    for cand in MBR_CANDIDATES:
        if Path(cand).is_file():
            return Path(cand).read_bytes()[:440]
    raise GuestBuildError("syslinux's mbr.bin is not installed (Debian package syslinux-common)")


def _copy_into(disk, image: Path, offset: int) -> None:
    """Copy ``image`` into the open disk at ``offset``, leaving holes where the image is zeros."""
    block = MIB
    with image.open("rb") as src:
        pos = offset
        while True:
            data = src.read(block)
            if not data:
                break
            if data.count(0) != len(data):
                disk.seek(pos)
                disk.write(data)
            pos += len(data)


def assemble(out: Path, boot_img: Path, boot_mib: int, root_img: Path, root_mib: int) -> None:
    """The whole disk: MBR code, the partition table (sfdisk on the file), both file systems."""
    boot_sectors = boot_mib * MIB // SECTOR
    root_start = FIRST_SECTOR + boot_sectors
    root_sectors = root_mib * MIB // SECTOR
    total = (root_start + root_sectors) * SECTOR
    with out.open("wb") as f:
        f.truncate(total)
    table = (
        f"label: dos\nlabel-id: {DISK_SIGNATURE:#x}\nunit: sectors\n\n"
        f"start={FIRST_SECTOR}, size={boot_sectors}, type=c, bootable\n"
        f"start={root_start}, size={root_sectors}, type=83\n"
    )
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(out)], input=table.encode())
    with out.open("r+b") as f:
        f.seek(0)
        f.write(_mbr_code())
        _copy_into(f, boot_img, FIRST_SECTOR * SECTOR)
        _copy_into(f, root_img, root_start * SECTOR)


def partitions(disk: Path) -> list[tuple[int, int, int, bool]]:
    """``[(type, start sector, sectors, bootable)]`` of the disk's MBR primary partitions."""
    with disk.open("rb") as f:
        mbr = f.read(512)
    if mbr[510:512] != b"\x55\xaa":
        return []
    out = []
    for i in range(4):
        e = mbr[446 + 16 * i: 462 + 16 * i]
        if e[4]:
            out.append((e[4], int.from_bytes(e[8:12], "little"), int.from_bytes(e[12:16], "little"), e[0] == 0x80))
    return out


def missing_tools() -> list[str]:
    """The build tools missing on this host."""
    tools = ("apt-get", "apt-cache", "dpkg-deb", "mkfs.fat", "mcopy", "syslinux", "mke2fs", "debugfs", "sfdisk")
    return [t for t in tools if shutil.which(t) is None]
