"""The guest's trees: the root file system (busybox, dropbear, init scripts, modules) and the initramfs.

``pkgroot`` is the unpacked packages (``packages.extract``); the trees are plain directories, turned
into an ext4 image and a cpio archive by ``disk``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from .elf import module_depends, needed_libraries
from .packages import GuestBuildError

# The kernel modules the guest loads at boot (their dependencies are added from .modinfo): the
# virtio disk and network, ext4 for the root, vfat and iso9660 for a NoCloud seed, the ACPI power
# button (a QEMU system_powerdown) and the virtio entropy source.
GUEST_MODULES = (
    "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "crc32c_generic", "ext4",
    "vfat", "nls_cp437", "nls_utf8", "nls_iso8859_1", "nls_ascii", "isofs", "evdev", "button",
)
LIBDIR = "lib/x86_64-linux-gnu"

# The root file system's own files: (package data file, path in the guest, mode)
ROOT_FILES = (
    ("inittab", "etc/inittab", 0o644),
    ("boot.sh", "etc/localcvm/boot.sh", 0o755),
    ("seed.sh", "etc/localcvm/seed.sh", 0o755),
    ("shutdown.sh", "etc/localcvm/shutdown.sh", 0o755),
    ("udhcpc.sh", "etc/localcvm/udhcpc.sh", 0o755),
    ("metadata-relay.sh", "etc/localcvm/metadata-relay.sh", 0o755),
    ("cloud-config.awk", "etc/localcvm/cloud-config.awk", 0o644),
    ("power.sh", "etc/acpi/PWRF/00000080", 0o755),
    ("profile", "etc/profile", 0o644),
)
ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nsshd:x:74:74:dropbear:/var/empty:/bin/false\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n",
    "etc/group": "root:x:0:\nsshd:x:74:\n",
    "etc/shells": "/bin/sh\n/bin/ash\n",
    # the instance metadata service answers at its real address, as on Tencent Cloud
    "etc/hosts": "127.0.0.1\tlocalhost\n169.254.0.23\tmetadata.tencentyun.com\n",
    "etc/hostname": "localcvm\n",
    "etc/acpid.conf": "PWRF PWRF/00000080\n",
    "etc/fstab": "/dev/root / ext4 rw 0 1\n",
}
DIRS = ("proc", "sys", "dev", "run", "tmp", "root/.ssh", "var/log", "var/lib/localcvm", "var/empty",
        "etc/dropbear", "mnt/seed", "mnt/data", "home", "usr/share/udhcpc")


def files_dir():
    """The package data directory holding the guest's scripts."""
    return resources.files(__package__) / "files"


def read_file(name: str) -> bytes:
    return (files_dir() / name).read_bytes()


