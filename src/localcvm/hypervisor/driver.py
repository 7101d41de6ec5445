"""The ``ComputeDriver`` interface: what the instance service needs from a hypervisor.

The driver speaks hypervisor terms only: VMs, power states, disk files and
devices. It knows nothing of accounts, regions, API states or the database
(it must not import ``localcvm.store``, ``localcvm.api`` or
``localcvm.services``); the service layer maps its own instance states
(``PENDING``, ``STARTING``, ``STOPPING``, ...) onto these calls.

Rules every driver follows
--------------------------

* **Synchronous.** A method returns once the VM has reached the state it
  asked for (or raises). Intermediate API states are the service's job.
* **A failed spawn leaves nothing behind**: no VM, no driver state, no
  console log, no process. The caller may simply retry it.
* **Idempotent where a retry is natural**, so a job that died half-way can
  run its step again: ``destroy`` of a VM that is already gone succeeds;
  ``power_off`` of a stopped VM and ``power_on`` of a running one are
  no-ops; ``detach_disk`` of a device that is not attached is a no-op;
  ``attach_disk`` of the very same disk file at the same device is a no-op;
  ``resize_disk`` to the current size is a no-op.
* **Disk files belong to the caller.** The driver opens, writes, snapshots
  and (when asked) resizes them, but never creates or deletes them.
* **Errors** are ``DriverError`` or one of its subclasses, each with a
  message that names the VM (and the disk) concerned:

  - ``VmNotFound``: the VM does not exist (any method but ``spawn``,
    ``destroy``, ``info`` and ``list``);
  - ``VmAlreadyExists``: ``spawn`` of an id that is in use;
  - ``InvalidVmState``: the VM is in the wrong power state for the call
    (e.g. ``reboot`` of a stopped VM, or a live operation the driver's
    capability flags say it cannot do);
  - ``InvalidDisk``: a disk file is missing, unreadable, of another format
    or size than declared, or a device is misused (detaching the system
    disk, attaching at a device in use, shrinking).

Capability flags
----------------

Callers test the class attributes below, never ``isinstance``:

``supports_console``       ``console_log`` returns the serial console;
``supports_live_snapshot`` ``frozen_disk`` works while the VM runs (else
                           the caller stops the VM first);
``supports_hot_plug``      ``attach_disk``/``detach_disk`` work while the VM
                           runs;
``supports_online_resize`` ``resize_disk`` works while the VM runs.

A call that a flag rules out raises ``InvalidVmState``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
import enum
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

__all__ = [
    "DISK_FORMATS",
    "DISK_ROLES",
    "ComputeDriver",
    "DiskSpec",
    "DriverError",
    "InvalidDisk",
    "InvalidVmState",
    "PowerState",
    "VmAlreadyExists",
    "VmInfo",
    "VmNotFound",
    "VmSpec",
    "valid_instance_id",
]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class DriverError(Exception):
    """A hypervisor operation failed. ``instance_id`` names the VM (or is None)."""

    def __init__(self, message: str, instance_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.instance_id = instance_id


class VmNotFound(DriverError):
    """The VM does not exist on this hypervisor."""

    def __init__(self, instance_id: str):
        super().__init__(f"VM {instance_id} does not exist", instance_id)


class VmAlreadyExists(DriverError):
    """``spawn`` of an instance id that is already in use."""

    def __init__(self, instance_id: str):
        super().__init__(f"VM {instance_id} already exists", instance_id)


class InvalidVmState(DriverError):
    """The VM's power state does not allow the operation.

    ``state`` is the VM's power state, ``operation`` the refused call.
    """

    def __init__(self, instance_id: str, state: str, operation: str, detail: str | None = None):
        text = detail or f"VM {instance_id} is {state}; {operation} is not possible in that state"
        super().__init__(text, instance_id)
        self.state = state
        self.operation = operation


class InvalidDisk(DriverError):
    """A disk file or device is unusable for the operation (see the message)."""

    def __init__(self, message: str, instance_id: str | None = None, device: str | None = None):
        super().__init__(message, instance_id)
        self.device = device


# --------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------


class PowerState(enum.StrEnum):
    """A VM's power state. A ``StrEnum``: ``PowerState.RUNNING == "running"``."""

    RUNNING = "running"
    STOPPED = "stopped"
    #: the VM exists but its CPUs are halted (a real hypervisor pauses on an
    #: I/O error or during some snapshots); ``power_on`` resumes it.
    PAUSED = "paused"
    #: reported by ``info`` for a VM the driver does not know.
    ABSENT = "absent"


