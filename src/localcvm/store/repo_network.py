"""Queries of the network tables (VPCs, subnets, address allocations, security groups, rules)."""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select

from .models import Instance, Tag
from .models_network import IpAllocation, SecurityGroup, SecurityGroupPolicy, Subnet, Vpc
from .repo import Repo


class NetworkRepo:
    """The network queries of one transaction (``repo``)."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self.session = repo.session

    def drop_tags(self, resource_id: str) -> None:
        self.session.execute(delete(Tag).where(Tag.resource_id == resource_id))

    # --- VPCs and subnets ----------------------------------------------------------------------
    def get_vpc(self, vpc_id: str, *, for_update: bool = False) -> Vpc | None:
        q = select(Vpc).where(Vpc.vpc_id == vpc_id)
        return self.session.scalar(q.with_for_update() if for_update and not self.repo.db.is_sqlite else q)

    def vpcs_of(self, uin: str, region: str) -> list[Vpc]:
        q = select(Vpc).where(Vpc.owner_uin == uin, Vpc.region == region)
        return list(self.session.scalars(q.order_by(Vpc.created_at.desc(), Vpc.vpc_id)))

    def get_subnet(self, subnet_id: str) -> Subnet | None:
        return self.session.get(Subnet, subnet_id)

    def subnets_of(self, uin: str, region: str) -> list[Subnet]:
        q = select(Subnet).where(Subnet.owner_uin == uin, Subnet.region == region)
        return list(self.session.scalars(q.order_by(Subnet.created_at.desc(), Subnet.subnet_id)))

    def subnets_of_vpc(self, vpc_id: str) -> list[Subnet]:
        return list(self.session.scalars(select(Subnet).where(Subnet.vpc_id == vpc_id).order_by(Subnet.subnet_id)))

    def delete_vpc(self, vpc_id: str) -> None:
        self.drop_tags(vpc_id)
        self.session.execute(delete(Subnet).where(Subnet.vpc_id == vpc_id))
        self.session.execute(delete(Vpc).where(Vpc.vpc_id == vpc_id))

    def delete_subnet(self, subnet_id: str) -> None:
        self.drop_tags(subnet_id)
        self.session.execute(delete(Subnet).where(Subnet.subnet_id == subnet_id))

    # --- private addresses ---------------------------------------------------------------------
    def used_ips(self, subnet_id: str) -> set[str]:
        return set(self.session.scalars(select(IpAllocation.ip).where(IpAllocation.subnet_id == subnet_id)))

    def used_counts(self, subnet_ids: list[str]) -> dict[str, int]:
        q = (select(IpAllocation.subnet_id, func.count()).where(IpAllocation.subnet_id.in_(subnet_ids))
             .group_by(IpAllocation.subnet_id))
        return {sid: n for sid, n in self.session.execute(q)}

    def allocations_in_vpc(self, vpc_id: str) -> list[IpAllocation]:
        q = select(IpAllocation).where(IpAllocation.vpc_id == vpc_id)
        return list(self.session.scalars(q.order_by(IpAllocation.subnet_id, IpAllocation.ip)))

    def allocations_of(self, resource_ids: list[str]) -> dict[str, IpAllocation]:
        if not resource_ids:
            return {}
        q = select(IpAllocation).where(IpAllocation.resource_id.in_(resource_ids))
        return {a.resource_id: a for a in self.session.scalars(q)}

    def release(self, resource_id: str) -> None:
        self.session.execute(delete(IpAllocation).where(IpAllocation.resource_id == resource_id))

    # --- security groups -----------------------------------------------------------------------
    def get_group(self, sg_id: str) -> SecurityGroup | None:
        return self.session.get(SecurityGroup, sg_id)

    def groups_of(self, uin: str, region: str) -> list[SecurityGroup]:
        q = select(SecurityGroup).where(SecurityGroup.owner_uin == uin, SecurityGroup.region == region)
        return list(self.session.scalars(q.order_by(SecurityGroup.created_at.desc(), SecurityGroup.sg_id)))

    def policies_of(self, sg_ids: list[str], direction: str | None = None) -> list[SecurityGroupPolicy]:
        if not sg_ids:
            return []
        q = select(SecurityGroupPolicy).where(SecurityGroupPolicy.sg_id.in_(sg_ids))
        if direction:
            q = q.where(SecurityGroupPolicy.direction == direction)
        return list(self.session.scalars(q.order_by(SecurityGroupPolicy.sg_id, SecurityGroupPolicy.direction,
                                                     SecurityGroupPolicy.position)))

    def set_policies(self, sg_id: str, direction: str, rows: list[SecurityGroupPolicy]) -> None:
        """Replace the rules of one direction by ``rows`` (their positions are set here, in order)."""
        self.session.execute(delete(SecurityGroupPolicy).where(SecurityGroupPolicy.sg_id == sg_id,
                                                               SecurityGroupPolicy.direction == direction))
        self.session.flush()
        for i, row in enumerate(rows):
            row.sg_id, row.direction, row.position = sg_id, direction, i
            self.session.add(row)
        self.session.flush()

    def groups_referring(self, sg_ids: list[str]) -> dict[str, set[str]]:
        """{referred group: the groups whose rules name it as a source}."""
        if not sg_ids:
            return {}
        q = select(SecurityGroupPolicy.ref_sg_id, SecurityGroupPolicy.sg_id).where(
            SecurityGroupPolicy.ref_sg_id.in_(sg_ids))
        out: dict[str, set[str]] = {}
        for ref, sg in self.session.execute(q):
            out.setdefault(ref, set()).add(sg)
        return out

    def member_ips(self, uin: str, region: str, sg_ids: set[str]) -> dict[str, set[str]]:
        """{group: the private addresses of the account's instances in it} for ``sg_ids`` (two columns read)."""
        out: dict[str, set[str]] = {sg: set() for sg in sg_ids}
        q = select(Instance.security_group_ids, Instance.private_ip).where(Instance.owner_uin == uin,
                                                                           Instance.region == region)
        for groups, ip in self.session.execute(q):
            for sg in set(json.loads(groups or "[]")) & sg_ids:
                if ip:
                    out[sg].add(ip)
        return out

    def delete_group(self, sg_id: str) -> None:
        self.drop_tags(sg_id)
        self.session.execute(delete(SecurityGroupPolicy).where(SecurityGroupPolicy.sg_id == sg_id))
        self.session.execute(delete(SecurityGroup).where(SecurityGroup.sg_id == sg_id))
