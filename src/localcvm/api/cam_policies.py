"""CAM policy actions (cam 2019-01-16): policies, their versions and attachments."""

from __future__ import annotations

from ..services.iam.policies import AttachedView, PolicyView
from .cam import cam, paged
from .render import cbs_time
from .routes import CallContext

CREATE_MODE = {1: 1, 2: 2}  # custom policies are "created by the user" (1), preset ones by the system (2)


def strategy_dict(v: PolicyView) -> dict:
    return {"PolicyId": v.policy_id, "PolicyName": v.name, "AddTime": cbs_time(v.created_at), "Type": v.type,
            "Description": v.description, "CreateMode": CREATE_MODE[v.type], "Attachments": v.attachments,
            "ServiceType": v.service_type, "IsAttached": int(v.attachments > 0), "IsServiceLinkedPolicy": 0,
            "AttachEntityCount": v.attachments, "UpdateTime": cbs_time(v.updated_at)}


def attach_dict(a: AttachedView) -> dict:
    v = a.policy
    return {"PolicyId": v.policy_id, "PolicyName": v.name, "AddTime": cbs_time(a.attached_at),
            "CreateMode": CREATE_MODE[v.type], "PolicyType": "User" if v.type == 1 else "QCS", "Remark": v.description}


@cam("CreatePolicy")
def create_policy(ctx: CallContext, p: dict) -> dict:
    return {"PolicyId": ctx.services.cam.policies.create(ctx.identity, p["PolicyName"], p["PolicyDocument"],
                                                         p.get("Description") or "")}


@cam("GetPolicy")
def get_policy(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.cam.policies.get(ctx.identity, p["PolicyId"])
    return {"PolicyName": v.name, "Description": v.description, "Type": v.type, "AddTime": cbs_time(v.created_at),
            "UpdateTime": cbs_time(v.updated_at), "PolicyDocument": v.document, "PresetAlias": v.name if v.type == 2 else "",
            "IsServiceLinkedRolePolicy": 0}


@cam("UpdatePolicy")
def update_policy(ctx: CallContext, p: dict) -> dict:
    return {"PolicyId": ctx.services.cam.policies.update(ctx.identity, p.get("PolicyId") or 0, p.get("PolicyName"),
                                                         p.get("Description"), p.get("PolicyDocument"))}


@cam("DeletePolicy")
def delete_policy(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.policies.delete(ctx.identity, p["PolicyId"])
    return {}


@cam("ListPolicies")
def list_policies(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.cam.policies.list(ctx.identity, p.get("Scope"), p.get("Keyword"))
    return {"TotalNum": len(found), "List": [strategy_dict(v) for v in paged(found, p)],
            "ServiceTypeList": sorted({v.service_type for v in found if v.service_type})}


@cam("CreatePolicyVersion")
def create_policy_version(ctx: CallContext, p: dict) -> dict:
    return {"VersionId": ctx.services.cam.policies.create_version(ctx.identity, p["PolicyId"], p["PolicyDocument"],
                                                                  bool(p["SetAsDefault"]))}


@cam("ListPolicyVersions")
def list_policy_versions(ctx: CallContext, p: dict) -> dict:
    return {"Versions": [{"VersionId": v.version, "CreateDate": cbs_time(v.created_at), "IsDefaultVersion": int(v.is_default)}
                         for v in ctx.services.cam.policies.versions(ctx.identity, p["PolicyId"])]}


@cam("SetDefaultPolicyVersion")
def set_default_policy_version(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.policies.set_default(ctx.identity, p["PolicyId"], p["VersionId"])
    return {}


@cam("DeletePolicyVersion")
def delete_policy_version(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.policies.delete_versions(ctx.identity, p["PolicyId"], p["VersionId"])
    return {}


def _attach(ctx: CallContext, policy_id: int, kind: str, target, attach: bool) -> dict:
    ctx.services.cam.policies.attach(ctx.identity, policy_id, kind, str(target), attach=attach)
    return {}


@cam("AttachUserPolicy")
def attach_user_policy(ctx: CallContext, p: dict) -> dict:
    return _attach(ctx, p["PolicyId"], "user", p["AttachUin"], True)


@cam("DetachUserPolicy")
def detach_user_policy(ctx: CallContext, p: dict) -> dict:
    return _attach(ctx, p["PolicyId"], "user", p["DetachUin"], False)


@cam("AttachGroupPolicy")
def attach_group_policy(ctx: CallContext, p: dict) -> dict:
    return _attach(ctx, p["PolicyId"], "group", p["AttachGroupId"], True)


@cam("DetachGroupPolicy")
def detach_group_policy(ctx: CallContext, p: dict) -> dict:
    return _attach(ctx, p["PolicyId"], "group", p["DetachGroupId"], False)


@cam("ListAttachedUserPolicies")
def list_attached_user_policies(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.cam.policies.attached(ctx.identity, "user", str(p["TargetUin"]))
    return {"TotalNum": len(found), "List": [attach_dict(a) for a in paged(found, p)]}


@cam("ListAttachedGroupPolicies")
def list_attached_group_policies(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.cam.policies.attached(ctx.identity, "group", str(p["TargetGroupId"]))
    if p.get("Keyword"):
        found = [a for a in found if p["Keyword"].lower() in a.policy.name.lower()]
    return {"TotalNum": len(found), "List": [attach_dict(a) for a in paged(found, p)]}


@cam("ListAttachedUserAllPolicies")
def list_attached_user_all_policies(ctx: CallContext, p: dict) -> dict:
    # AttachType: 0 all, 1 attached to the user itself, 2 through its groups
    found = ctx.services.cam.policies.attached(ctx.identity, "user", str(p["TargetUin"]), with_groups=True)
    kind = p["AttachType"]
    found = [a for a in found if kind == 0 or (kind == 1) == (a.via_group is None)]
    if p.get("StrategyType"):
        found = [a for a in found if a.policy.type == p["StrategyType"]]
    if p.get("Keyword"):
        found = [a for a in found if p["Keyword"].lower() in a.policy.name.lower()]
    rows = [{"PolicyId": str(a.policy.policy_id), "PolicyName": a.policy.name, "Description": a.policy.description,
             "AddTime": cbs_time(a.attached_at), "StrategyType": str(a.policy.type),
             "CreateMode": str(CREATE_MODE[a.policy.type]),
             "Groups": [{"GroupId": a.via_group[0], "GroupName": a.via_group[1]}] if a.via_group else [],
             "Deactived": 0, "DeactivedDetail": []} for a in paged(found, p)]
    return {"PolicyList": rows, "TotalNum": len(found)}


@cam("ListEntitiesForPolicy")
def list_entities_for_policy(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.cam.policies.entities(ctx.identity, p["PolicyId"], p.get("EntityFilter"))
    return {"TotalNum": len(found),
            "List": [{"Id": e.id, "Name": e.name, "Uin": e.uin, "RelatedType": 1 if e.kind == "user" else 2,
                      "AttachmentTime": cbs_time(e.attached_at)} for e in paged(found, p)]}
