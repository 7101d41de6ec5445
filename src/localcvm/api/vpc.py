"""VPC actions (vpc 2017-03-12): the little localcvm's default networks answer."""

from __future__ import annotations

from .routes import CallContext, action


@action("vpc", "DescribeUsedIpAddress")
def describe_used_ip_address(ctx: CallContext, p: dict) -> dict:
    total, used = ctx.services.network.used_addresses(ctx.identity, ctx.region, p["VpcId"], p.get("SubnetId"),
                                                      p.get("IpAddresses"), p.get("Offset"), p.get("Limit"))
    return {"TotalCount": total, "IpAddressStates": [
        {"VpcId": a.vpc_id, "SubnetId": a.subnet_id, "IpAddress": a.ip, "ResourceType": a.resource_type,
         "ResourceId": a.resource_id} for a in used]}
