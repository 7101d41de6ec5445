"""Networks: VPCs, subnets, the private addresses taken in them, security groups and their rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class Vpc(Base):
    __tablename__ = "vpcs"

    vpc_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    cidr: Mapped[str] = mapped_column(String(43))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_multicast: Mapped[bool] = mapped_column(Boolean, default=False)
    dns_servers: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    domain_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Subnet(Base):
    __tablename__ = "subnets"

    subnet_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("vpcs.vpc_id", ondelete="CASCADE"), index=True)
    owner_uin: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    cidr: Mapped[str] = mapped_column(String(43))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class IpAllocation(Base):
    """A private address taken in a subnet. The primary key makes two holders of one address impossible,
    whatever the concurrency."""

    __tablename__ = "ip_allocations"

    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.subnet_id", ondelete="CASCADE"), primary_key=True)
    ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    vpc_id: Mapped[str] = mapped_column(String(16), index=True)
    owner_uin: Mapped[str] = mapped_column(String(20))
    resource_type: Mapped[str] = mapped_column(String(16))  # cvm
    resource_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SecurityGroup(Base):
    __tablename__ = "security_groups"

    sg_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(256), default="")
    project_id: Mapped[int] = mapped_column(BigInteger, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # the policy set's Version: it grows by one with every change of the rules
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SecurityGroupPolicy(Base):
    """One rule of a group: its place (PolicyIndex) in the ingress or egress list."""

    __tablename__ = "security_group_policies"

    sg_id: Mapped[str] = mapped_column(ForeignKey("security_groups.sg_id", ondelete="CASCADE"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)  # ingress | egress
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(8))
    port: Mapped[str] = mapped_column(String(256), default="ALL")
    cidr: Mapped[str] = mapped_column(String(43), default="")
    ipv6_cidr: Mapped[str] = mapped_column(String(64), default="")
    ref_sg_id: Mapped[str] = mapped_column(String(16), default="", index=True)
    action: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(String(256), default="")
    modified_at: Mapped[datetime] = mapped_column(DateTime)
