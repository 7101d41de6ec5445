"""CBS auto-snapshot policies (cbs 2017-03-12): services/disks/policies.py."""

from __future__ import annotations

from ..services.disks import PolicyRule
from .render import cbs_time, page
from .routes import CallContext, action


def _rules(items: list[dict] | None) -> list[PolicyRule] | None:
    if items is None:
        return None
    return [PolicyRule(tuple(i.get("Hour") or ()), tuple(i.get("DayOfWeek") or ()), tuple(i.get("DayOfMonth") or ()),
                       i.get("IntervalDays")) for i in items]


def _rule_dict(r: PolicyRule) -> dict:
    out = {"Hour": list(r.hours)}
    if r.days_of_week:
        out["DayOfWeek"] = list(r.days_of_week)
    if r.days_of_month:
        out["DayOfMonth"] = list(r.days_of_month)
    if r.interval_days:
        out["IntervalDays"] = r.interval_days
    return out


@action("cbs", "CreateAutoSnapshotPolicy")
def create_auto_snapshot_policy(ctx: CallContext, p: dict) -> dict:
    policy_id, first = ctx.services.auto_snapshots.create(
        ctx.identity, ctx.region, _rules(p["Policy"]), name=p.get("AutoSnapshotPolicyName"),
        activated=p.get("IsActivated"), permanent=p.get("IsPermanent"), retention_days=p.get("RetentionDays"),
        dry_run=bool(p.get("DryRun")))
    return {"AutoSnapshotPolicyId": policy_id, "NextTriggerTime": cbs_time(first) or ""}


@action("cbs", "ModifyAutoSnapshotPolicyAttribute")
def modify_auto_snapshot_policy_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.auto_snapshots.modify(
        ctx.identity, ctx.region, p["AutoSnapshotPolicyId"], rules=_rules(p.get("Policy")),
        name=p.get("AutoSnapshotPolicyName"), activated=p.get("IsActivated"), permanent=p.get("IsPermanent"),
        retention_days=p.get("RetentionDays"))
    return {}


@action("cbs", "DeleteAutoSnapshotPolicies")
def delete_auto_snapshot_policies(ctx: CallContext, p: dict) -> dict:
    ctx.services.auto_snapshots.delete(ctx.identity, ctx.region, p["AutoSnapshotPolicyIds"])
    return {}


@action("cbs", "BindAutoSnapshotPolicy")
def bind_auto_snapshot_policy(ctx: CallContext, p: dict) -> dict:
    ctx.services.auto_snapshots.bind(ctx.identity, ctx.region, p["AutoSnapshotPolicyId"], p.get("DiskIds") or [])
    return {}


@action("cbs", "UnbindAutoSnapshotPolicy")
def unbind_auto_snapshot_policy(ctx: CallContext, p: dict) -> dict:
    ctx.services.auto_snapshots.unbind(ctx.identity, ctx.region, p["AutoSnapshotPolicyId"], p.get("DiskIds"),
                                       p.get("InstanceIds"))
    return {}


@action("cbs", "DescribeAutoSnapshotPolicies")
def describe_auto_snapshot_policies(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.auto_snapshots.describe(
        ctx.identity, ctx.region, ids=p.get("AutoSnapshotPolicyIds"), filters=p.get("Filters"), offset=p.get("Offset"),
        limit=p.get("Limit"), order=p.get("Order"))
    return page(total, [{
        "AutoSnapshotPolicyId": v.policy_id, "AutoSnapshotPolicyName": v.name, "AutoSnapshotPolicyState": v.state,
        "IsActivated": v.activated, "IsPermanent": v.permanent, "RetentionDays": 0 if v.permanent else v.retention_days,
        "RetentionMonths": 0, "RetentionAmount": v.retention_amount, "AdvancedRetentionPolicy": None,
        "Policy": [_rule_dict(r) for r in v.rules], "CreateTime": cbs_time(v.created_at),
        "NextTriggerTime": cbs_time(v.next_trigger) or "", "DiskIdSet": list(v.disk_ids),
        "InstanceIdSet": list(v.instance_ids), "IsCopyToRemote": 0, "CopyToAccountUin": None,
        "CopyFromAccountUin": None, "Tags": [],
    } for v in views], "AutoSnapshotPolicySet")
