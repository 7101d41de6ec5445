"""What DescribeInstances shows of an instance: ``InstanceView`` (decoded fields, no ORM rows) and
the matching of its ``Filters``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from ...store.models import Disk, Instance
from .. import errors
from ..network import Placement, default_subnet, default_vpc
from ..query import tag_matches

INSTANCE_FILTERS = {"zone", "project-id", "instance-id", "uuid", "security-group-id", "instance-name",
                    "instance-charge-type", "instance-state", "private-ip-address", "public-ip-address",
                    "tag-key", "tag-value", "creation-start-time", "creation-end-time", "image-id",
                    "instance-type", "host-id", "dedicated-cluster-id", "vpc-id", "subnet-id", "ipv6-address"}


@dataclass(frozen=True)
class InstanceDisk:
    """A disk of an instance (position 0 is the system disk)."""

    disk_id: str
    disk_type: str
    size_gib: int
    position: int
    delete_with_instance: bool

    @classmethod
    def of(cls, d: Disk) -> InstanceDisk:
        return cls(d.disk_id, d.disk_type, d.size_gib, d.position, d.delete_with_instance)


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    zone: str
    project_id: int
    instance_type: str
    cpu: int
    memory_gib: int
    name: str
    hostname: str
    image_id: str
    os_name: str
    os_type: str
    license_type: str
    charge_type: str
    renew_flag: str
    expired_at: datetime | None
    state: str
    latest_operation: str
    latest_operation_state: str
    latest_operation_request_id: str
    latest_operation_error: str
    private_ip: str
    public_ip: str
    internet_charge_type: str
    internet_max_bandwidth_out: int
    security_group_ids: tuple[str, ...]
    uuid: str
    disable_api_termination: bool
    stopped_mode: str
    created_at: datetime
    disks: tuple[InstanceDisk, ...] = ()
    key_ids: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    # the instance's VPC and subnet (services/network/addresses.py)
    vpc_id: str = ""
    subnet_id: str = ""

    @property
    def system_disk(self) -> InstanceDisk | None:
        return next((d for d in self.disks if d.position == 0), None)

    @property
    def data_disks(self) -> list[InstanceDisk]:
        return [d for d in self.disks if d.position > 0]

    @classmethod
    def of(cls, r: Instance, disks: list[Disk] = (), key_ids: list[str] = (), tags: dict | None = None,
           placement: Placement | None = None) -> InstanceView:
        return cls(
            instance_id=r.instance_id, zone=r.zone, project_id=r.project_id, instance_type=r.instance_type,
            cpu=r.cpu, memory_gib=r.memory_gib, name=r.name, hostname=r.hostname, image_id=r.image_id,
            os_name=r.os_name, os_type=r.os_type, license_type=r.license_type, charge_type=r.charge_type,
            renew_flag=r.renew_flag, expired_at=r.expired_at, state=r.state, latest_operation=r.latest_operation,
            latest_operation_state=r.latest_operation_state,
            latest_operation_request_id=r.latest_operation_request_id,
            latest_operation_error=r.latest_operation_error, private_ip=r.private_ip, public_ip=r.public_ip,
            internet_charge_type=r.internet_charge_type or "",
            internet_max_bandwidth_out=r.internet_max_bandwidth_out or 0,
            security_group_ids=tuple(json.loads(r.security_group_ids or "[]")), uuid=r.uuid,
            disable_api_termination=r.disable_api_termination, stopped_mode=r.stopped_mode, created_at=r.created_at,
            disks=tuple(InstanceDisk.of(d) for d in disks), key_ids=tuple(key_ids), tags=dict(tags or {}),
            vpc_id=placement.vpc_id if placement else default_vpc(r.owner_uin, r.region),
            subnet_id=placement.subnet_id if placement else default_subnet(r.owner_uin, r.zone),
        )


def parse_time(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise errors.InvalidParameterValueInvalidTimeFormat(f"`{value}` is not a time like 2024-01-01T00:00:00Z.") from None


def check_time_filters(filters: list[tuple[str, list[str]]]) -> None:
    """The creation-time filters' values are times, whether or not any instance is there to match."""
    for name, values in filters:
        if name in ("creation-start-time", "creation-end-time"):
            for value in values:
                parse_time(value)


class Facets(NamedTuple):
    """What the DescribeInstances filters read of an instance: cheap to build for every row, so
    the full view is built only for the page."""

    instance_id: str
    zone: str
    project_id: int
    instance_type: str
    name: str
    image_id: str
    charge_type: str
    state: str
    private_ip: str
    public_ip: str
    security_group_ids: tuple[str, ...]
    uuid: str
    created_at: datetime
    tags: dict
    vpc_id: str
    subnet_id: str

    @classmethod
    def of(cls, r: Instance, tags: dict, placement: Placement | None = None) -> Facets:
        vpc_id, subnet_id = (placement.vpc_id, placement.subnet_id) if placement else \
            (default_vpc(r.owner_uin, r.region), default_subnet(r.owner_uin, r.zone))
        return cls(r.instance_id, r.zone, r.project_id, r.instance_type, r.name, r.image_id, r.charge_type, r.state,
                   r.private_ip, r.public_ip, tuple(json.loads(r.security_group_ids or "[]")), r.uuid, r.created_at,
                   tags, vpc_id, subnet_id)


def instance_matches(v: InstanceView | Facets, name: str, values: list[str]) -> bool:
    """One DescribeInstances filter (the API's documented names; host, cluster and IPv6 filters
    match nothing here; VPC and subnet are the account's defaults, services/network.py)."""
    simple = {
        "zone": v.zone, "instance-id": v.instance_id, "uuid": v.uuid, "instance-charge-type": v.charge_type,
        "instance-state": v.state, "private-ip-address": v.private_ip, "public-ip-address": v.public_ip,
        "image-id": v.image_id, "instance-type": v.instance_type, "project-id": str(v.project_id),
        "vpc-id": v.vpc_id, "subnet-id": v.subnet_id,
    }
    if name in simple:
        return simple[name] in values
    if name == "instance-name":
        return any(x in v.name for x in values)
    if name == "security-group-id":
        return any(sg in values for sg in v.security_group_ids)
    if (tagged := tag_matches(v.tags, name, values)) is not None:
        return tagged
    if name == "creation-start-time":
        return v.created_at >= parse_time(values[0])
    if name == "creation-end-time":
        return v.created_at <= parse_time(values[0])
    return False
