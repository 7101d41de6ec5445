"""VPC actions (vpc 2017-03-12): VPCs, subnets, private addresses and the default network."""

from __future__ import annotations

from ..services.network import SubnetInput, SubnetView, VpcView
from ..services.tags import tag_map
from .render import cbs_time, tags
from .routes import CallContext, action


def vpc_tags(items: list[dict] | None) -> dict[str, str]:
    """vpc's ``Tags`` (``[{"Key", "Value"}]``, either member may be left out of the wire)."""
    return tag_map([{"Key": t.get("Key") or "", "Value": t.get("Value") or ""} for t in items or []])


def vpc_dict(v: VpcView) -> dict:
    return {"VpcId": v.vpc_id, "VpcName": v.name, "CidrBlock": v.cidr, "IsDefault": v.is_default,
            "EnableMulticast": v.enable_multicast, "CreatedTime": cbs_time(v.created_at),
            "DnsServerSet": list(v.dns_servers), "DomainName": v.domain_name, "DhcpOptionsId": "", "EnableDhcp": True,
            "Ipv6CidrBlock": "", "TagSet": tags(v.tags), "AssistantCidrSet": [], "EnableRouteVpcPublish": False,
            "Ipv6CidrBlockSet": [], "EnableRouteVpcPublishIpv6": False, "StackType": "ipv4"}


def subnet_dict(v: SubnetView) -> dict:
    return {"VpcId": v.vpc_id, "SubnetId": v.subnet_id, "SubnetName": v.name, "CidrBlock": v.cidr,
            "IsDefault": v.is_default, "EnableBroadcast": v.enable_broadcast, "Zone": v.zone, "RouteTableId": "",
            "CreatedTime": cbs_time(v.created_at), "AvailableIpAddressCount": v.available_ips, "Ipv6CidrBlock": "",
            "NetworkAclId": "", "IsRemoteVpcSnat": False, "TotalIpAddressCount": v.total_ips, "TagSet": tags(v.tags),
            "CdcId": "", "IsCdcSubnet": 0, "StackType": "ipv4"}


@action("vpc", "CreateVpc")
def create_vpc(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.network.create_vpc(ctx.identity, ctx.region, p["VpcName"], p.get("CidrBlock"),
                                        dns_servers=p.get("DnsServers"), domain_name=p.get("DomainName"),
                                        enable_multicast=p.get("EnableMulticast"), tags=vpc_tags(p.get("Tags")))
    return {"Vpc": vpc_dict(v)}


@action("vpc", "DescribeVpcs")
def describe_vpcs(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.network.describe_vpcs(ctx.identity, ctx.region, p.get("VpcIds"), p.get("Filters"),
                                                      p.get("Offset"), p.get("Limit"))
    return {"TotalCount": total, "VpcSet": [vpc_dict(v) for v in views]}


@action("vpc", "ModifyVpcAttribute")
def modify_vpc_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.modify_vpc(ctx.identity, ctx.region, p["VpcId"], name=p.get("VpcName"),
                                    dns_servers=p.get("DnsServers"), domain_name=p.get("DomainName"),
                                    enable_multicast=p.get("EnableMulticast"))
    return {}


@action("vpc", "DeleteVpc")
def delete_vpc(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.delete_vpc(ctx.identity, ctx.region, p["VpcId"])
    return {}


@action("vpc", "DescribeVpcLimits")
def describe_vpc_limits(ctx: CallContext, p: dict) -> dict:
    return {"VpcLimitSet": [{"LimitType": t, "LimitValue": n}
                            for t, n in ctx.services.network.vpc_limits(p["LimitTypes"])]}


@action("vpc", "CreateDefaultVpc")
def create_default_vpc(ctx: CallContext, p: dict) -> dict:
    vpc, subnet = ctx.services.network.create_default_vpc(ctx.identity, ctx.region, p.get("Zone"))
    return {"Vpc": {"VpcId": vpc.vpc_id, "SubnetId": subnet.subnet_id, "VpcName": vpc.name,
                    "SubnetName": subnet.name, "CidrBlock": vpc.cidr}}


@action("vpc", "CheckDefaultSubnet")
def check_default_subnet(ctx: CallContext, p: dict) -> dict:
    return {"Result": ctx.services.network.check_default_subnet(ctx.identity, ctx.region, p.get("Zone"))}


@action("vpc", "CreateSubnet")
def create_subnet(ctx: CallContext, p: dict) -> dict:
    item = SubnetInput(p["SubnetName"], p.get("CidrBlock") or "", p["Zone"], vpc_tags(p.get("Tags")))
    (v,) = ctx.services.network.create_subnets(ctx.identity, ctx.region, p["VpcId"], [item])
    return {"Subnet": subnet_dict(v)}


@action("vpc", "CreateSubnets")
def create_subnets(ctx: CallContext, p: dict) -> dict:
    common = vpc_tags(p.get("Tags"))
    items = [SubnetInput(s["SubnetName"], s.get("CidrBlock") or "", s["Zone"], {**common, **vpc_tags(s.get("Tags"))})
             for s in p["Subnets"]]
    views = ctx.services.network.create_subnets(ctx.identity, ctx.region, p["VpcId"], items)
    return {"SubnetSet": [subnet_dict(v) for v in views]}


@action("vpc", "DescribeSubnets")
def describe_subnets(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.network.describe_subnets(ctx.identity, ctx.region, p.get("SubnetIds"),
                                                         p.get("Filters"), p.get("Offset"), p.get("Limit"))
    return {"TotalCount": total, "SubnetSet": [subnet_dict(v) for v in views]}


@action("vpc", "ModifySubnetAttribute")
def modify_subnet_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.modify_subnet(ctx.identity, ctx.region, p["SubnetId"], p.get("SubnetName"),
                                       p.get("EnableBroadcast"))
    return {}


@action("vpc", "DeleteSubnet")
def delete_subnet(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.delete_subnet(ctx.identity, ctx.region, p["SubnetId"])
    return {}


@action("vpc", "DescribeUsedIpAddress")
def describe_used_ip_address(ctx: CallContext, p: dict) -> dict:
    total, used = ctx.services.network.used_addresses(ctx.identity, ctx.region, p["VpcId"], p.get("SubnetId"),
                                                      p.get("IpAddresses"), p.get("Offset"), p.get("Limit"))
    return {"TotalCount": total, "IpAddressStates": [
        {"VpcId": a.vpc_id, "SubnetId": a.subnet_id, "IpAddress": a.ip, "ResourceType": a.resource_type,
         "ResourceId": a.resource_id} for a in used]}


@action("vpc", "DescribeVpcPrivateIpAddresses")
def describe_vpc_private_ip_addresses(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.network.private_addresses(ctx.identity, ctx.region, p["VpcId"], p["PrivateIpAddresses"])
    return {"VpcPrivateIpAddressSet": [
        {"PrivateIpAddress": a.ip, "CidrBlock": a.cidr, "PrivateIpAddressType": "CVM",
         "CreatedTime": cbs_time(a.created_at)} for a in found]}
