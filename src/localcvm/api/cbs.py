"""CBS (cbs 2017-03-12): cloud disks and snapshots."""

from __future__ import annotations

from ..services.disks import DiskView
from .routes import CallContext, action


def _time(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")  # CBS uses "YYYY-MM-DD hh:mm:ss"


def disk_dict(v: DiskView) -> dict:
    d = v.row
    return {
        "DiskId": d.disk_id, "DiskUsage": d.usage, "DiskChargeType": d.charge_type, "Portable": d.usage == "DATA_DISK",
        "Placement": {"Zone": d.zone, "ProjectId": 0}, "SnapshotAbility": True, "DiskName": d.name,
        "DiskSize": d.size_gib, "DiskState": d.state, "DiskType": d.disk_type, "Attached": d.instance_id is not None,
        "InstanceId": d.instance_id or "", "InstanceIdList": [d.instance_id] if d.instance_id else [],
        "CreateTime": _time(d.created_at), "DeadlineTime": "", "Rollbacking": False, "RollbackPercent": 0,
        "Encrypt": False, "DeleteWithInstance": d.delete_with_instance, "Shareable": False, "IsReturnable": False,
        "ReturnFailCode": 0, "RenewFlag": "", "AutoRenewFlagError": False, "DeadlineError": False,
        "DifferDaysOfDeadline": 0, "Migrating": False, "MigratePercent": 0, "BackupDisk": False,
        "SnapshotCount": 0, "SnapshotSize": 0, "AttachMode": "", "AutoSnapshotPolicyIds": [], "ThroughputPerformance": 0,
        "Tags": [{"Key": k, "Value": val} for k, val in v.tags.items()], "LastAttachInsId": d.instance_id or "",
    }


@action("cbs", "CreateDisks")
def create_disks(ctx: CallContext, p: dict) -> dict:
    return {"DiskIdSet": ctx.services.disks.create(ctx.identity, ctx.region, p)}


@action("cbs", "DescribeDisks")
def describe_disks(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.disks.describe(ctx.identity, ctx.region, p)
    return {"TotalCount": total, "DiskSet": [disk_dict(v) for v in views]}


@action("cbs", "AttachDisks")
def attach_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.attach(ctx.identity, ctx.region, p)
    return {}


@action("cbs", "DetachDisks")
def detach_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.detach(ctx.identity, ctx.region, p)
    return {}


@action("cbs", "ResizeDisk")
def resize_disk(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.resize(ctx.identity, ctx.region, p)
    return {}


@action("cbs", "TerminateDisks")
def terminate_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.terminate(ctx.identity, ctx.region, p)
    return {}


@action("cbs", "CreateSnapshot")
def create_snapshot(ctx: CallContext, p: dict) -> dict:
    return {"SnapshotId": ctx.services.disks.create_snapshot(ctx.identity, ctx.region, p)}


@action("cbs", "DescribeSnapshots")
def describe_snapshots(ctx: CallContext, p: dict) -> dict:
    total, snaps = ctx.services.disks.describe_snapshots(ctx.identity, ctx.region, p)
    return {"TotalCount": total, "SnapshotSet": [
        {"SnapshotId": s.snapshot_id, "Placement": {"Zone": s.zone, "ProjectId": 0}, "DiskUsage": s.usage,
         "DiskId": s.disk_id, "DiskSize": s.size_gib, "SnapshotState": s.state, "SnapshotName": s.name,
         "Percent": s.percent, "CreateTime": _time(s.created_at), "DeadlineTime": "", "Encrypt": False,
         "IsPermanent": True, "CopyingToRegions": [], "CopyFromRemote": False, "Images": images, "ImageCount": len(images),
         "SnapshotType": "PRIVATE_SNAPSHOT", "ShareReference": 0, "TimeStartShare": "", "IsLocked": False,
         "Tags": [{"Key": k, "Value": v} for k, v in tags.items()], "SnapshotMode": "Standard"}
        for s, tags, images in snaps]}


@action("cbs", "DeleteSnapshots")
def delete_snapshots(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.delete_snapshots(ctx.identity, ctx.region, p)
    return {}
