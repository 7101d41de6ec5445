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
  ``frozen_disk`` holds the VM's lock while the caller reads the
  disk file; ``resize_disk`` really resizes (``qemu-img resize``).
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
import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..fsio import fsync_dir, write_json_atomic
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
from .fake_console import (
    append_console,
    blocks,
    boot_lines,
    kernel,
    shutdown_lines,
    uptime,
)
from .fake_faults import FaultInjection
from .fake_files import inspect_disk, to_info
from .fake_locks import locks_for

__all__ = ["FakeDriver"]

_STATE_FORMAT = 1  # version of the JSON state file layout



def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------


class FakeDriver(FaultInjection, ComputeDriver):
    """A deterministic, fast ComputeDriver with real, persistent state under ``state_dir``.

    ``clock`` (returning an aware UTC datetime) replaces the wall clock,
    for tests that want fixed timestamps.
    """

    name = "fake"
    supports_console = True
    supports_live_snapshot = True
    supports_hot_plug = True
    supports_online_resize = True

    def __init__(self, state_dir: Path, *, clock: Callable[[], datetime] | None = None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock or _utcnow
        self._locks = locks_for(self.state_dir)
        self.init_faults()
        self._sweep()

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
        write_json_atomic(self._state_path(state["instance_id"]), state)

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

    # ------------------------------------------------------------------
    # Disks
    # ------------------------------------------------------------------

    def _check_disk(self, instance_id: str, disk: DiskSpec) -> None:
        """A disk given to spawn/attach: usable, of the declared size, and held by no other VM."""
        size = inspect_disk(instance_id, disk.device, disk.path, disk.fmt)
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
        append_console(self._console_path(instance_id), lines, truncate=truncate)

    def _uptime(self, state: dict) -> float:
        return uptime(state, self._clock())

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
                self._console(instance_id, boot_lines(state), truncate=True)
                self._fault("spawn", spec)
                self._write(state)  # the commit point: from here on the VM exists
            except BaseException:
                # Nothing may be left behind, whatever failed (even after the rename).
                self._state_path(instance_id).unlink(missing_ok=True)
                self._console_path(instance_id).unlink(missing_ok=True)
                raise
            return to_info(state)

    def power_on(self, instance_id: str, spec: VmSpec | None = None) -> None:
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
                d["size_bytes"] = inspect_disk(instance_id, d["device"], Path(d["path"]), d["fmt"])
            if spec is not None:  # the shape of now (a type changed while the VM was off)
                state.update(cpu=spec.cpu, memory_mib=spec.memory_mib, hostname=spec.hostname,
                             ssh_keys=list(spec.ssh_keys))
            state.update(power_state=PowerState.RUNNING.value, started_at=self._clock().isoformat(),
                         boot_count=state["boot_count"] + 1)
            self._console(instance_id, boot_lines(state))
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
                self._console(instance_id, shutdown_lines(self._uptime(state), "reboot: Power down"))
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
                self._console(instance_id, shutdown_lines(self._uptime(state), "reboot: Restarting system"))
            state.update(power_state=PowerState.RUNNING.value, started_at=self._clock().isoformat(),
                         boot_count=state["boot_count"] + 1)
            self._console(instance_id, boot_lines(state))
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
        return to_info(state)

    def list(self) -> list[VmInfo]:
        self._fault("list")
        return self._all()

    def _all(self) -> list[VmInfo]:
        out = []
        for path in sorted(self.state_dir.glob("*.json")):
            state = self._read(path.name[: -len(".json")])
            if state is not None:  # None: destroyed since the directory was listed
                out.append(to_info(state))
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
                self._console(instance_id, [kernel(
                    self._uptime(state), f"virtio_blk virtio{n}: [{disk.device}] {blocks(disk.size_bytes)}")])
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
            actual = inspect_disk(instance_id, device, Path(disk["path"]), disk["fmt"])
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
                        kernel(t, f"virtio_blk virtio{n}: [{device}] new size: {blocks(new_size)}"),
                        kernel(t, f"{device}: detected capacity change from {actual} to {new_size}"),
                    ])
            if disk["size_bytes"] != new_size:
                disk["size_bytes"] = new_size
                self._write(state)
