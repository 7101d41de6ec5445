"""What the network service answers: typed views of VPCs, subnets, addresses, groups and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class VpcView:
    vpc_id: str
    name: str
    cidr: str
    is_default: bool
    enable_multicast: bool
    dns_servers: tuple[str, ...]
    domain_name: str
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubnetView:
    subnet_id: str
    vpc_id: str
    name: str
    cidr: str
    zone: str
    is_default: bool
    enable_broadcast: bool
    created_at: datetime
    total_ips: int
    available_ips: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UsedAddress:
    vpc_id: str
    subnet_id: str
    ip: str
    resource_type: str
    resource_id: str
    cidr: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class Placement:
    """Where an instance is: its VPC, subnet and private address."""

    vpc_id: str
    subnet_id: str
    ip: str


@dataclass(frozen=True)
class GroupView:
    sg_id: str
    name: str
    description: str
    project_id: int
    is_default: bool
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyView:
    """One rule: ``index`` is its PolicyIndex (its place in its direction's list, from 0)."""

    index: int
    protocol: str
    port: str
    cidr: str
    ipv6_cidr: str
    ref_sg_id: str
    action: str
    description: str
    modified_at: datetime | None = None


@dataclass(frozen=True)
class PolicySetView:
    version: int
    ingress: tuple[PolicyView, ...]
    egress: tuple[PolicyView, ...]


@dataclass(frozen=True)
class GroupStats:
    sg_id: str
    instances: int
    referring_groups: int


@dataclass(frozen=True)
class Decision:
    """The answer of the firewall: allowed or not, and the rule that decided (None: default deny)."""

    allowed: bool
    sg_id: str = ""
    rule: PolicyView | None = None
    reason: str = ""
