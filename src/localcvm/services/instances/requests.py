"""The typed arguments of the instance actions: ``api/`` builds them from the validated request."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataDiskRequest:
    """One ``DataDisks`` item of RunInstances."""

    disk_size: int
    disk_type: str | None = None
    disk_name: str | None = None
    snapshot_id: str | None = None
    delete_with_instance: bool = True
    encrypted: bool = False


@dataclass(frozen=True)
class InternetRequest:
    """``InternetAccessible`` of RunInstances."""

    charge_type: str = ""
    max_bandwidth_out: int = 0
    public_ip_assigned: bool = False
    bandwidth_package_id: str = ""


@dataclass(frozen=True)
class LoginRequest:
    """``LoginSettings`` of RunInstances and ResetInstance."""

    key_ids: tuple[str, ...] = ()
    password: str | None = None
    keep_image_login: str | None = None


@dataclass(frozen=True)
class RunRequest:
    """RunInstances."""

    zone: str | None = None
    project_id: int = 0
    instance_type: str | None = None
    image_id: str | None = None
    count: int = 1
    charge_type: str | None = None
    prepaid_period: int | None = None
    system_disk_type: str | None = None
    system_disk_size: int | None = None
    data_disks: tuple[DataDiskRequest, ...] = ()
    login: LoginRequest = field(default_factory=LoginRequest)
    instance_name: str | None = None
    hostname: str | None = None
    user_data: str | None = None
    security_group_ids: tuple[str, ...] = ()
    vpc_id: str | None = None  # VirtualPrivateCloud
    subnet_id: str | None = None
    private_ips: tuple[str, ...] = ()
    internet: InternetRequest = field(default_factory=InternetRequest)
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None
    dry_run: bool = False
    disable_api_termination: bool = False


@dataclass(frozen=True)
class StopRequest:
    """StopInstances / RebootInstances: the stop type, given or from the deprecated Force* flag."""

    stop_type: str | None = None
    force: bool = False
    stopped_mode: str | None = None


@dataclass(frozen=True)
class ResetRequest:
    """ResetInstance."""

    instance_id: str
    image_id: str | None = None
    system_disk_size: int | None = None
    login: LoginRequest = field(default_factory=LoginRequest)
    hostname: str | None = None
    user_data: str | None = None


@dataclass(frozen=True)
class DiskSize:
    """A ``DataDisks`` item of ResizeInstanceDisks."""

    disk_id: str | None
    disk_size: int


@dataclass(frozen=True)
class ResizeRequest:
    """ResizeInstanceDisks (``system_disk_size`` 0: SystemDisk given without a size)."""

    instance_id: str
    system_disk_size: int | None = None
    data_disks: tuple[DiskSize, ...] = ()
    force_stop: bool = False
    resize_online: bool = False



@dataclass(frozen=True)
class ModifyRequest:
    """ModifyInstancesAttribute: only the members given are set (None: not given)."""

    instance_ids: tuple[str, ...]
    instance_name: str | None = None
    hostname: str | None = None
    disable_api_termination: bool | None = None
    security_group_ids: tuple[str, ...] | None = None
    user_data: str | None = None


@dataclass(frozen=True)
class PasswordRequest:
    """ResetInstancesPassword."""

    instance_ids: tuple[str, ...]
    password: str
    username: str | None = None
    force_stop: bool = False
