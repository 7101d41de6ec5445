"""The fake compute driver: no guest runs, but everything else is real.

``FakeDriver`` is the default driver. It is fast and deterministic, and it
keeps real state:

* **One JSON file per VM** (``<state_dir>/<instance_id>.json``), written to a
  temporary file, fsynced and renamed into place, so a server restarted
  after a crash (or a second process on the same directory) sees exactly
  which VMs exist, their power state and their disks. The state file is
  the commit point of every operation: a VM exists iff its file does.
* **Real disk files.** ``spawn`` and ``attach_disk`` check that each disk
  is a regular, readable and writable file that ``qemu-img info -f FMT``
  accepts with the declared virtual size, and that no other VM holds it;
  ``power_on`` opens the disks again as a real boot would;
  ``snapshot_disk`` really produces the bytes (``qemu-img convert`` to
  raw); ``resize_disk`` really resizes (``qemu-img resize``).
* **A console log** per VM (``<instance_id>.console.log``) with plausible,
  deterministic boot and shutdown lines.
* **Fault injection**: ``inject("spawn", RuntimeError("boom"))`` makes the
  next ``spawn`` fail at a point where it has already done part of its work,
  so tests exercise the real clean-up paths.

Transitions are immediate: the service layer, not the driver, models the
API's transitional states (PENDING, STARTING, STOPPING, ...).

Locking: every operation on a VM holds that VM's lock, which is a thread
lock inside this process *and* an ``fcntl`` byte-range lock on
``<state_dir>/.lock`` across processes (``localcvm serve`` and separate
``localcvm worker`` processes may share one state directory). Readers
(``info``, ``list``, ``console_log``) take no lock: state files are only
ever replaced atomically.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import fcntl
import hashlib
import json
import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..fsio import fsync_dir
from ..imaging import qemu_img
from .driver import (
    ComputeDriver,
    DiskSpec,
    DriverError,
    InvalidDisk,
    InvalidVmState,
    PowerState,
    VmAlreadyExists,
    VmInfo,
    VmNotFound,
    VmSpec,
    valid_instance_id,
)

__all__ = ["FakeDriver"]

_STATE_FORMAT = 1  # version of the JSON state file layout
_QCOW2_MAGIC = b"QFI\xfb"
_CONSOLE_MAX = 1 << 20  # a console log longer than this ...
_CONSOLE_KEEP = 512 << 10  # ... is cut down to its last 512 KiB
_BOOT_SECONDS = 3.2  # simulated time a boot takes (console timestamps)

#: The methods ``inject`` can make fail.
FAULTABLE = frozenset({
    "spawn", "power_on", "power_off", "reboot", "destroy", "info", "list", "console_log",
    "attach_disk", "detach_disk", "snapshot_disk", "frozen_disk", "resize_disk",
})


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------
# Per-VM locks (threads and processes)
# --------------------------------------------------------------------------


class _VmLocks:
    """Locks for the VMs of one state directory.

    A VM id hashes to a 32-bit *slot*. Holding a slot means holding a thread
    lock for it (this process) and an exclusive ``lockf`` lock on byte
    ``slot`` of the lock file (other processes). Two ids that share a slot
    just serialise; POSIX record locks belong to the process, which is why
    the thread lock is keyed by slot too (otherwise two threads with
    colliding ids would share one record lock and release it early).

    One instance per directory and process (see ``_locks_for``): POSIX
    drops all of a process's record locks on a file when *any* descriptor
    of that file is closed, so the descriptor is opened once and kept.
    """

    def __init__(self, lock_file: Path):
        self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._guard = threading.Lock()
        self._slots: dict[int, list] = {}  # slot -> [thread lock, users]

    @staticmethod
    def _slot(instance_id: str) -> int:
        return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:4], "big")

    @contextlib.contextmanager
    def hold(self, instance_id: str) -> Iterator[None]:
        slot = self._slot(instance_id)
        with self._guard:  # reference-counted, so the table does not grow forever
            entry = self._slots.setdefault(slot, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, slot, os.SEEK_SET)
                try:
                    yield
                finally:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._slots[slot]


_LOCKS: dict[str, _VmLocks] = {}
_LOCKS_GUARD = threading.Lock()


def _locks_for(state_dir: Path) -> _VmLocks:
    key = os.path.realpath(state_dir)
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = _VmLocks(Path(key) / ".lock")
        return _LOCKS[key]


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------


class FakeDriver(ComputeDriver):
    """A deterministic, fast ComputeDriver with real, persistent state under ``state_dir``.

    ``clock`` (returning an aware UTC datetime) replaces the wall clock,
    for tests that want fixed timestamps.
    """

    name = "fake"
    real_vm = False
    supports_console = True
    supports_live_snapshot = True
    supports_hot_plug = True
    supports_online_resize = True

    def __init__(self, state_dir: Path, *, clock: Callable[[], datetime] | None = None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock or _utcnow
        self._locks = _locks_for(self.state_dir)
        self._faults: dict[str, collections.deque] = {}
        self._faults_guard = threading.Lock()
        self._sweep()

    # ------------------------------------------------------------------
    # Fault injection
    # ------------------------------------------------------------------

    def inject(self, method: str, fault: BaseException | type[BaseException] | Callable[..., Any],
               times: int | None = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail (``times=None``: every call).

        ``fault`` is an exception instance (raised as is), an exception class
        (raised with the message "injected fault in METHOD"), or any other
        callable, which is called with the method's arguments: it may raise,
        or return to let the call go on (to add a delay, or to count calls).
        Injections for one method queue up in order.

        A fault fires once the call's arguments are checked and the VM is
        found, before anything changes. Two methods fire later, so that a
        fault runs the same clean-up as a real mid-operation failure:
        ``spawn`` after its disks are checked and its console log is
        started (a failed spawn must leave neither behind), and
        ``snapshot_disk`` after the copy is written to its temporary file
        (``dest_path`` must not appear).
        """
        if method not in FAULTABLE:
            raise ValueError(f"cannot inject into {method!r}; choose one of {sorted(FAULTABLE)}")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be a positive integer or None, not {times!r}")
        if not callable(fault) and not isinstance(fault, BaseException):
            raise TypeError("fault must be an exception or a callable")
        with self._faults_guard:
            self._faults.setdefault(method, collections.deque()).append([fault, times])

    def clear_faults(self, method: str | None = None) -> None:
        """Forget the injected faults (of ``method``, or all)."""
        with self._faults_guard:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def _fault(self, method: str, *args: Any) -> None:
        """Fire the next injected fault of ``method``, if any."""
        with self._faults_guard:
            queue = self._faults.get(method)
            if not queue:
                return
            entry = queue[0]
            fault = entry[0]
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] == 0:
                    queue.popleft()
        if isinstance(fault, BaseException):
            raise fault
        if isinstance(fault, type) and issubclass(fault, BaseException):
            raise fault(f"injected fault in {method}")
        fault(*args)

    # ------------------------------------------------------------------
    # State files
    # ------------------------------------------------------------------

    def _state_path(self, instance_id: str) -> Path:
        return self.state_dir / f"{instance_id}.json"

    def _console_path(self, instance_id: str) -> Path:
        return self.state_dir / f"{instance_id}.console.log"

    def _read(self, instance_id: str) -> dict | None:
        """The VM's state, or None when it does not exist (lock-free: files are replaced atomically)."""
        if not valid_instance_id(instance_id):
            return None  # such a VM cannot exist (and must never become a path)
        try:
            text = self._state_path(instance_id).read_text()
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
        except ValueError as exc:
            raise DriverError(f"state file of VM {instance_id} is corrupt: {exc}", instance_id) from None
        if state.get("format") != _STATE_FORMAT:
            raise DriverError(f"state file of VM {instance_id} has unknown format {state.get('format')!r}",
                              instance_id)
        return state

    def _require(self, instance_id: str) -> dict:
        state = self._read(instance_id)
        if state is None:
            raise VmNotFound(instance_id)
        return state

    def _write(self, state: dict) -> None:
        """Replace the VM's state file atomically and durably."""
        path = self._state_path(state["instance_id"])
        tmp = self.state_dir / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "w") as fh:
                json.dump(state, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.state_dir)

    def _sweep(self) -> None:
        """Remove what a crashed process left behind: temp files and console logs without a VM.

        Each leftover is removed under its VM's lock, so an operation in
        progress in another process is never disturbed.
        """
        for path in self.state_dir.iterdir():
            name = path.name
            if name.startswith(".") and name.endswith(".tmp"):
                instance_id = name[1:].split(".", 1)[0]
            elif name.endswith(".console.log"):
                instance_id = name[: -len(".console.log")]
            else:
                continue
            if not valid_instance_id(instance_id):
                continue
            with self._locks.hold(instance_id):
                if name.endswith(".tmp") or not self._state_path(instance_id).exists():
                    path.unlink(missing_ok=True)

    @staticmethod
    def _to_info(state: dict) -> VmInfo:
        started = state.get("started_at")
        return VmInfo(
            instance_id=state["instance_id"],
            power_state=PowerState(state["power_state"]),
            started_at=datetime.fromisoformat(started) if started else None,
            created_at=datetime.fromisoformat(state["created_at"]),
            cpu=state["cpu"],
            memory_mib=state["memory_mib"],
            disks=tuple(DiskSpec.from_json(d) for d in state["disks"]),
            boot_count=state["boot_count"],
            ssh_port=state.get("ssh_port"),
        )

    # ------------------------------------------------------------------
    # Disks
    # ------------------------------------------------------------------

    def _inspect(self, instance_id: str, device: str, path: Path, fmt: str) -> int:
        """Check the disk file the way a hypervisor opening it would; returns its virtual size."""
        where = f"disk {device} of VM {instance_id} ({path})"
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise InvalidDisk(f"{where} does not exist", instance_id, device) from None
        if stat.S_ISLNK(st.st_mode):
            raise InvalidDisk(f"{where} is a symbolic link; disks must be regular files", instance_id, device)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidDisk(f"{where} is not a regular file", instance_id, device)
        if not os.access(path, os.R_OK | os.W_OK):
            raise InvalidDisk(f"{where} is not readable and writable", instance_id, device)
        if fmt == "raw":
            # qemu would happily read a qcow2 file as raw; a guest would see garbage.
            with open(path, "rb") as fh:
                if fh.read(4) == _QCOW2_MAGIC:
                    raise InvalidDisk(f"{where} is declared raw but is a qcow2 image", instance_id, device)
        try:
            found = qemu_img.info(path, fmt)
        except qemu_img.QemuImgError as exc:
            raise InvalidDisk(f"{where} is not a usable {fmt} image: {exc.stderr or exc}", instance_id,
                              device) from None
        if found.format != fmt:
            raise InvalidDisk(f"{where} is a {found.format} image, declared {fmt}", instance_id, device)
        return found.virtual_size

    def _check_disk(self, instance_id: str, disk: DiskSpec) -> None:
        """A disk given to spawn/attach: usable, of the declared size, and held by no other VM."""
        size = self._inspect(instance_id, disk.device, disk.path, disk.fmt)
        if size != disk.size_bytes:
            raise InvalidDisk(f"disk {disk.device} of VM {instance_id} ({disk.path}) has a virtual size of "
                              f"{size} bytes; {disk.size_bytes} declared", instance_id, disk.device)
        owner = self._holder_of(disk.path, instance_id)
        if owner is not None:
            raise InvalidDisk(f"disk {disk.device} of VM {instance_id} ({disk.path}) is attached to VM {owner}",
                              instance_id, disk.device)

    def _holder_of(self, path: Path, except_id: str) -> str | None:
        """The other VM that has ``path`` attached, if any (like qemu's image locking)."""
        target = Path(path).resolve()
        for info in self._all():
            if info.instance_id != except_id and any(d.path.resolve() == target for d in info.disks):
                return info.instance_id
        return None

    @staticmethod
    def _find_disk(state: dict, device: str) -> dict | None:
        return next((d for d in state["disks"] if d["device"] == device), None)

    def _live_check(self, state: dict, operation: str, allowed: bool, what: str) -> None:
        """Refuse an operation on a running/paused VM when the driver cannot do it live."""
        if state["power_state"] != PowerState.STOPPED and not allowed:
            raise InvalidVmState(state["instance_id"], state["power_state"], operation,
                                 f"VM {state['instance_id']} is {state['power_state']}; the {self.name} driver "
                                 f"cannot {what} a running VM (stop it first)")

    # ------------------------------------------------------------------
    # Console
    # ------------------------------------------------------------------

    def _console(self, instance_id: str, lines: list[str], *, truncate: bool = False) -> None:
        path = self._console_path(instance_id)
        with open(path, "w" if truncate else "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
            size = fh.tell()
        if size > _CONSOLE_MAX:  # keep the tail, as a serial-console ring buffer would
            data = path.read_bytes()[-_CONSOLE_KEEP:]
            cut = data.find(b"\n")
            path.write_bytes(data[cut + 1:] if cut >= 0 else data)

    def _uptime(self, state: dict) -> float:
        """Simulated seconds since the VM booted, for kernel-style timestamps."""
        if not state.get("started_at"):
            return 0.0
        elapsed = (self._clock() - datetime.fromisoformat(state["started_at"])).total_seconds()
        return _BOOT_SECONDS + max(elapsed, 0.0)

    @staticmethod
    def _kernel(t: float, text: str) -> str:
        return f"[{t:12.6f}] {text}"

    @staticmethod
    def _blocks(size: int) -> str:
        return f"{size // 512} 512-byte logical blocks ({size / 1e9:.1f} GB/{size / (1 << 30):.1f} GiB)"

    def _boot_lines(self, state: dict) -> list[str]:
        """What a small Debian guest prints on its serial console while booting."""
        k = self._kernel
        host = state.get("hostname") or state["instance_id"]
        disks = sorted(state["disks"], key=lambda d: d["device"])
        system = next(d for d in disks if d["role"] == "system")
        lines = [
            "SeaBIOS (version 1.16.2-debian-1.16.2-1)",
            f"Booting from Hard Disk ({system['device']})...",
            k(0.0, "Linux version 6.1.0-localcvm-amd64 (localcvm fake hypervisor) #1 SMP PREEMPT_DYNAMIC"),
            k(0.0, f"Command line: BOOT_IMAGE=/vmlinuz root=/dev/{system['device']}1 ro console=ttyS0,115200n8"),
            k(0.0, "Hypervisor detected: KVM"),
            k(0.012104, f"Memory: {state['memory_mib']} MiB available"),
            k(0.104367, f"smp: Brought up 1 node, {state['cpu']} CPU{'s' if state['cpu'] != 1 else ''}"),
        ]
        for n, d in enumerate(disks):
            lines.append(k(0.812 + n * 0.004, f"virtio_blk virtio{n + 2}: [{d['device']}] {self._blocks(d['size_bytes'])}"))
        lines += [
            k(1.310552, f"EXT4-fs ({system['device']}1): mounted filesystem with ordered data mode. Quota mode: none."),
            k(1.902311, "cloud-init[412]: Cloud-init v. 22.4.2 running 'init' (localcvm datasource)"),
        ]
        if state["boot_count"] == 1:  # per-instance modules run on the first boot only
            user_data = base64.b64decode(state["user_data"]) if state.get("user_data") else b""
            summary = f"{len(user_data)} bytes of user-data" if user_data else "no user-data"
            lines.append(k(1.954020, f"cloud-init[412]: first boot: {summary}, {len(state.get('ssh_keys', []))} ssh key(s)"))
        lines += [
            k(2.401873, f"systemd[1]: Set hostname to <{host}>."),
            k(2.803115, "sshd[530]: Server listening on 0.0.0.0 port 22."),
            k(3.100420, "systemd[1]: Reached target multi-user.target - Multi-User System."),
            "",
            f"Debian GNU/Linux 12 {host} ttyS0",
            "",
            f"{host} login: ",
        ]
        return lines

    def _shutdown_lines(self, state: dict, final: str) -> list[str]:
        t = self._uptime(state)
        return [
            self._kernel(t, "systemd[1]: Stopping session-1.scope - Session 1 of User root..."),
            self._kernel(t + 0.211, "systemd-shutdown[1]: Syncing filesystems and block devices."),
            self._kernel(t + 0.398, final),
        ]

    # ------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------

    def spawn(self, spec: VmSpec) -> VmInfo:
        instance_id = spec.instance_id
        with self._locks.hold(instance_id):
            if self._read(instance_id) is not None:
                raise VmAlreadyExists(instance_id)
            for disk in spec.disks:
                self._check_disk(instance_id, disk)
            now = self._clock().isoformat()
            state = {
                "format": _STATE_FORMAT,
                "instance_id": instance_id,
                "cpu": spec.cpu,
                "memory_mib": spec.memory_mib,
                "disks": [d.to_json() for d in sorted(spec.disks, key=lambda d: d.device)],
                "user_data": base64.b64encode(spec.user_data).decode() if spec.user_data is not None else None,
                "ssh_port": spec.ssh_port,
                "hostname": spec.hostname,
                "ssh_keys": list(spec.ssh_keys),
                "power_state": PowerState.RUNNING.value,
                "created_at": now,
                "started_at": now,
                "boot_count": 1,
            }
            try:
                self._console(instance_id, self._boot_lines(state), truncate=True)
                self._fault("spawn", spec)
                self._write(state)  # the commit point: from here on the VM exists
            except BaseException:
                # Nothing may be left behind, whatever failed (even after the rename).
                self._state_path(instance_id).unlink(missing_ok=True)
                self._console_path(instance_id).unlink(missing_ok=True)
                raise
            return self._to_info(state)

    def power_on(self, instance_id: str) -> None:
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            self._fault("power_on", instance_id)
            if state["power_state"] == PowerState.RUNNING:
                return
            if state["power_state"] == PowerState.PAUSED:  # resume: the guest simply goes on
                state["power_state"] = PowerState.RUNNING.value
                self._write(state)
                return
            # A boot opens every disk again: a file that went missing fails the start, and a
            # disk the caller grew or replaced while the VM was off is seen at its new size.
            for d in state["disks"]:
                d["size_bytes"] = self._inspect(instance_id, d["device"], Path(d["path"]), d["fmt"])
            state.update(power_state=PowerState.RUNNING.value, started_at=self._clock().isoformat(),
                         boot_count=state["boot_count"] + 1)
            self._console(instance_id, self._boot_lines(state))
            self._write(state)

    def power_off(self, instance_id: str, hard: bool = False) -> None:
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            self._fault("power_off", instance_id, hard)
            if state["power_state"] == PowerState.STOPPED:
                return
            # A paused guest cannot answer an ACPI request: it is stopped hard either way.
            # A hard stop prints nothing: the guest never learns about it.
            if not hard and state["power_state"] == PowerState.RUNNING:
                self._console(instance_id, self._shutdown_lines(state, "reboot: Power down"))
            state.update(power_state=PowerState.STOPPED.value, started_at=None)
            self._write(state)

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            if state["power_state"] == PowerState.STOPPED:
                raise InvalidVmState(instance_id, state["power_state"], "reboot",
                                     f"VM {instance_id} is stopped; only a running VM can be rebooted "
                                     "(power it on instead)")
            self._fault("reboot", instance_id, hard)
            if not hard and state["power_state"] == PowerState.RUNNING:
                self._console(instance_id, self._shutdown_lines(state, "reboot: Restarting system"))
            state.update(power_state=PowerState.RUNNING.value, started_at=self._clock().isoformat(),
                         boot_count=state["boot_count"] + 1)
            self._console(instance_id, self._boot_lines(state))
            self._write(state)

    def destroy(self, instance_id: str) -> None:
        if not valid_instance_id(instance_id):
            return  # cannot exist, so it is already gone
        with self._locks.hold(instance_id):
            self._fault("destroy", instance_id)
            # The state file goes first: it is the commit point. A crash before the console
            # log is removed leaves an orphan that the next start-up sweeps away.
            self._state_path(instance_id).unlink(missing_ok=True)
            self._console_path(instance_id).unlink(missing_ok=True)
            fsync_dir(self.state_dir)

    # ------------------------------------------------------------------
    # Inspection
    # ------------------------------------------------------------------

    def info(self, instance_id: str) -> VmInfo:
        self._fault("info", instance_id)
        state = self._read(instance_id)
        if state is None:
            return VmInfo(instance_id=instance_id, power_state=PowerState.ABSENT)
        return self._to_info(state)

    def list(self) -> list[VmInfo]:
        self._fault("list")
        return self._all()

    def _all(self) -> list[VmInfo]:
        out = []
        for path in sorted(self.state_dir.glob("*.json")):
            state = self._read(path.name[: -len(".json")])
            if state is not None:  # None: destroyed since the directory was listed
                out.append(self._to_info(state))
        return out

    def console_log(self, instance_id: str) -> str:
        self._require(instance_id)
        self._fault("console_log", instance_id)
        try:
            return self._console_path(instance_id).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # ------------------------------------------------------------------
    # Disks
    # ------------------------------------------------------------------

    def attach_disk(self, instance_id: str, disk: DiskSpec) -> None:
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            if disk.role != "data":
                raise InvalidDisk(f"only data disks can be attached; {disk.path} is a {disk.role} disk",
                                  instance_id, disk.device)
            current = self._find_disk(state, disk.device)
            if current is not None:
                if Path(current["path"]).resolve() == disk.path.resolve() and current["fmt"] == disk.fmt:
                    self._fault("attach_disk", instance_id, disk)
                    return  # attached already: a retried attach is a no-op
                raise InvalidDisk(f"device {disk.device} of VM {instance_id} is in use by {current['path']}",
                                  instance_id, disk.device)
            for d in state["disks"]:
                if Path(d["path"]).resolve() == disk.path.resolve():
                    raise InvalidDisk(f"{disk.path} is attached to VM {instance_id} already, as {d['device']}",
                                      instance_id, disk.device)
            self._live_check(state, "attach_disk", self.supports_hot_plug, "attach a disk to")
            self._check_disk(instance_id, disk)
            self._fault("attach_disk", instance_id, disk)
            if state["power_state"] == PowerState.RUNNING:
                n = len(state["disks"]) + 2
                self._console(instance_id, [self._kernel(
                    self._uptime(state), f"virtio_blk virtio{n}: [{disk.device}] {self._blocks(disk.size_bytes)}")])
            state["disks"].append(disk.to_json())
            state["disks"].sort(key=lambda d: d["device"])
            self._write(state)

    def detach_disk(self, instance_id: str, device: str) -> None:
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            current = self._find_disk(state, device)
            if current is not None:
                if current["role"] == "system":
                    raise InvalidDisk(f"device {device} of VM {instance_id} is the system disk; it cannot be "
                                      "detached", instance_id, device)
                self._live_check(state, "detach_disk", self.supports_hot_plug, "detach a disk from")
            self._fault("detach_disk", instance_id, device)
            if current is None:
                return  # nothing attached there: detached already
            state["disks"].remove(current)
            self._write(state)

    def snapshot_disk(self, instance_id: str, device: str, dest_path: Path) -> None:
        dest = Path(dest_path)
        with self._locks.hold(instance_id):
            # Holding the VM's lock is what makes the copy consistent here: nothing can
            # resize, detach or replace the disk while it is read.
            state = self._require(instance_id)
            disk = self._find_disk(state, device)
            if disk is None:
                raise InvalidDisk(f"VM {instance_id} has no disk at {device}", instance_id, device)
            self._live_check(state, "snapshot_disk", self.supports_live_snapshot, "snapshot a disk of")
            if not dest.parent.is_dir():
                raise DriverError(f"cannot snapshot {device} of VM {instance_id}: directory {dest.parent} "
                                  "does not exist", instance_id)
            self._inspect(instance_id, device, Path(disk["path"]), disk["fmt"])
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
            try:
                try:
                    # Flattens any backing chain; holes stay holes in the raw output; fsynced.
                    qemu_img.convert(disk["path"], disk["fmt"], tmp, "raw")
                except qemu_img.QemuImgError as exc:
                    raise DriverError(f"snapshot of {device} of VM {instance_id} failed: {exc}", instance_id) from exc
                self._fault("snapshot_disk", instance_id, device, dest)
                os.replace(tmp, dest)
                fsync_dir(dest.parent)
            finally:
                tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def frozen_disk(self, instance_id: str, device: str) -> Iterator[Path]:
        # The VM's lock held for the whole context is what keeps the file unchanged here:
        # nothing can resize, detach or replace the disk, and the fake guest writes nothing.
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            disk = self._find_disk(state, device)
            if disk is None:
                raise InvalidDisk(f"VM {instance_id} has no disk at {device}", instance_id, device)
            self._live_check(state, "frozen_disk", self.supports_live_snapshot, "freeze a disk of")
            self._fault("frozen_disk", instance_id, device)
            yield Path(disk["path"])

    def resize_disk(self, instance_id: str, device: str, new_size: int) -> None:
        if not isinstance(new_size, int) or isinstance(new_size, bool) or new_size <= 0:
            raise ValueError(f"new_size must be a positive number of bytes, not {new_size!r}")
        with self._locks.hold(instance_id):
            state = self._require(instance_id)
            disk = self._find_disk(state, device)
            if disk is None:
                raise InvalidDisk(f"VM {instance_id} has no disk at {device}", instance_id, device)
            self._live_check(state, "resize_disk", self.supports_online_resize, "resize a disk of")
            # The file is the truth (a retried resize may find it grown already).
            actual = self._inspect(instance_id, device, Path(disk["path"]), disk["fmt"])
            if new_size < actual:
                raise InvalidDisk(f"disk {device} of VM {instance_id} is {actual} bytes; shrinking it to "
                                  f"{new_size} bytes is not supported", instance_id, device)
            self._fault("resize_disk", instance_id, device, new_size)
            if new_size > actual:
                try:
                    qemu_img.resize(disk["path"], disk["fmt"], new_size)
                except qemu_img.QemuImgError as exc:
                    raise DriverError(f"resizing {device} of VM {instance_id} failed: {exc}", instance_id) from exc
                if state["power_state"] == PowerState.RUNNING:
                    t = self._uptime(state)
                    n = state["disks"].index(disk) + 2
                    self._console(instance_id, [
                        self._kernel(t, f"virtio_blk virtio{n}: [{device}] new size: {self._blocks(new_size)}"),
                        self._kernel(t, f"{device}: detected capacity change from {actual} to {new_size}"),
                    ])
            if disk["size_bytes"] != new_size:
                disk["size_bytes"] = new_size
                self._write(state)
