"""Build (once) and describe the cached public guest disk.

The disk's file name carries the recipe version and a hash of the recipe (this package's scripts and
code), so a changed recipe builds a new disk next to the old one. The build runs in a scratch
directory under the cache and the finished disk is renamed into place; an exclusive ``flock`` on
the cache's lock file makes two processes that want the disk at once build it only once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from . import cpio, disk, packages, rootfs

# Bump when the disk's contents change in a way the hashed modules and files (_CODE, files/) do not show.
GUEST_RECIPE_VERSION = "1"
_CODE = ("cpio.py", "disk.py", "elf.py", "packages.py", "rootfs.py")

Progress = Callable[[str, int, int], None]
STEPS = ("resolve packages", "download packages", "extract packages", "root file system", "initramfs",
         "boot partition", "root partition", "disk")


def recipe_hash() -> str:
    """A digest of everything that decides the disk's contents apart from the package versions."""
    h = hashlib.sha256(GUEST_RECIPE_VERSION.encode())
    here = Path(__file__).parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    files = rootfs.files_dir()
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        h.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return h.hexdigest()


def disk_name() -> str:
    return f"public-linux-v{GUEST_RECIPE_VERSION}-{recipe_hash()[:12]}.raw"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def describe_public_disk(cache_dir: Path) -> dict | None:
    """The cached disk of the current recipe (for ``doctor``): path, size, kernel, packages, built_at;
    ``None`` when it has not been built."""
    path = Path(cache_dir) / disk_name()
    if not path.is_file():
        return None
    try:
        facts = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        facts = {}
    return {**facts, "path": str(path), "size": path.stat().st_size}


def build_public_disk(cache_dir: Path, *, progress: Progress | None = None, force: bool = False) -> Path:
    """The path of the cached bootable raw disk, built first if it is missing (or ``force``)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / disk_name()
    if target.is_file() and not force:
        return target
    with (cache_dir / ".build.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # another process may have built it while this one waited for the lock
        if target.is_file() and not force:
            return target
        for stale in cache_dir.glob(".build-*"):  # left by a build that was killed (no build runs now)
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        try:
            facts = _build(cache_dir, work, progress or (lambda _s, _d, _t: None))
            tmp = work / target.name
            _sidecar(tmp).write_text(json.dumps(facts, indent=2) + "\n")
            os.replace(_sidecar(tmp), _sidecar(target))
            os.replace(work / "disk.raw", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _build(cache_dir: Path, work: Path, progress: Progress) -> dict:
    missing = disk.missing_tools()
    if missing:
        raise packages.GuestBuildError(f"missing build tools: {', '.join(missing)} (see scripts/test)")
    total = len(STEPS)
    step = iter(range(total))

    def mark(name: str) -> None:
        progress(name, next(step), total)

    mark(STEPS[0])
    kernel_pkg = packages.kernel_package()
    release = packages.kernel_release(kernel_pkg)
    mark(STEPS[1])
    debs = packages.download([kernel_pkg, *packages.USERLAND_PACKAGES], cache_dir / "debs")
    mark(STEPS[2])
    pkgroot = work / "pkg"
    packages.extract(debs, pkgroot)
    mark(STEPS[3])
    digest = recipe_hash()
    root = work / "root"
    rootfs.build_root(pkgroot, release, root, f"localcvm guest recipe v{GUEST_RECIPE_VERSION} {digest[:12]}")
    mark(STEPS[4])
    tree = work / "initramfs"
    rootfs.build_initramfs_tree(root, release, tree)
    initrd = work / "initrd.gz"
    cpio.write_initramfs(tree, initrd)
    mark(STEPS[5])
    root_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcvm-guest:{digest}"))
    kernel = pkgroot / "boot" / f"vmlinuz-{release}"
    boot_img = work / "boot.img"
    boot_mib = disk.make_boot_fs(boot_img, kernel, initrd, disk.syslinux_cfg(root_uuid), work)
    mark(STEPS[6])
    root_img = work / "root.img"
    root_mib = disk.make_root_fs(root_img, root, root_uuid, work)
    shutil.rmtree(pkgroot, ignore_errors=True)
    mark(STEPS[7])
    disk.assemble(work / "disk.raw", boot_img, boot_mib, root_img, root_mib)
    progress("done", total, total)
    return {
        "recipe_version": GUEST_RECIPE_VERSION,
        "recipe_hash": digest,
        "kernel_version": release,
        "packages": {p: packages.deb_version(d) for p, d in debs.items()},
        "root_uuid": root_uuid,
        "boot_mib": boot_mib,
        "root_mib": root_mib,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def doctor_check(cache_dir: Path) -> tuple[str, str, str]:
    """``(name, OK|WARN, detail)`` of the public guest disk cache, for ``localcvm doctor``."""
    facts = describe_public_disk(cache_dir)
    if facts is None:
        missing = disk.missing_tools()
        hint = f"; missing build tools: {', '.join(missing)}" if missing else ""
        return ("public guest disk", "WARN", f"not built in {cache_dir} (localcvm images build-public){hint}")
    return ("public guest disk", "OK", f"{facts['path']}: {facts['size'] // 2**20} MiB, kernel "
            f"{facts.get('kernel_version', '?')}, built {facts.get('built_at', '?')}")
