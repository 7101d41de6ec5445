"""One VM's QEMU process: its command line, its start (daemonized, in its own session, so it
outlives the server), and finding it again by pid file (checked against ``/proc/<pid>/cmdline``).

Everything of a VM lives in its directory (``<data-dir>/vms/<instance-id>/``): ``qemu.pid``,
the QMP socket ``qmp.sock``, the serial log ``serial.log`` (kept across boots), the VNC socket,
the NoCloud seed ``seed.img``, the metadata file. QEMU runs with that directory as its working
directory and relative socket paths, so a long data-dir path never hits the 108-byte limit of
unix socket names.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .accel import QEMU_BINARY

__all__ = ["Layout", "NetPlan", "alive_pid", "free_port", "kill_pid", "launch", "qemu_args"]

METADATA_IP = "169.254.0.23"
# slirp puts a guestfwd address inside its own network; a /4 is the widest it takes, and
# 160.0.0.0/4 holds both 169.254.0.23 and the 172.16.0.0/12 VPC ranges
WIDE_NET = ipaddress.ip_network("160.0.0.0/4")
SEED_SLOT = 0x1E


@dataclass(frozen=True)
class Layout:
    """The files of one VM."""

    dir: Path

    @property
    def pid(self) -> Path:
        return self.dir / "qemu.pid"

    @property
    def qmp(self) -> Path:
        return self.dir / "qmp.sock"

    @property
    def serial(self) -> Path:
        return self.dir / "serial.log"

    @property
    def seed(self) -> Path:
        return self.dir / "seed.img"

    @property
    def state(self) -> Path:
        return self.dir / "vm.json"

    @property
    def stderr(self) -> Path:
        return self.dir / "qemu.err"


@dataclass(frozen=True)
class NetPlan:
    """The VM's user-mode network: ``net``/``host``/``dhcp`` for slirp, the host ports forwarded to guest
    ports (``forwards`` = {guest port: 127.0.0.1 port}), and ``metadata`` the address inside the
    network that answers the metadata service (169.254.0.23 itself when the network holds it)."""

    net: str
    host: str
    dhcp: str
    forwards: dict[int, int] = field(default_factory=dict)
    metadata: str = METADATA_IP

    @classmethod
    def for_ip(cls, private_ip: str | None, subnet_cidr: str | None, forwards: dict[int, int]) -> NetPlan:
        ip = ipaddress.ip_address(private_ip or "172.16.0.7")
        if subnet_cidr:
            subnet = ipaddress.ip_network(subnet_cidr, strict=False)
        else:
            subnet = ipaddress.ip_network(f"{ip}/16", strict=False)
        gateway = str(subnet.network_address + 1)
        if ip in WIDE_NET:
            return cls(str(WIDE_NET), gateway, str(ip), forwards)
        # the metadata address cannot share the subnet's network: the guest relays 169.254.0.23:80 to
        # an address of its subnet (the seed's metadata-endpoint), which slirp answers
        last = subnet.broadcast_address - 1
        relay = last if last != ip else last - 1
        return cls(str(subnet), gateway, str(ip), forwards, metadata=str(relay))

    @property
    def relayed(self) -> bool:
        return self.metadata != METADATA_IP


def _opt(value: str) -> str:
    """A value inside a QEMU -option list: commas doubled."""
    return str(value).replace(",", ",,")


def netdev_args(plan: NetPlan, vm_dir: Path) -> list[str]:
    responder = Path(__file__).with_name("metadata.py")
    guestfwd = f"guestfwd=tcp:{plan.metadata}:80-cmd:{_opt(sys.executable)} -I {_opt(responder)} {_opt(vm_dir)}"
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in sorted(plan.forwards.items()))
    netdev = f"user,id=net0,net={plan.net},host={plan.host},dhcpstart={plan.dhcp},restrict=off{fwd},{guestfwd}"
    return ["-netdev", netdev, "-device", "virtio-net-pci,netdev=net0,addr=0x3"]


def disk_slot(device: str) -> int:
    """The PCI slot of a disk device (vda → 4, vdb → 5, ...): the guest names disks in slot order."""
    return 4 + (ord(device[-1]) - ord("a")) % 24


def blockdev_args(device: str, path: Path, fmt: str, *, read_only: bool = False) -> dict:
    """The ``blockdev-add`` arguments (also used on the command line) of one disk."""
    return {"driver": fmt, "node-name": f"disk-{device}", "read-only": read_only,
            "file": {"driver": "file", "filename": str(path), "read-only": read_only}}


def disk_device_args(device: str, *, boot: bool = False) -> dict:
    args = {"driver": "virtio-blk-pci", "drive": f"disk-{device}", "id": f"dev-{device}",
            "addr": hex(disk_slot(device)), "serial": device}
    if boot:
        args["bootindex"] = 0
    return args


def _kv(d: dict) -> str:
    return ",".join(f"{k}={_opt(str(v).lower() if isinstance(v, bool) else v)}" for k, v in d.items())


def qemu_args(instance_id: str, layout: Layout, *, accel: str, cpu: int, memory_mib: int,
              disks: list[dict], net: NetPlan, vnc_port: int | None) -> list[str]:
    """The full command line of a VM. ``disks`` are DiskSpec JSON dicts."""
    args = [QEMU_BINARY, "-name", f"guest={instance_id},process=qemu-{instance_id}"[:200],
            "-machine", f"pc,accel={accel}", "-smp", str(cpu), "-m", str(memory_mib),
            "-nodefaults", "-no-user-config", "-display", "none", "-vga", "std",
            "-qmp", "unix:qmp.sock,server=on,wait=off", "-monitor", "none",
            "-chardev", "file,id=serial0,path=serial.log,append=on", "-serial", "chardev:serial0",
            "-daemonize", "-pidfile", "qemu.pid", "-device", "virtio-rng-pci,addr=0x1c"]
    if accel == "kvm":
        args += ["-cpu", "host"]
    if vnc_port:
        args += ["-vnc", f"unix:vnc.sock,websocket=127.0.0.1:{vnc_port}"]
    for d in sorted(disks, key=lambda d: d["device"]):
        blk = blockdev_args(d["device"], Path(d["path"]), d["fmt"])
        file = blk.pop("file")
        args += ["-blockdev", _kv({"node-name": f"file-{d['device']}", **file})]
        args += ["-blockdev", _kv({**blk, "file": f"file-{d['device']}"})]
        args += ["-device", _kv(disk_device_args(d["device"], boot=d["role"] == "system"))]
    if layout.seed.exists():
        args += ["-blockdev", "node-name=file-seed,driver=file,filename=seed.img,read-only=on",
                 "-blockdev", "node-name=seed,driver=raw,file=file-seed,read-only=on",
                 "-device", f"virtio-blk-pci,drive=seed,id=dev-seed,addr={hex(SEED_SLOT)}"]
    return args + netdev_args(net, layout.dir)


def launch(args: list[str], layout: Layout, timeout: float = 60.0) -> int:
    """Start QEMU (it daemonizes once the machine is set up) and return its pid; raises RuntimeError
    with QEMU's own message when it does not start."""
    layout.pid.unlink(missing_ok=True)
    layout.qmp.unlink(missing_ok=True)
    with open(layout.stderr, "wb") as err:
        try:
            proc = subprocess.run(args, cwd=layout.dir, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                  start_new_session=True, timeout=timeout, close_fds=True)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"QEMU did not finish starting within {timeout:.0f} s") from None
        except OSError as exc:
            raise RuntimeError(f"cannot run {args[0]}: {exc}") from None
    message = layout.stderr.read_text(errors="replace")
    lines = [line for line in message.splitlines() if line.strip() and "warning:" not in line]
    pid = alive_pid(layout, args_name(args))
    if proc.returncode != 0 or pid is None:
        raise RuntimeError(lines[-1] if lines else f"QEMU exited with status {proc.returncode}")
    return pid


def args_name(args: list[str]) -> str:
    return args[args.index("-name") + 1]


def name_of(instance_id: str) -> str:
    return f"guest={instance_id},process=qemu-{instance_id}"[:200]


def alive_pid(layout: Layout, name: str) -> int | None:
    """The pid in the VM's pid file when that process is alive and is this VM's QEMU (its command
    line carries ``-name <name>``), else None."""
    try:
        pid = int(layout.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return None
    try:
        i = cmdline.index(b"-name")
    except ValueError:
        return None
    return pid if i + 1 < len(cmdline) and cmdline[i + 1] == name.encode() else None


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL ``pid`` and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid, timeout)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (it is not our child: poll /proc); True when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
