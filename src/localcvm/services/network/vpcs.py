"""VPCs: CreateVpc, DescribeVpcs, ModifyVpcAttribute, DeleteVpc, DescribeVpcLimits, CreateDefaultVpc.

A VPC's IPv4 CIDR is inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a mask of /12 to /28
(/16 to /28 in 192.168.0.0/16), as the real API documents (InvalidParameterValue.Range otherwise)."""

from __future__ import annotations

import ipaddress
import json

from ...store.models_network import Vpc
from ...store.repo import utcnow
from ...store.repo_network import NetworkRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..query import check_filters, match_all, tag_matches
from .common import bool_value, check_name, string_page
from .defaults import default_subnet, default_vpc
from .views import SubnetView, VpcView

PRIVATE_RANGES = ((ipaddress.IPv4Network("10.0.0.0/8"), 12), (ipaddress.IPv4Network("172.16.0.0/12"), 12),
                  (ipaddress.IPv4Network("192.168.0.0/16"), 16))
MAX_MASK = 28
# DescribeVpcLimits
LIMITS = {"appid-max-vpcs": 20, "vpc-max-subnets": 100, "vpc-max-route-tables": 10, "route-table-max-policies": 200,
          "vpc-max-vpn-gateways": 5, "appid-max-custom-gateways": 4, "vpc-max-peering-connections": 10,
          "vpc-max-dc-gateways": 5, "vpc-max-network-acls": 50, "vpc-max-assistant_cidrs": 5}
VPC_FILTERS = {"vpc-name", "is-default", "vpc-id", "cidr-block", "tag-key", "tag-value"}
MAX_DNS_SERVERS = 4


def parse_vpc_cidr(value: str | None) -> ipaddress.IPv4Network:
    if not value:
        raise errors.MissingParameter("The request is missing the required parameter `CidrBlock`.")
    try:
        net = ipaddress.IPv4Network(value.strip())
    except ValueError:
        raise errors.InvalidParameterValueMalformed(f"CidrBlock `{value}` is not an IPv4 CIDR block (a.b.c.d/n).") from None
    for block, min_mask in PRIVATE_RANGES:
        if net.subnet_of(block) and min_mask <= net.prefixlen <= MAX_MASK:
            return net
    raise errors.InvalidParameterValueRange(
        f"CidrBlock `{value}` must be within 10.0.0.0/12-28, 172.16.0.0/12-28 or 192.168.0.0/16-28.")


def check_dns(servers: list[str] | None) -> list[str]:
    servers = list(servers or [])
    if len(servers) > MAX_DNS_SERVERS:
        raise errors.InvalidParameterValueLimitExceeded(f"DnsServers takes at most {MAX_DNS_SERVERS} addresses.")
    for s in servers:
        try:
            ipaddress.IPv4Address(s)
        except ValueError:
            raise errors.InvalidParameterValueMalformed(f"DnsServers: `{s}` is not an IPv4 address.") from None
    return servers


def vpc_view(row: Vpc, tags: dict[str, str]) -> VpcView:
    return VpcView(row.vpc_id, row.name, row.cidr, row.is_default, row.enable_multicast,
                   tuple(json.loads(row.dns_servers or "[]")), row.domain_name, row.created_at, tags)


