"""The bootable public guest disk: a tiny Linux (Debian kernel, busybox, dropbear) built from Debian
packages without root mounts or loop devices, cached under the data directory.

    packages.py  resolve the current Debian kernel, apt-get download, dpkg-deb -x
    rootfs.py    the root tree (busybox, dropbear + libs, modules, files/*) and the initramfs tree
    cpio.py      the initramfs archive (newc, gzip)
    disk.py      FAT boot partition with syslinux, ext4 root, MBR + sfdisk, assembly
    seed.py      a NoCloud seed image (cidata FAT, mkfs.fat + mcopy)
    build.py     the cache: build once (atomic, locked), describe for doctor
    files/       the guest's init scripts (the boot contract is in docs/guest-image.md)

Must not import services, store or api.
"""

from .build import GUEST_RECIPE_VERSION, build_public_disk, describe_public_disk, disk_name, doctor_check
from .packages import GuestBuildError
from .seed import nocloud_files, write_seed

__all__ = ["GUEST_RECIPE_VERSION", "GuestBuildError", "build_public_disk", "describe_public_disk", "disk_name",
           "doctor_check", "nocloud_files", "write_seed"]
