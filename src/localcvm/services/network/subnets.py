"""Subnets: CreateSubnet(s), DescribeSubnets, ModifySubnetAttribute, DeleteSubnet.

A subnet's CIDR is inside its VPC's, with a mask of /16 to /28, and overlaps no other subnet of the
VPC (InvalidParameterValue.SubnetRange, InvalidParameterValue.SubnetConflict). Each subnet keeps three
addresses: the network address, the gateway (the first host) and the broadcast address, so a /28
has 13 addresses for instances."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...store.models_network import Subnet
from ...store.repo import utcnow
from ...store.repo_network import NetworkRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..query import check_filters, match_all, tag_matches
from .common import bool_value, check_name, string_page
from .views import SubnetView

MIN_MASK, MAX_MASK = 16, 28
RESERVED = 3  # network address, gateway, broadcast
SUBNET_FILTERS = {"subnet-id", "vpc-id", "cidr-block", "is-default", "is-remote-vpc-snat", "subnet-name", "zone",
                  "tag-key", "tag-value", "cdc-id", "is-cdc-subnet"}


@dataclass(frozen=True)
class SubnetInput:
    name: str
    cidr: str
    zone: str
    tags: dict[str, str]


def usable(cidr: str) -> int:
    return max(ipaddress.ip_network(cidr).num_addresses - RESERVED, 0)


def parse_subnet_cidr(value: str | None, vpc_cidr: str, where: str) -> ipaddress.IPv4Network:
    if not value:
        raise errors.MissingParameter(f"The request is missing the required parameter `{where}`.")
    try:
        net = ipaddress.IPv4Network(value.strip())
    except ValueError:
        raise errors.InvalidParameterValueSubnetRange(f"{where} `{value}` is not an IPv4 CIDR block.") from None
    if not MIN_MASK <= net.prefixlen <= MAX_MASK:
        raise errors.InvalidParameterValueSubnetRange(f"{where} `{value}`: a subnet's mask is /{MIN_MASK} to /{MAX_MASK}.")
    if not net.subnet_of(ipaddress.IPv4Network(vpc_cidr)):
        raise errors.InvalidParameterValueSubnetRange(f"{where} `{value}` is not inside the VPC's CIDR {vpc_cidr}.")
    return net


class SubnetOps:
    """The subnet actions (a part of ``NetworkService``)."""

    def subnet_view(self, nr: NetworkRepo, row: Subnet, tags: dict[str, str], used: int | None = None) -> SubnetView:
        if used is None:
            used = nr.used_counts([row.subnet_id]).get(row.subnet_id, 0)
        total = usable(row.cidr)
        return SubnetView(row.subnet_id, row.vpc_id, row.name, row.cidr, row.zone, row.is_default, row.enable_broadcast,
                          row.created_at, total, max(total - used, 0), tags)

    def own_subnet(self, nr: NetworkRepo, identity: Identity, region: str, subnet_id: str) -> Subnet:
        if not is_id("subnet", subnet_id):
            raise errors.InvalidParameterValueMalformed(f"The subnet ID `{subnet_id}` is malformed (expected subnet-xxxxxxxx).")
        row = nr.get_subnet(subnet_id)
        if row is None or row.owner_uin != identity.uin or row.region != region:
            raise errors.ResourceNotFound(f"The subnet `{subnet_id}` does not exist in {region}.")
        return row

    def create_subnets(self, identity: Identity, region: str, vpc_id: str, items: list[SubnetInput]) -> list[SubnetView]:
        self.ensure(identity, region)
        zones = {z.zone for z in self.regions.get(region, product="vpc").zones}
        for i, item in enumerate(items):
            check_name(item.name, f"Subnets.{i}.SubnetName")
            if item.zone not in zones:
                raise errors.InvalidParameterValue(f"Subnets.{i}.Zone `{item.zone}` is not a zone of {region}.")
        out = []
        with self.db.write() as repo:
            nr = NetworkRepo(repo)
            repo.lock(f"vpc:{vpc_id}")
            vpc = self.own_vpc(nr, identity, region, vpc_id)
            taken = [(s.subnet_id, ipaddress.IPv4Network(s.cidr)) for s in nr.subnets_of_vpc(vpc_id)]
            if len(taken) + len(items) > 100:
                raise errors.LimitExceededSubnetCidrBlock(f"The VPC `{vpc_id}` can hold at most 100 subnets.")
            now = utcnow()
            for i, item in enumerate(items):
                net = parse_subnet_cidr(item.cidr, vpc.cidr, f"Subnets.{i}.CidrBlock")
                clash = next((sid for sid, other in taken if net.overlaps(other)), None)
                if clash:
                    raise errors.InvalidParameterValueSubnetConflict(
                        f"Subnets.{i}.CidrBlock {net} overlaps {clash} in the VPC `{vpc_id}`.")
                row = Subnet(subnet_id=new_id("subnet"), vpc_id=vpc_id, owner_uin=identity.uin, region=region,
                             zone=item.zone, name=item.name, cidr=str(net), is_default=False, enable_broadcast=False,
                             created_at=now)
                repo.add(row)
                taken.append((row.subnet_id, net))
                if item.tags:
                    repo.set_tags(row.subnet_id, item.tags)
                out.append(self.subnet_view(nr, row, dict(item.tags), used=0))
        return out

    def describe_subnets(self, identity: Identity, region: str, ids: list[str] | None, filters: list[dict] | None,
                         offset, limit) -> tuple[int, list[SubnetView]]:
        self.ensure(identity, region)
        if ids and filters:
            raise errors.InvalidParameterCoexist("SubnetIds and Filters cannot be given together.")
        page = string_page(offset, limit)
        checked = check_filters(list(filters or []), SUBNET_FILTERS, "DescribeSubnets")
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            rows = [r for r in nr.subnets_of(identity.uin, region) if not ids or r.subnet_id in ids]
            tags = repo.tags_of([r.subnet_id for r in rows])
            used = nr.used_counts([r.subnet_id for r in rows])
            views = [self.subnet_view(nr, r, tags[r.subnet_id], used.get(r.subnet_id, 0)) for r in rows]
        found = match_all(views, checked, _subnet_matches)
        return len(found), page.of(found)

    def modify_subnet(self, identity: Identity, region: str, subnet_id: str, name: str | None,
                      enable_broadcast: str | None) -> None:
        if name is not None:
            check_name(name, "SubnetName")
        broadcast = bool_value(enable_broadcast, "EnableBroadcast")
        with self.db.write() as repo:
            row = self.own_subnet(NetworkRepo(repo), identity, region, subnet_id)
            if name is not None:
                row.name = name
            if broadcast is not None:
                row.enable_broadcast = broadcast

    def delete_subnet(self, identity: Identity, region: str, subnet_id: str) -> None:
        with self.db.write() as repo:
            nr = NetworkRepo(repo)
            repo.lock(f"subnet:{subnet_id}")
            self.own_subnet(nr, identity, region, subnet_id)
            if nr.used_ips(subnet_id):
                raise errors.ResourceInUse(f"The subnet `{subnet_id}` holds instance addresses; terminate them first.")
            nr.delete_subnet(subnet_id)


def _subnet_matches(v: SubnetView, name: str, values: list[str]) -> bool:
    tag = tag_matches(v.tags, name, values)
    if tag is not None:
        return tag
    lowered = [x.lower() for x in values]
    return {"subnet-id": v.subnet_id in values, "vpc-id": v.vpc_id in values, "cidr-block": v.cidr in values,
            "subnet-name": v.name in values, "zone": v.zone in values,
            "is-default": str(v.is_default).lower() in lowered, "is-remote-vpc-snat": "false" in lowered,
            "is-cdc-subnet": "0" in values}.get(name, False)
