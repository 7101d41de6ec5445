"""Which accelerator QEMU can use here: KVM when it really runs a guest, else TCG (with the reason).

A ``/dev/kvm`` that opens is not enough: on a machine whose CPU lacks (or hides from a nested
guest) the virtualisation extensions KVM starts and then stops the guest with an internal or
MSR error as soon as the kernel runs. So the probe is layered: the device must open
read-write, a tiny ``-accel kvm`` machine must start and be running a second later, and when a
bootable disk is given the disk must print its first serial line under KVM (on a throw-away
``-snapshot``). The answer is cached per process and per disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Accel", "QEMU_BINARY", "probe", "qemu_version"]

QEMU_BINARY = "qemu-system-x86_64"
BOOT_MARK = b"localcvm-guest: boot"

_cache: dict[str, "Accel"] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Accel:
    """``name`` is "kvm" or "tcg"; ``reason`` says why, in words for the log and ``doctor``."""

    name: str
    reason: str


def qemu_version() -> str | None:
    """``qemu-system-x86_64 --version``'s first line, or None when QEMU is not installed."""
    binary = shutil.which(QEMU_BINARY)
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0].strip() if out else None


def probe(disk: Path | None = None, *, force: bool | str = False) -> Accel:
    """The accelerator to use. ``force`` = "kvm"/"tcg" skips the probe (an operator override)."""
    if force in ("kvm", "tcg"):
        return Accel(str(force), f"set by LOCALCVM_QEMU_ACCEL={force}")
    key = str(disk or "")
    with _lock:
        if key not in _cache:
            _cache[key] = _probe(disk)
        return _cache[key]


def _probe(disk: Path | None) -> Accel:
    if shutil.which(QEMU_BINARY) is None:
        return Accel("tcg", f"{QEMU_BINARY} is not installed")
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError as exc:
        return Accel("tcg", f"/dev/kvm cannot be opened ({exc.strerror})")
    failed = _tiny_start()
    if failed:
        return Accel("tcg", f"/dev/kvm opens but a KVM machine does not run: {failed}")
    if disk is not None and Path(disk).exists():
        failed = _boot_test(Path(disk))
        if failed:
            return Accel("tcg", f"/dev/kvm opens but the guest does not boot under KVM: {failed}")
        return Accel("kvm", "/dev/kvm opens and the guest disk boots under KVM")
    return Accel("kvm", "/dev/kvm opens and a KVM machine runs (no guest disk to boot-test)")


def _base_args() -> list[str]:
    return [QEMU_BINARY, "-accel", "kvm", "-machine", "pc", "-cpu", "host", "-nodefaults", "-display", "none",
            "-no-reboot", "-monitor", "none", "-m", "128"]


def _tiny_start() -> str | None:
    """None when a KVM machine starts and still runs after a second; else what went wrong."""
    try:
        proc = subprocess.Popen(_base_args() + ["-serial", "none"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        return str(exc)
    try:
        rc = proc.wait(timeout=1.5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    return f"exited with status {rc}: {_last_line(err)}"


def _boot_test(disk: Path, timeout: float = 20.0) -> str | None:
    """None when ``disk`` prints its boot line under KVM within ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="localcvm-kvm-probe-") as tmp:
        log = Path(tmp) / "serial.log"
        args = _base_args() + ["-snapshot", "-drive", f"file={disk},format=raw,if=virtio",
                               "-serial", f"file:{log}"]
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            return str(exc)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if log.exists() and BOOT_MARK in log.read_bytes():
                    return None
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                    return f"QEMU exited with status {proc.returncode}: {_last_line(err)}"
                time.sleep(0.1)
            return f"no boot line on the serial console within {timeout:.0f} s"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and "warning:" not in line]
    return lines[-1][:300] if lines else "no message"
