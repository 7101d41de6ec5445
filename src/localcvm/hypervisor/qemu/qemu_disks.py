"""The disk operations of ``QemuDriver``: checks, hot plug (QMP ``blockdev-add``/``device_add``,
``device_del``/``blockdev-del``), online resize (``block_resize``) and a frozen view (``stop``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from ..driver import DiskSpec, DriverError, InvalidDisk, PowerState
from ..fake_files import inspect_disk
from . import process

__all__ = ["DiskOps"]


class DiskOps:
    """Mixed into ``QemuDriver`` (uses its ``_locks``, ``_require``, ``_write``, ``_status``, ``_qmp``)."""

    def check_disk(self, instance_id: str, disk: DiskSpec) -> None:
        size = inspect_disk(instance_id, disk.device, disk.path, disk.fmt)
        if size != disk.size_bytes:
            raise InvalidDisk(f"disk {disk.device} of VM {instance_id} ({disk.path}) has a virtual size of "
                              f"{size} bytes; {disk.size_bytes} declared", instance_id, disk.device)
        target = disk.path.resolve()
        for other in self.list():
            if other.instance_id != instance_id and any(d.path.resolve() == target for d in other.disks):
                raise InvalidDisk(f"disk {disk.device} of VM {instance_id} ({disk.path}) is attached to VM "
                                  f"{other.instance_id}", instance_id, disk.device)

    @staticmethod
    def _find(st: dict, device: str) -> dict | None:
        return next((d for d in st["disks"] if d["device"] == device), None)

    def attach_disk(self, instance_id: str, disk: DiskSpec) -> None:
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            if disk.role != "data":
                raise InvalidDisk(f"only data disks can be attached; {disk.path} is a {disk.role} disk",
                                  instance_id, disk.device)
            current = self._find(st, disk.device)
            if current is not None:
                if Path(current["path"]).resolve() == disk.path.resolve() and current["fmt"] == disk.fmt:
                    return
                raise InvalidDisk(f"device {disk.device} of VM {instance_id} is in use by {current['path']}",
                                  instance_id, disk.device)
            for d in st["disks"]:
                if Path(d["path"]).resolve() == disk.path.resolve():
                    raise InvalidDisk(f"{disk.path} is attached to VM {instance_id} already, as {d['device']}",
                                      instance_id, disk.device)
            self.check_disk(instance_id, disk)
            if self._status(instance_id) != PowerState.STOPPED:
                blk = process.blockdev_args(disk.device, disk.path, disk.fmt)
                self._qmp(instance_id, "blockdev-add", **blk)
                try:
                    self._qmp(instance_id, "device_add", **process.disk_device_args(disk.device))
                except DriverError:
                    with contextlib.suppress(DriverError):
                        self._qmp(instance_id, "blockdev-del", **{"node-name": blk["node-name"]})
                    raise
            st["disks"].append(disk.to_json())
            st["disks"].sort(key=lambda d: d["device"])
            self._write(st)

    def detach_disk(self, instance_id: str, device: str) -> None:
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            current = self._find(st, device)
            if current is None:
                return
            if current["role"] == "system":
                raise InvalidDisk(f"device {device} of VM {instance_id} is the system disk; it cannot be "
                                  "detached", instance_id, device)
            if self._status(instance_id) != PowerState.STOPPED:
                self._unplug(instance_id, device)
            st["disks"].remove(current)
            self._write(st)

    def _unplug(self, instance_id: str, device: str, timeout: float = 20.0) -> None:
        """``device_del`` (the guest answers the ACPI unplug request), then drop the block node."""
        try:
            self._qmp(instance_id, "device_del", id=f"dev-{device}")
        except DriverError as exc:
            if "not found" not in str(exc):
                raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._qmp(instance_id, "qom-get", path=f"/machine/peripheral/dev-{device}", property="type")
            except DriverError:
                break  # the device is gone
            time.sleep(0.2)
        else:
            raise DriverError(f"VM {instance_id}: the guest did not release {device} within {timeout:.0f} s "
                              "(stop the instance to detach it)", instance_id)
        with contextlib.suppress(DriverError):
            self._qmp(instance_id, "blockdev-del", **{"node-name": f"disk-{device}"})

    @contextlib.contextmanager
    def frozen_disk(self, instance_id: str, device: str) -> Iterator[Path]:
        # QMP `stop` drains and flushes every disk before the vCPUs halt; the file then stays as it is
        # until `cont`. The VM's lock keeps resize/detach away meanwhile.
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            disk = self._find(st, device)
            if disk is None:
                raise InvalidDisk(f"VM {instance_id} has no disk at {device}", instance_id, device)
            paused_here = self._status(instance_id) == PowerState.RUNNING
            if paused_here:
                self._qmp(instance_id, "stop")
            try:
                yield Path(disk["path"])
            finally:
                if paused_here:
                    with contextlib.suppress(DriverError):
                        self._qmp(instance_id, "cont")

    def resize_disk(self, instance_id: str, device: str, new_size: int) -> None:
        if not isinstance(new_size, int) or isinstance(new_size, bool) or new_size <= 0:
            raise ValueError(f"new_size must be a positive number of bytes, not {new_size!r}")
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            disk = self._find(st, device)
            if disk is None:
                raise InvalidDisk(f"VM {instance_id} has no disk at {device}", instance_id, device)
            running = self._status(instance_id) != PowerState.STOPPED
            actual = disk["size_bytes"] if running else inspect_disk(instance_id, device, Path(disk["path"]),
                                                                     disk["fmt"])
            if new_size < actual:
                raise InvalidDisk(f"disk {device} of VM {instance_id} is {actual} bytes; shrinking it to "
                                  f"{new_size} bytes is not supported", instance_id, device)
            if new_size > actual:
                if running:
                    self._qmp(instance_id, "block_resize", **{"node-name": f"disk-{device}", "size": new_size})
                else:
                    self._resize_file(Path(disk["path"]), disk["fmt"], new_size)
            if disk["size_bytes"] != new_size:
                disk["size_bytes"] = new_size
                self._write(st)
