"""Compute drivers: the hypervisor behind instances.

``driver`` defines the ``ComputeDriver`` interface, its data types and its
errors; ``fake`` is the default driver (real state on disk, no guest). The
package speaks hypervisor terms only and must not import
``localcvm.store``, ``localcvm.api`` or ``localcvm.services``.

Public API::

    FakeDriver(state_dir, clock=None)             the default driver
    driver.spawn(VmSpec) -> VmInfo                create and start a VM
    driver.power_on(id) / power_off(id, hard) / reboot(id, hard) / destroy(id)
    driver.info(id) -> VmInfo / list() -> [VmInfo] / console_log(id) -> str
    driver.attach_disk(id, DiskSpec) / detach_disk(id, device)
    driver.frozen_disk(id, device) / resize_disk(id, device, new_size)
    with driver.frozen_disk(id, device) as path: ...   a consistent view of a disk, for a capture
"""

from __future__ import annotations

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
)
from .fake import FakeDriver

__all__ = [
    "ComputeDriver",
    "DiskSpec",
    "DriverError",
    "FakeDriver",
    "InvalidDisk",
    "InvalidVmState",
    "PowerState",
    "VmAlreadyExists",
    "VmInfo",
    "VmNotFound",
    "VmSpec",
]