DISK_FORMATS = frozenset({"qcow2", "raw"})
DISK_ROLES = frozenset({"system", "data"})

# Instance ids become file names in some drivers: letters, digits, '_' and
# '-' only (no dots, no slashes), at most 128 characters.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# Guest block device names: vda, vdb, ..., sda, xvdb, nvme0n1 ...
_DEVICE_RE = re.compile(r"[a-z][a-z0-9]{1,15}")


def valid_instance_id(instance_id: object) -> bool:
    """True when ``instance_id`` is a syntactically valid VM id."""
    return isinstance(instance_id, str) and _ID_RE.fullmatch(instance_id) is not None


@dataclass(frozen=True)
class DiskSpec:
    """One disk of a VM: a disk file the caller owns, seen by the guest as ``device``.

    ``size_bytes`` is the virtual (guest-visible) size the file must have;
    ``role`` is ``"system"`` (the boot disk, exactly one per VM) or
    ``"data"``.
    """

    path: Path
    fmt: Literal["qcow2", "raw"]
    size_bytes: int
    role: Literal["system", "data"]
    device: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if self.fmt not in DISK_FORMATS:
            raise ValueError(f"disk format must be one of {sorted(DISK_FORMATS)}, not {self.fmt!r}")
        if self.role not in DISK_ROLES:
            raise ValueError(f"disk role must be 'system' or 'data', not {self.role!r}")
        if not isinstance(self.size_bytes, int) or isinstance(self.size_bytes, bool) or self.size_bytes <= 0:
            raise ValueError(f"disk size must be a positive number of bytes, not {self.size_bytes!r}")
        if not isinstance(self.device, str) or not _DEVICE_RE.fullmatch(self.device):
            raise ValueError(f"invalid device name {self.device!r} (expected e.g. 'vda')")

    def to_json(self) -> dict:
        return {"path": str(self.path), "fmt": self.fmt, "size_bytes": self.size_bytes,
                "role": self.role, "device": self.device}

    @classmethod
    def from_json(cls, obj: dict) -> DiskSpec:
        return cls(Path(obj["path"]), obj["fmt"], int(obj["size_bytes"]), obj["role"], obj["device"])