class VpcOps:
    """The VPC actions (a part of ``NetworkService``)."""

    def own_vpc(self, net: NetworkRepo, identity: Identity, region: str, vpc_id: str) -> Vpc:
        if not is_id("vpc", vpc_id):
            raise errors.InvalidVpcIdMalformed(f"The VPC ID `{vpc_id}` is malformed (expected vpc-xxxxxxxx).")
        row = net.get_vpc(vpc_id)
        if row is None or row.owner_uin != identity.uin or row.region != region:
            raise errors.ResourceNotFound(f"The VPC `{vpc_id}` does not exist in {region}.")
        return row

    def create_vpc(self, identity: Identity, region: str, name: str, cidr: str | None, *, dns_servers=None,
                   domain_name: str | None = None, enable_multicast: str | None = None,
                   tags: dict[str, str] | None = None) -> VpcView:
        self.ensure(identity, region)
        check_name(name, "VpcName")
        net = parse_vpc_cidr(cidr)
        dns = check_dns(dns_servers)
        multicast = bool_value(enable_multicast, "EnableMulticast") or False
        with self.db.write() as repo:
            repo.lock(f"network:{identity.uin}:{region}")
            nr = NetworkRepo(repo)
            if len(nr.vpcs_of(identity.uin, region)) >= LIMITS["appid-max-vpcs"]:
                raise errors.VpcLimitExceeded(f"{region} holds {LIMITS['appid-max-vpcs']} VPCs, as many as allowed.")
            row = Vpc(vpc_id=new_id("vpc"), owner_uin=identity.uin, region=region, name=name, cidr=str(net),
                      is_default=False, enable_multicast=multicast, dns_servers=json.dumps(dns or ["183.60.83.19", "183.60.82.98"]),
                      domain_name=domain_name or "", created_at=utcnow())
            repo.add(row)
            repo.session.flush()
            if tags:
                repo.set_tags(row.vpc_id, tags)
        return vpc_view(row, dict(tags or {}))

    def describe_vpcs(self, identity: Identity, region: str, ids: list[str] | None, filters: list[dict] | None,
                      offset, limit) -> tuple[int, list[VpcView]]:
        self.ensure(identity, region)
        if ids and filters:
            raise errors.InvalidParameterCoexist("VpcIds and Filters cannot be given together.")
        page = string_page(offset, limit)
        checked = check_filters(list(filters or []), VPC_FILTERS, "DescribeVpcs")
        for vpc_id in ids or []:
            if not is_id("vpc", vpc_id):
                raise errors.InvalidVpcIdMalformed(f"The VPC ID `{vpc_id}` is malformed (expected vpc-xxxxxxxx).")
        with self.db.read() as repo:
            rows = NetworkRepo(repo).vpcs_of(identity.uin, region)
            tags = repo.tags_of([r.vpc_id for r in rows])
        views = [vpc_view(r, tags[r.vpc_id]) for r in rows if not ids or r.vpc_id in ids]
        found = match_all(views, checked, _vpc_matches)
        return len(found), page.of(found)

    def modify_vpc(self, identity: Identity, region: str, vpc_id: str, *, name: str | None = None, dns_servers=None,
                   domain_name: str | None = None, enable_multicast: str | None = None) -> None:
        if name is not None:
            check_name(name, "VpcName")
        dns = check_dns(dns_servers) if dns_servers is not None else None
        multicast = bool_value(enable_multicast, "EnableMulticast")
        with self.db.write() as repo:
            row = self.own_vpc(NetworkRepo(repo), identity, region, vpc_id)
            if name is not None:
                row.name = name
            if dns is not None:
                row.dns_servers = json.dumps(dns)
            if domain_name is not None:
                row.domain_name = domain_name
            if multicast is not None:
                row.enable_multicast = multicast

    def delete_vpc(self, identity: Identity, region: str, vpc_id: str) -> None:
        """Refused while an instance has an address in it (ResourceInUse); its empty subnets go with it."""
        with self.db.write() as repo:
            nr = NetworkRepo(repo)
            repo.lock(f"vpc:{vpc_id}")  # CreateSubnet's lock, then each subnet's (RunInstances' address lock)
            self.own_vpc(nr, identity, region, vpc_id)
            for subnet in nr.subnets_of_vpc(vpc_id):
                repo.lock(f"subnet:{subnet.subnet_id}")
            used = nr.allocations_in_vpc(vpc_id)
            if used:
                raise errors.ResourceInUse(f"The VPC `{vpc_id}` holds {len(used)} instance address(es), "
                                           f"e.g. {used[0].resource_id}; terminate them first.")
            for subnet in nr.subnets_of_vpc(vpc_id):
                nr.delete_subnet(subnet.subnet_id)
            nr.delete_vpc(vpc_id)

    def vpc_limits(self, types: list[str]) -> list[tuple[str, int]]:
        return [(t, LIMITS[t]) for t in types if t in LIMITS]

    def create_default_vpc(self, identity: Identity, region: str, zone: str | None) -> tuple[VpcView, SubnetView]:
        """CreateDefaultVpc: the default VPC and the default subnet of ``zone`` (the region's first zone
        by default), created when missing."""
        r = self.regions.get(region, product="vpc")
        zone = zone or r.zones[0].zone
        if zone not in {z.zone for z in r.zones}:
            raise errors.InvalidParameterValue(f"The zone `{zone}` is not in {region}.")
        self.ensure(identity, region, vpc=True)
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            vpc = nr.get_vpc(default_vpc(identity.uin, region))
            subnet = nr.get_subnet(default_subnet(identity.uin, zone))
            if vpc is None or subnet is None:
                raise errors.ResourceInsufficientCidrBlock(f"No default subnet can be made in {zone}.")
            return vpc_view(vpc, {}), self.subnet_view(nr, subnet, {})

    def check_default_subnet(self, identity: Identity, region: str, zone: str | None) -> bool:
        r = self.regions.get(region, product="vpc")
        if zone and zone not in {z.zone for z in r.zones}:
            raise errors.InvalidParameterValue(f"The zone `{zone}` is not in {region}.")
        return True


def _vpc_matches(v: VpcView, name: str, values: list[str]) -> bool:
    tag = tag_matches(v.tags, name, values)
    if tag is not None:
        return tag
    return {"vpc-name": v.name in values, "vpc-id": v.vpc_id in values, "cidr-block": v.cidr in values,
            "is-default": str(v.is_default).lower() in [x.lower() for x in values]}.get(name, False)
