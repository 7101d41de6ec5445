"""The public guest disk for tests: built once per machine into a shared cache, NoCloud seeds, and a
QEMU (TCG) boot with user networking, a QMP socket and the serial console in a file."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_until

# One cache for every test and server of the session (and across sessions): the build takes seconds
# once its packages are downloaded, but the download is ~70 MB.
GUEST_CACHE = Path(os.environ.get("LOCALCVM_GUEST_CACHE") or "/var/tmp/localcvm-guest-cache")
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR"]


@lru_cache(maxsize=None)
def public_disk() -> Path:
    """The cached disk (built on first use); skips when the build tools are missing."""
    from localcvm.imaging.guest import build_public_disk
    from localcvm.imaging.guest.disk import missing_tools

    missing = missing_tools()
    if missing:
        pytest.skip(f"guest build tools missing: {missing}")
    return build_public_disk(GUEST_CACHE)


def make_seed(path: Path, files: dict[str, str]) -> Path:
    """A NoCloud seed holding ``files`` (localcvm.imaging.guest.seed: mkfs.fat + mcopy, label cidata)."""
    from localcvm.imaging.guest.seed import write_seed

    return write_seed(path, files)


def ssh_key(tmp: Path) -> Path:
    key = tmp / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@dataclass
class Guest:
    proc: subprocess.Popen
    port: int
    qmp_path: Path
    serial: Path
    started: float

    def serial_text(self) -> str:
        return self.serial.read_text(errors="replace") if self.serial.exists() else ""

    def ssh(self, key: Path, command: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-i", str(key), *SSH_OPTS, "-p", str(self.port), "root@127.0.0.1", command],
                              capture_output=True, text=True, timeout=timeout)

    def wait_ssh(self, key: Path, timeout: float = 90) -> float:
        """Seconds from the QEMU start to the first successful SSH command."""
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited ({self.proc.returncode}): {self.serial_text()[-2000:]}")
            return self.ssh(key, "true").returncode == 0
        wait_until(up, timeout=timeout, interval=0.2, what="SSH into the guest")
        return time.monotonic() - self.started

    def qmp(self, command: str, **arguments) -> dict:
        """One QMP command on a fresh connection (capabilities negotiated first)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            json.loads(f.readline())
            for cmd, args in (("qmp_capabilities", {}), (command, arguments)):
                f.write(json.dumps({"execute": cmd, **({"arguments": args} if args else {})}) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def boot(disk: Path, tmp: Path, *, seed: Path | None = None, extra: list[str] = ()) -> Guest:
    """Boot ``disk`` (a throw-away qcow2 overlay over it, so the cached disk stays pristine) under TCG."""
    overlay = tmp / "disk.qcow2"
    if not overlay.exists():
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(disk), str(overlay)], check=True)
    port = free_port()
    qmp_path = tmp / "qmp.sock"
    serial = tmp / "serial.log"
    serial.unlink(missing_ok=True)
    cmd = [shutil.which("qemu-system-x86_64") or "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
           "-m", "256", "-nographic", "-nodefaults", "-monitor", "none", "-serial", f"file:{serial}",
           "-qmp", f"unix:{qmp_path},server=on,wait=off",
           # bootindex: SeaBIOS boots the system disk whatever PCI slots the other disks get
           "-drive", f"file={overlay},if=none,id=sys,format=qcow2", "-device", "virtio-blk-pci,drive=sys,bootindex=0",
           "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
           "-device", "virtio-net-pci,netdev=n0,romfile=", *extra]
    if seed is not None:
        cmd += ["-drive", f"file={seed},if=virtio,format=raw,readonly=on"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    guest = Guest(proc, port, qmp_path, serial, started)
    wait_until(lambda: qmp_path.exists() or proc.poll() is not None, timeout=10, what="the QMP socket")
    if proc.poll() is not None:
        raise AssertionError(f"QEMU did not start: {proc.stderr.read().decode(errors='replace')}")
    return guest