def _put(root: Path, rel: str, data: bytes, mode: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def install_busybox(pkgroot: Path, root: Path) -> None:
    """/bin/busybox and a symlink for each of its applets (``busybox --list-full``)."""
    _put(root, "bin/busybox", (pkgroot / "bin/busybox").read_bytes(), 0o755)
    out = subprocess.run([str(root / "bin/busybox"), "--list-full"], capture_output=True, check=True).stdout
    for rel in out.decode().split():
        if "/" not in rel or rel == "bin/busybox":
            continue
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to("/bin/busybox")


def _find_lib(pkgroot: Path, soname: str) -> Path:
    for d in (LIBDIR, "usr/" + LIBDIR):
        if (pkgroot / d / soname).exists():
            return (pkgroot / d / soname).resolve()
    # a library a newer dropbear needs that the package list does not name yet: the host's copy
    for d in ("/" + LIBDIR, "/usr/" + LIBDIR):
        if Path(d, soname).exists():
            return Path(d, soname).resolve()
    raise GuestBuildError(f"{soname} is in none of the downloaded packages")


def install_dropbear(pkgroot: Path, root: Path) -> None:
    """dropbear and dropbearkey, with the shared libraries they need (read from their ELF NEEDED)."""
    bins = [("usr/sbin/dropbear", pkgroot / "usr/sbin/dropbear"), ("usr/bin/dropbearkey", pkgroot / "usr/bin/dropbearkey")]
    for rel, src in bins:
        _put(root, rel, src.read_bytes(), 0o755)
    todo = [lib for _rel, src in bins for lib in needed_libraries(src)]
    seen: set[str] = set()
    while todo:
        soname = todo.pop()
        if soname in seen:
            continue
        seen.add(soname)
        src = _find_lib(pkgroot, soname)
        _put(root, f"{LIBDIR}/{soname}", src.read_bytes(), 0o755)
        todo.extend(needed_libraries(src))
    (root / "lib64").mkdir(exist_ok=True)
    (root / "lib64/ld-linux-x86-64.so.2").symlink_to(f"/{LIBDIR}/ld-linux-x86-64.so.2")


def _module_index(moddir: Path) -> dict[str, Path]:
    return {p.stem.replace("-", "_"): p for p in (moddir / "kernel").rglob("*.ko")}


def resolve_modules(moddir: Path, wanted=GUEST_MODULES) -> list[Path]:
    """The ``.ko`` files of ``wanted`` and their dependencies, each after the modules it needs."""
    index = _module_index(moddir)
    order: list[Path] = []

    def visit(name: str) -> None:
        path = index.get(name.replace("-", "_"))
        if path is None:
            raise GuestBuildError(f"kernel module {name} is not in the kernel package")
        if path in order:
            return
        for dep in module_depends(path):
            visit(dep)
        if path not in order:
            order.append(path)

    for name in wanted:
        visit(name)
    return order


def install_modules(moddir: Path, release: str, root: Path) -> list[str]:
    """Copy the guest's modules under /lib/modules/RELEASE with a modules.dep (for busybox modprobe);
    returns their paths relative to that directory, in load order."""
    mods = resolve_modules(moddir)
    dest = root / "lib/modules" / release
    rels = []
    for path in mods:
        rel = str(path.relative_to(moddir))
        _put(dest, rel, path.read_bytes(), 0o644)
        rels.append(rel)
    by_name = {p.stem.replace("-", "_"): str(p.relative_to(moddir)) for p in mods}
    dep_lines = []
    for path, rel in zip(mods, rels):
        deps = [by_name[d.replace("-", "_")] for d in module_depends(path)]
        dep_lines.append(f"{rel}: {' '.join(deps)}".rstrip())
    _put(dest, "modules.dep", ("\n".join(dep_lines) + "\n").encode(), 0o644)
    _put(root, "etc/localcvm/modules", ("\n".join(rels) + "\n").encode(), 0o644)
    return rels


def build_root(pkgroot: Path, release: str, root: Path, recipe: str) -> None:
    """The root file system tree."""
    for d in DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)
    (root / "root/.ssh").chmod(0o700)
    install_busybox(pkgroot, root)
    install_dropbear(pkgroot, root)
    install_modules(pkgroot / "lib/modules" / release, release, root)
    for rel, text in ETC.items():
        _put(root, rel, text.encode(), 0o600 if rel == "etc/shadow" else 0o644)
    for name, rel, mode in ROOT_FILES:
        _put(root, rel, read_file(name), mode)
    # busybox udhcpc's default script location, for a user who runs udhcpc by hand
    os.symlink("/etc/localcvm/udhcpc.sh", root / "usr/share/udhcpc/default.script")
    _put(root, "etc/localcvm/recipe", f"{recipe}\nkernel {release}\n".encode(), 0o644)


def build_initramfs_tree(root: Path, release: str, tree: Path) -> None:
    """The initramfs: busybox, the modules of the root tree, and /init (load modules, mount, switch_root)."""
    for d in ("proc", "sys", "dev", "newroot", "etc"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    # the applet links are made at boot (busybox --install) to keep the archive small
    _put(tree, "bin/busybox", (root / "bin/busybox").read_bytes(), 0o755)
    shutil.copytree(root / "lib/modules", tree / "lib/modules", symlinks=True)
    shutil.copy2(root / "etc/localcvm/modules", tree / "etc/modules")
    _put(tree, "init", read_file("init.sh"), 0o755)