@dataclass
class VmSpec:
    """What ``spawn`` builds: the VM's shape, its disks and its first-boot data.

    ``disks`` holds exactly one ``role="system"`` disk (the boot disk) and
    any number of data disks, on distinct devices and distinct files.
    ``user_data`` is handed to the guest's init (cloud-init style) on first
    boot; ``ssh_port`` is the host port forwarded to the guest's port 22
    (None: no forwarding); ``hostname`` and ``ssh_keys`` (OpenSSH public
    keys) go to the guest's init as well.

    The rest is what a real guest learns at boot (the NoCloud seed and the metadata service at
    169.254.0.23): the root ``password`` (None: no password login), the ``region`` and ``zone``,
    the ``private_ip`` (DHCP hands it out) in ``subnet_cidr``, the ``public_ip`` (a loopback
    address the driver forwards to the guest), and free-form ``metadata`` (instance name, type,
    image id, uuid) for the metadata service.
    """

    instance_id: str
    cpu: int
    memory_mib: int
    disks: list[DiskSpec]
    user_data: bytes | None = None
    ssh_port: int | None = None
    hostname: str | None = None
    ssh_keys: list[str] = field(default_factory=list)
    password: str | None = None
    region: str = ""
    zone: str = ""
    private_ip: str = ""
    public_ip: str = ""
    subnet_cidr: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not valid_instance_id(self.instance_id):
            raise ValueError(f"invalid instance id {self.instance_id!r}")
        for name in ("cpu", "memory_mib"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self.disks = list(self.disks)
        systems = [d for d in self.disks if d.role == "system"]
        if len(systems) != 1:
            raise ValueError(f"a VM needs exactly one system disk, {self.instance_id} has {len(systems)}")
        devices = [d.device for d in self.disks]
        if len(set(devices)) != len(devices):
            raise ValueError(f"duplicate disk devices in {devices}")
        paths = [d.path.resolve() for d in self.disks]
        if len(set(paths)) != len(paths):
            raise ValueError("the same disk file is given twice")
        if self.user_data is not None and not isinstance(self.user_data, bytes):
            raise ValueError("user_data must be bytes or None")
        if self.ssh_port is not None and not (isinstance(self.ssh_port, int) and 0 < self.ssh_port < 65536):
            raise ValueError(f"ssh_port must be a TCP port (1-65535) or None, not {self.ssh_port!r}")
        self.ssh_keys = list(self.ssh_keys)


@dataclass(frozen=True)
class VmInfo:
    """A VM as the hypervisor sees it now.

    For an unknown VM ``info`` answers ``power_state=ABSENT`` and the
    defaults below. ``started_at`` is when the VM last booted (None when
    not running); ``boot_count`` counts boots (spawn, power-on, reboot);
    ``disks`` are the disks attached now, sorted by device, with their
    current sizes.
    """

    instance_id: str
    power_state: PowerState
    started_at: datetime | None = None
    created_at: datetime | None = None
    cpu: int = 0
    memory_mib: int = 0
    disks: tuple[DiskSpec, ...] = ()
    boot_count: int = 0
    ssh_port: int | None = None

    @property
    def exists(self) -> bool:
        return self.power_state != PowerState.ABSENT

    def disk(self, device: str) -> DiskSpec | None:
        """The disk attached at ``device``, or None."""
        return next((d for d in self.disks if d.device == device), None)


# --------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------


class ComputeDriver(abc.ABC):
    """A hypervisor. See the module docstring for the rules every method follows."""

    #: short name of the driver ("fake", "qemu")
    name: str = "abstract"
    #: console_log returns the VM's serial console
    supports_console: bool = True
    #: frozen_disk works on a running VM
    supports_live_snapshot: bool = False
    #: attach_disk / detach_disk work on a running VM
    supports_hot_plug: bool = False
    #: resize_disk works on a running VM
    supports_online_resize: bool = False
    #: the driver boots the image's bytes (images it cannot run are refused at launch)
    boots_images: bool = False

    # --- life cycle --------------------------------------------------------

    @abc.abstractmethod
    def spawn(self, spec: VmSpec) -> VmInfo:
        """Create the VM and start it; returns its info (``running``).

        Checks every disk of ``spec`` first (the file exists and is a
        readable, writable image of the declared format and virtual size).
        Raises ``VmAlreadyExists`` when the id is in use (that VM is left
        untouched), ``InvalidDisk`` for a bad disk, ``DriverError`` for
        anything else. A failed spawn leaves nothing behind.
        """

    def set_connection_policy(self, allow: Callable[[str, str, str, int], bool] | None) -> None:  # noqa: B027
        """Filter new connections to the VMs' forwarded ports: ``allow(instance_id, source_ip,
        protocol, port)`` decides each (the instances' security groups); None lets everything in.
        A driver whose VMs are reached through no port of its own ignores it."""

    @abc.abstractmethod
    def power_on(self, instance_id: str, spec: VmSpec | None = None) -> None:
        """Start a stopped VM (or resume a paused one); no-op when running.

        ``spec``, when given, is the VM's shape as of now: a start from stopped boots with its
        ``cpu`` and ``memory_mib`` (and its first-boot data), so a change of instance type made
        while the VM was off takes effect at this start. Its disks must be the ones attached.

        A start opens the disk files again, as a real boot does: a missing
        or broken disk raises ``InvalidDisk`` and the VM stays stopped.
        """

    @abc.abstractmethod
    def power_off(self, instance_id: str, hard: bool = False) -> None:
        """Stop the VM; no-op when it is already stopped.

        ``hard=False`` asks the guest to shut down (ACPI) and falls back to
        a hard stop after the driver's timeout; ``hard=True`` pulls the
        plug. Either way the VM is stopped when this returns.
        """

    @abc.abstractmethod
    def reboot(self, instance_id: str, hard: bool = False) -> None:
        """Restart a running (or paused) VM; ``InvalidVmState`` when stopped.

        ``hard=False`` is a guest reboot, ``hard=True`` a reset.
        """

    @abc.abstractmethod
    def destroy(self, instance_id: str) -> None:
        """Stop the VM hard and forget it (state, console log, processes).

        Succeeds when the VM is already gone. The disk files are not touched.
        """

    def configure(self, spec: VmSpec) -> None:
        """Replace the VM's boot-time configuration (user data, keys, password, hostname, addresses,
        metadata: the fields of ``spec`` beyond its shape and disks) for its next boot.

        The real service applies key pairs, passwords and hostnames at the next start; a driver
        whose guests read nothing at boot ignores this (the default).
        """

    def close(self) -> None:
        """Release what the driver holds in this process (the VMs themselves stay as they are)."""

    def set_password(self, instance_id: str, password: str) -> None:
        """Keep ``password`` as the root password the guest gets at its next boot (no-op by default)."""

    def live_ids(self) -> set[str] | None:
        """The VMs running now, found cheaply (no guest call), for drivers whose guests can stop on
        their own; None (the default) when the driver's state is all there is."""
        return None

    def vnc_url(self, instance_id: str) -> str | None:
        """A URL of the VM's VNC console (a websocket on 127.0.0.1), or None when the driver has none."""
        return None

    # --- inspection --------------------------------------------------------

    @abc.abstractmethod
    def info(self, instance_id: str) -> VmInfo:
        """The VM's current info; ``power_state=ABSENT`` for an unknown VM (never raises VmNotFound)."""

    @abc.abstractmethod
    def list(self) -> list[VmInfo]:
        """Every VM this driver knows, sorted by instance id."""

    @abc.abstractmethod
    def console_log(self, instance_id: str) -> str:
        """The VM's serial console output so far (the tail, when it is long).

        Kept across power cycles; gone with ``destroy``. Raises ``VmNotFound``.
        """

    # --- disks -------------------------------------------------------------

    @abc.abstractmethod
    def attach_disk(self, instance_id: str, disk: DiskSpec) -> None:
        """Attach a data disk at ``disk.device``.

        The file is checked as in ``spawn``. ``InvalidDisk`` for a system
        disk, a device in use by another file, or a file attached already
        at another device; attaching the same file at the same device again
        is a no-op. A running VM needs ``supports_hot_plug``.
        """

    @abc.abstractmethod
    def detach_disk(self, instance_id: str, device: str) -> None:
        """Detach the data disk at ``device``; no-op when nothing is attached there.

        ``InvalidDisk`` for the system disk. A running VM needs
        ``supports_hot_plug``.
        """

    @abc.abstractmethod
    def frozen_disk(self, instance_id: str, device: str) -> AbstractContextManager[Path]:
        """A context manager for a consistent view of the disk at ``device``, for a capture.

        It yields the path of a file (of the disk's format) whose guest-visible content stays
        as it was when the context was entered until it is left; the caller only reads it.
        Nothing can resize, detach or replace the disk meanwhile. A running VM needs
        ``supports_live_snapshot`` (``InvalidVmState`` otherwise: stop it first); ``InvalidDisk``
        when nothing is attached at ``device``.
        """

    @abc.abstractmethod
    def resize_disk(self, instance_id: str, device: str, new_size: int) -> None:
        """Grow the disk at ``device`` to ``new_size`` bytes (the file and what the guest sees).

        No-op at the current size; ``InvalidDisk`` for a smaller size. A
        running VM needs ``supports_online_resize``.
        """
