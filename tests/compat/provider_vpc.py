"""VpcService (tencentcloud/services/vpc/service_tencentcloud_vpc.go) replayed with the official Python
SDK: the calls of tencentcloud_vpc, tencentcloud_subnet, tencentcloud_security_group and
tencentcloud_security_group_rule_set."""

from __future__ import annotations

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vpc.v20170312 import models as vpc_models

from .provider import _send


def create_vpc(vc, name: str, cidr: str, multicast: bool, dns: list[str], tags: dict[str, str]) -> str:
    """VpcService.CreateVpc: VpcName, CidrBlock, EnableMulticast as a string, DnsServers, Tags."""
    body = {"VpcName": name, "CidrBlock": cidr, "EnableMulticast": "true" if multicast else "false",
            "EnableRouteVpcPublish": False, "EnableRouteVpcPublishIpv6": False}
    if dns:
        body["DnsServers"] = dns
    if tags:
        body["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return _send(vc, vpc_models, "CreateVpc", body).Vpc.VpcId


def describe_vpc(vc, vpc_id: str):
    """VpcService.DescribeVpc: DescribeVpcs by VpcIds; (info, has)."""
    got = _send(vc, vpc_models, "DescribeVpcs", {"VpcIds": [vpc_id]}).VpcSet or []
    return (got[0] if got else None), len(got)


def describe_route_tables(vc, vpc_id: str) -> None:
    """The Read also lists the VPC's route tables; a failure there is only logged by the provider."""
    try:
        _send(vc, vpc_models, "DescribeRouteTables", {"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}]})
    except TencentCloudSDKException:
        pass


def modify_vpc(vc, vpc_id: str, name: str, multicast: bool, dns: list[str]) -> None:
    """VpcService.ModifyVpcAttribute: every attribute, changed or not."""
    body = {"VpcId": vpc_id, "VpcName": name, "EnableMulticast": "true" if multicast else "false",
            "EnableRouteVpcPublish": False, "EnableRouteVpcPublishIpv6": False}
    if dns:
        body["DnsServers"] = dns
    _send(vc, vpc_models, "ModifyVpcAttribute", body)


def delete_vpc(vc, vpc_id: str) -> None:
    """resourceTencentCloudVpcInstanceDelete: DeleteVpc; ResourceNotFound counts as deleted."""
    try:
        _send(vc, vpc_models, "DeleteVpc", {"VpcId": vpc_id})
    except TencentCloudSDKException as e:
        if e.code != "ResourceNotFound":
            raise


def create_subnet(vc, vpc_id: str, name: str, cidr: str, zone: str, tags: dict[str, str]) -> str:
    body = {"VpcId": vpc_id, "SubnetName": name, "CidrBlock": cidr, "Zone": zone}
    if tags:
        body["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return _send(vc, vpc_models, "CreateSubnet", body).Subnet.SubnetId


def describe_subnet(vc, subnet_id: str):
    """VpcService.DescribeSubnet: DescribeSubnets by SubnetIds."""
    got = _send(vc, vpc_models, "DescribeSubnets", {"SubnetIds": [subnet_id]}).SubnetSet or []
    return (got[0] if got else None), len(got)


def modify_subnet(vc, subnet_id: str, name: str, multicast: bool) -> None:
    _send(vc, vpc_models, "ModifySubnetAttribute", {"SubnetId": subnet_id, "SubnetName": name,
                                                    "EnableBroadcast": "true" if multicast else "false"})


def delete_subnet(vc, subnet_id: str) -> None:
    try:
        _send(vc, vpc_models, "DeleteSubnet", {"SubnetId": subnet_id})
    except TencentCloudSDKException as e:
        if e.code != "ResourceNotFound":
            raise


def create_security_group(vc, name: str, desc: str, project_id: int | None, tags: dict[str, str]) -> str:
    """VpcService.CreateSecurityGroup: ProjectId as a string when set; tags in the request."""
    body = {"GroupName": name, "GroupDescription": desc}
    if project_id is not None:
        body["ProjectId"] = str(project_id)
    if tags:
        body["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return _send(vc, vpc_models, "CreateSecurityGroup", body).SecurityGroup.SecurityGroupId


def describe_security_group(vc, sg_id: str):
    """VpcService.DescribeSecurityGroup: by SecurityGroupIds; a missing group is None."""
    try:
        got = _send(vc, vpc_models, "DescribeSecurityGroups", {"SecurityGroupIds": [sg_id]}).SecurityGroupSet or []
    except TencentCloudSDKException as e:
        if e.code in ("ResourceNotFound", "InvalidSecurityGroupID.NotFound"):
            return None
        raise
    return got[0] if got else None


def modify_security_group(vc, sg_id: str, name: str | None, desc: str | None) -> None:
    body = {"SecurityGroupId": sg_id}
    if name is not None:
        body["GroupName"] = name
    if desc is not None:
        body["GroupDescription"] = desc
    _send(vc, vpc_models, "ModifySecurityGroupAttribute", body)


def security_group_statistics(vc, sg_id: str):
    """VpcService.DescribeSecurityGroupsAssociate: the statistics the Delete waits on."""
    return _send(vc, vpc_models, "DescribeSecurityGroupAssociationStatistics",
                 {"SecurityGroupIds": [sg_id]}).SecurityGroupAssociationStatisticsSet


def delete_security_group(vc, sg_id: str) -> None:
    _send(vc, vpc_models, "DeleteSecurityGroup", {"SecurityGroupId": sg_id})


def unmarshal_policy(rule: dict) -> dict:
    """unmarshalSecurityPolicy: Action always; the other members only when non-empty."""
    out = {"Action": rule["action"]}
    for key, member in (("cidr_block", "CidrBlock"), ("ipv6_cidr_block", "Ipv6CidrBlock"),
                        ("source_security_id", "SecurityGroupId"), ("protocol", "Protocol"), ("port", "Port"),
                        ("description", "PolicyDescription")):
        if rule.get(key):
            out[member] = rule[key]
    return out


def marshal_policies(policies) -> list[dict]:
    """marshalSecurityPolicy: what the state keeps of each rule (protocol upper-cased)."""
    out = []
    for p in policies or []:
        item = {"action": p.Action, "policy_index": p.PolicyIndex, "cidr_block": p.CidrBlock,
                "ipv6_cidr_block": p.Ipv6CidrBlock, "protocol": (p.Protocol or "").upper(), "port": p.Port,
                "description": p.PolicyDescription}
        if p.Ipv6CidrBlock is not None:
            item["source_security_id"] = p.SecurityGroupId
        out.append(item)
    return out


def modify_policies(vc, sg_id: str, ingress: list[dict], egress: list[dict], version: str | None,
                    sort: bool = False) -> None:
    """VpcService.ModifySecurityGroupPolicies."""
    policy_set: dict = {"Ingress": [unmarshal_policy(r) for r in ingress],
                        "Egress": [unmarshal_policy(r) for r in egress]}
    if version is not None:
        policy_set["Version"] = version
    body = {"SecurityGroupId": sg_id, "SecurityGroupPolicySet": policy_set}
    if sort:
        body["SortPolicys"] = True
    _send(vc, vpc_models, "ModifySecurityGroupPolicies", body)


def describe_policies(vc, sg_id: str):
    return _send(vc, vpc_models, "DescribeSecurityGroupPolicies", {"SecurityGroupId": sg_id}).SecurityGroupPolicySet


def delete_policies_by_index(vc, sg_id: str, indexes: list[int], direction: str) -> None:
    """VpcService.DeleteSecurityGroupPolicyByPolicyIndexList."""
    key = "Ingress" if direction == "ingress" else "Egress"
    _send(vc, vpc_models, "DeleteSecurityGroupPolicies", {
        "SecurityGroupId": sg_id, "SecurityGroupPolicySet": {key: [{"PolicyIndex": i} for i in indexes]}})
