"""The ComputeDriver interface: what the instance service needs from a hypervisor, in hypervisor terms.

Failure rules every driver follows:
- a spawn that fails leaves nothing behind (no VM, no state);
- destroy succeeds when the VM is already gone (raises VmNotFound only from info());
- power_off of a stopped VM and power_on of a running one are no-ops;
- disk files belong to the caller: the driver uses them and never deletes them.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path


class DriverError(Exception):
    """A hypervisor operation failed."""


class VmNotFound(DriverError):
    def __init__(self, instance_id: str):
        super().__init__(f"no VM {instance_id}")
        self.instance_id = instance_id


class InvalidVmState(DriverError):
    pass


@dataclass
class DiskSpec:
    path: Path
    fmt: str  # qcow2 | raw
    size_bytes: int
    role: str  # system | data
    device: str  # vda, vdb, ...


@dataclass
class VmSpec:
    instance_id: str
    cpu: int
    memory_mib: int
    disks: list[DiskSpec]
    user_data: bytes | None = None
    ssh_port: int | None = None


@dataclass
class VmInfo:
    instance_id: str
    power_state: str  # running | stopped | absent
    started_at: float | None = None
    boots: int = 0
    disks: list[str] = field(default_factory=list)


class ComputeDriver(abc.ABC):
    # capability flags (callers check these instead of isinstance)
    real_vm = False
    supports_console = True
    supports_live_snapshot = True

    @abc.abstractmethod
    def spawn(self, spec: VmSpec) -> VmInfo: ...

    @abc.abstractmethod
    def power_on(self, instance_id: str) -> None: ...

    @abc.abstractmethod
    def power_off(self, instance_id: str, hard: bool = False) -> None: ...

    @abc.abstractmethod
    def reboot(self, instance_id: str, hard: bool = False) -> None: ...

    @abc.abstractmethod
    def destroy(self, instance_id: str) -> None: ...

    @abc.abstractmethod
    def info(self, instance_id: str) -> VmInfo: ...

    @abc.abstractmethod
    def list(self) -> list[VmInfo]: ...

    @abc.abstractmethod
    def console_log(self, instance_id: str) -> str: ...

    @abc.abstractmethod
    def attach_disk(self, instance_id: str, disk: DiskSpec) -> None: ...

    @abc.abstractmethod
    def detach_disk(self, instance_id: str, device: str) -> None: ...
