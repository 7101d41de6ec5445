"""Security group actions (vpc 2017-03-12) and cvm's AssociateSecurityGroups / DisassociateSecurityGroups."""

from __future__ import annotations

from ..services.network import GroupView, PolicyInput, PolicySetInput, PolicySetView, PolicyView
from .render import cbs_time, tags
from .routes import CallContext, action
from .vpc import vpc_tags


def group_dict(v: GroupView) -> dict:
    return {"SecurityGroupId": v.sg_id, "SecurityGroupName": v.name, "SecurityGroupDesc": v.description,
            "ProjectId": str(v.project_id), "IsDefault": v.is_default, "CreatedTime": cbs_time(v.created_at),
            "TagSet": tags(v.tags), "UpdateTime": cbs_time(v.updated_at)}


def policy_input(d: dict) -> PolicyInput:
    return PolicyInput(index=d.get("PolicyIndex"), protocol=d.get("Protocol"), port=d.get("Port"),
                       cidr=d.get("CidrBlock"), ipv6_cidr=d.get("Ipv6CidrBlock"), ref_sg_id=d.get("SecurityGroupId"),
                       action=d.get("Action"), description=d.get("PolicyDescription"),
                       template=bool(d.get("ServiceTemplate") or d.get("AddressTemplate")))


def policy_set(d: dict | None) -> PolicySetInput | None:
    if d is None:
        return None
    version = d.get("Version")
    return PolicySetInput(version=None if version is None else str(version),
                          ingress=tuple(policy_input(x) for x in d.get("Ingress") or []),
                          egress=tuple(policy_input(x) for x in d.get("Egress") or []))


def policy_dict(p: PolicyView, sg_id: str) -> dict:
    return {"PolicyIndex": p.index, "Protocol": p.protocol, "Port": p.port, "CidrBlock": p.cidr,
            "Ipv6CidrBlock": p.ipv6_cidr, "SecurityGroupId": p.ref_sg_id, "Action": p.action,
            "PolicyDescription": p.description, "ModifyTime": cbs_time(p.modified_at),
            "ServiceTemplate": {"ServiceId": "", "ServiceGroupId": ""},
            "AddressTemplate": {"AddressId": "", "AddressGroupId": ""}}


def policy_set_dict(v: PolicySetView, sg_id: str) -> dict:
    return {"Version": str(v.version), "Ingress": [policy_dict(p, sg_id) for p in v.ingress],
            "Egress": [policy_dict(p, sg_id) for p in v.egress],
            "PolicyStatistics": {"IngressIPv4TotalCount": sum(1 for p in v.ingress if not p.ipv6_cidr),
                                 "IngressIPv6TotalCount": sum(1 for p in v.ingress if p.ipv6_cidr),
                                 "EgressIPv4TotalCount": sum(1 for p in v.egress if not p.ipv6_cidr),
                                 "EgressIPv6TotalCount": sum(1 for p in v.egress if p.ipv6_cidr)}}


