"""Debian packages for the guest: resolve the current kernel, ``apt-get download`` them, ``dpkg-deb -x``.

Nothing is installed on the host: the packages are fetched into the cache directory (kept there, so
a rebuild with the same versions downloads nothing) and unpacked into a scratch tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

# The metapackage that always depends on the current kernel of the Debian release.
KERNEL_METAPACKAGE = "linux-image-amd64"
# The userland: a static busybox, the dropbear SSH server and the shared libraries dropbear needs.
USERLAND_PACKAGES = ("busybox-static", "dropbear-bin", "libc6", "libcrypt1", "zlib1g", "libtomcrypt1", "libtommath1", "libgmp10")
# apt-get waits this long for another apt/dpkg to release its lock instead of failing at once.
APT_LOCK = ("-o", "DPkg::Lock::Timeout=300", "-o", "Acquire::Retries=3")


class GuestBuildError(RuntimeError):
    """The guest disk cannot be built on this host (a missing tool or package)."""


def run(cmd: list[str], *, cwd: Path | None = None, input: bytes | None = None) -> str:
    """Run a build tool; a failure raises ``GuestBuildError`` with the tool's own message."""
    if shutil.which(cmd[0]) is None:
        raise GuestBuildError(f"{cmd[0]} is not installed (see scripts/test for the Debian packages the build needs)")
    # MTOOLS_SKIP_CHECK: mtools on an image file with no disk geometry of its own
    env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive", MTOOLS_SKIP_CHECK="1")
    proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, env=env)
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise GuestBuildError(f"{' '.join(cmd[:3])} failed: {err[-800:]}")
    return proc.stdout.decode(errors="replace")


def kernel_package() -> str:
    """The versioned kernel package (``linux-image-6.1.0-NN-amd64``) the metapackage depends on now."""
    out = run(["apt-cache", "depends", KERNEL_METAPACKAGE])
    for line in out.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+-amd64)\s*$", line)
        if m:
            return m.group(1)
    raise GuestBuildError(f"apt-cache does not know {KERNEL_METAPACKAGE}; run apt-get update")


def kernel_release(package: str) -> str:
    """``linux-image-6.1.0-57-amd64`` → ``6.1.0-57-amd64`` (the directory under /lib/modules)."""
    return package.removeprefix("linux-image-")


def _deb_for(pkg: str, debs: Path) -> Path | None:
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    return found[-1] if found else None


def download(packages: list[str], debs: Path) -> dict[str, Path]:
    """``{package: .deb path}``, fetching into ``debs`` only the packages not there yet."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if _deb_for(p, debs) is None]
    if missing:
        try:
            run(["apt-get", *APT_LOCK, "download", *missing], cwd=debs)
        except GuestBuildError:
            # stale package lists (a version that left the mirror): refresh once, as root only
            if os.geteuid() != 0:
                raise
            run(["apt-get", *APT_LOCK, "update", "-qq"])
            run(["apt-get", *APT_LOCK, "download", *missing], cwd=debs)
    out = {}
    for p in packages:
        deb = _deb_for(p, debs)
        if deb is None:
            raise GuestBuildError(f"apt-get download {p} produced no .deb")
        out[p] = deb
    return out


def deb_version(deb: Path) -> str:
    """The version in a .deb's file name (``pkg_VERSION_arch.deb``, ``%3a`` for the epoch colon)."""
    return deb.name.split("_")[1].replace("%3a", ":")


def extract(debs: dict[str, Path], into: Path) -> None:
    """Unpack every package into one tree (``dpkg-deb -x``: no install, no maintainer scripts)."""
    into.mkdir(parents=True, exist_ok=True)
    for deb in debs.values():
        run(["dpkg-deb", "-x", str(deb), str(into)])
