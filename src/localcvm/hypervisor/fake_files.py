"""What the fake driver checks of a disk file (as a hypervisor opening it would) and how its VM
state records read back as ``VmInfo``."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

from ..imaging import qemu_img
from .driver import DiskSpec, InvalidDisk, PowerState, VmInfo

__all__ = ["inspect_disk", "to_info"]

QCOW2_MAGIC = b"QFI\xfb"


def inspect_disk(instance_id: str, device: str, path: Path, fmt: str) -> int:
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
            if fh.read(4) == QCOW2_MAGIC:
                raise InvalidDisk(f"{where} is declared raw but is a qcow2 image", instance_id, device)
    try:
        found = qemu_img.info(path, fmt)
    except qemu_img.QemuImgError as exc:
        raise InvalidDisk(f"{where} is not a usable {fmt} image: {exc.stderr or exc}", instance_id,
                          device) from None
    if found.format != fmt:
        raise InvalidDisk(f"{where} is a {found.format} image, declared {fmt}", instance_id, device)
    return found.virtual_size


def to_info(state: dict) -> VmInfo:
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