@action("vpc", "CreateSecurityGroup")
def create_security_group(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.network.create_group(ctx.identity, ctx.region, p["GroupName"], p["GroupDescription"],
                                          p.get("ProjectId"), vpc_tags(p.get("Tags")))
    return {"SecurityGroup": group_dict(v)}


@action("vpc", "CreateSecurityGroupWithPolicies")
def create_security_group_with_policies(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.network.create_group(ctx.identity, ctx.region, p["GroupName"], p["GroupDescription"],
                                          p.get("ProjectId"), vpc_tags(p.get("Tags")),
                                          policy_set(p.get("SecurityGroupPolicySet")))
    return {"SecurityGroup": group_dict(v)}


@action("vpc", "DescribeSecurityGroups")
def describe_security_groups(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.network.describe_groups(ctx.identity, ctx.region, p.get("SecurityGroupIds"),
                                                        p.get("Filters"), p.get("Offset"), p.get("Limit"))
    return {"TotalCount": total, "SecurityGroupSet": [group_dict(v) for v in views]}


@action("vpc", "ModifySecurityGroupAttribute")
def modify_security_group_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.modify_group(ctx.identity, ctx.region, p["SecurityGroupId"], p.get("GroupName"),
                                      p.get("GroupDescription"))
    return {}


@action("vpc", "DeleteSecurityGroup")
def delete_security_group(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.delete_group(ctx.identity, ctx.region, p["SecurityGroupId"])
    return {}


@action("vpc", "CloneSecurityGroup")
def clone_security_group(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.network.clone_group(ctx.identity, ctx.region, p["SecurityGroupId"], p.get("GroupName"),
                                         p.get("GroupDescription"), p.get("ProjectId"), p.get("RemoteRegion"),
                                         vpc_tags(p.get("Tags")))
    return {"SecurityGroup": group_dict(v)}


@action("vpc", "CreateDefaultSecurityGroup")
def create_default_security_group(ctx: CallContext, p: dict) -> dict:
    return {"SecurityGroup": group_dict(ctx.services.network.create_default_group(ctx.identity, ctx.region))}


@action("vpc", "DescribeSecurityGroupPolicies")
def describe_security_group_policies(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.network.describe_policies(ctx.identity, ctx.region, p["SecurityGroupId"], p.get("Filters"))
    return {"SecurityGroupPolicySet": policy_set_dict(v, p["SecurityGroupId"])}


@action("vpc", "CreateSecurityGroupPolicies")
def create_security_group_policies(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.create_policies(ctx.identity, ctx.region, p["SecurityGroupId"],
                                         policy_set(p["SecurityGroupPolicySet"]))
    return {}


@action("vpc", "ModifySecurityGroupPolicies")
def modify_security_group_policies(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.modify_policies(ctx.identity, ctx.region, p["SecurityGroupId"],
                                         policy_set(p["SecurityGroupPolicySet"]))
    return {}


@action("vpc", "ReplaceSecurityGroupPolicy")
def replace_security_group_policy(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.replace_policy(ctx.identity, ctx.region, p["SecurityGroupId"],
                                        policy_set(p["SecurityGroupPolicySet"]),
                                        policy_set(p.get("OriginalSecurityGroupPolicySet")))
    return {}


@action("vpc", "ReplaceSecurityGroupPolicies")
def replace_security_group_policies(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.replace_policies(ctx.identity, ctx.region, p["SecurityGroupId"],
                                          policy_set(p["SecurityGroupPolicySet"]),
                                          policy_set(p.get("OriginalSecurityGroupPolicySet")))
    return {}


@action("vpc", "DeleteSecurityGroupPolicies")
def delete_security_group_policies(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.delete_policies(ctx.identity, ctx.region, p["SecurityGroupId"],
                                         policy_set(p["SecurityGroupPolicySet"]))
    return {}


@action("vpc", "DescribeSecurityGroupLimits", inline=True)
def describe_security_group_limits(ctx: CallContext, p: dict) -> dict:
    lim = ctx.services.network.group_limits()
    return {"SecurityGroupLimitSet": {
        "SecurityGroupLimit": lim.groups, "SecurityGroupPolicyLimit": lim.policies,
        "ReferedSecurityGroupLimit": lim.referred, "SecurityGroupInstanceLimit": lim.instances_per_group,
        "InstanceSecurityGroupLimit": lim.groups_per_instance, "SecurityGroupExtendedPolicyLimit": lim.policies,
        "SecurityGroupReferedCvmAndEniLimit": lim.instances_per_group, "SecurityGroupReferedSvcLimit": 0}}


@action("vpc", "DescribeSecurityGroupAssociationStatistics")
def describe_security_group_association_statistics(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.network.group_stats(ctx.identity, ctx.region, p["SecurityGroupIds"])
    return {"SecurityGroupAssociationStatisticsSet": [
        {"SecurityGroupId": s.sg_id, "CVM": s.instances, "CDB": 0, "ENI": 0, "SG": s.referring_groups, "CLB": 0,
         "InstanceStatistics": [{"InstanceType": "CVM", "InstanceCount": s.instances}] if s.instances else [],
         "TotalCount": s.instances + s.referring_groups} for s in found]}


@action("vpc", "DescribeSecurityGroupReferences")
def describe_security_group_references(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.network.group_references(ctx.identity, ctx.region, p["SecurityGroupIds"])
    return {"ReferredSecurityGroupSet": [{"SecurityGroupId": sg, "ReferredSecurityGroupIds": refs}
                                         for sg, refs in found]}


@action("cvm", "AssociateSecurityGroups")
def associate_security_groups(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.associate(ctx.identity, ctx.region, p["SecurityGroupIds"], p["InstanceIds"], associate=True)
    return {}


@action("cvm", "DisassociateSecurityGroups")
def disassociate_security_groups(ctx: CallContext, p: dict) -> dict:
    ctx.services.network.associate(ctx.identity, ctx.region, p["SecurityGroupIds"], p["InstanceIds"], associate=False)
    return {}
