"""CBS (cbs 2017-03-12): cloud disks and snapshots."""

from __future__ import annotations

from ..services.disks import CreateDisksRequest, DiskView, SnapshotView
from ..services.tags import tag_map
from .render import cbs_time, page, parse_time, tags
from .routes import CallContext, action


def disk_dict(v: DiskView) -> dict:
    return {
        "DiskId": v.disk_id, "DiskUsage": v.usage, "DiskChargeType": v.charge_type, "Portable": v.usage == "DATA_DISK",
        "Placement": {"Zone": v.zone, "ProjectId": v.project_id}, "SnapshotAbility": True, "DiskName": v.name,
        "DiskSize": v.size_gib, "DiskState": v.state, "DiskType": v.disk_type, "Attached": v.instance_id is not None,
        "InstanceId": v.instance_id or "", "InstanceIdList": [v.instance_id] if v.instance_id else [],
        "CreateTime": cbs_time(v.created_at), "DeadlineTime": "", "Rollbacking": False, "RollbackPercent": 0,
        "Encrypt": False, "DeleteWithInstance": v.delete_with_instance, "Shareable": False, "IsReturnable": False,
        "ReturnFailCode": 0, "RenewFlag": "", "AutoRenewFlagError": False, "DeadlineError": False,
        "DifferDaysOfDeadline": 0, "Migrating": False, "MigratePercent": 0, "BackupDisk": False,
        "SnapshotCount": 0, "SnapshotSize": 0, "AttachMode": "", "AutoSnapshotPolicyIds": list(v.policy_ids),
        "ThroughputPerformance": 0,
        "Tags": tags(v.tags), "LastAttachInsId": v.instance_id or "",
    }


def snapshot_dict(v: SnapshotView) -> dict:
    images = [{"ImageId": i.image_id, "ImageName": i.name} for i in v.images]
    return {
        "SnapshotId": v.snapshot_id, "Placement": {"Zone": v.zone, "ProjectId": 0}, "DiskUsage": v.usage,
        "DiskId": v.disk_id, "DiskSize": v.size_gib, "SnapshotState": v.state, "SnapshotName": v.name,
        "Percent": v.percent, "CreateTime": cbs_time(v.created_at),
        "DeadlineTime": cbs_time(v.deadline) if v.deadline else "", "Encrypt": False, "IsPermanent": v.permanent,
        "AutoSnapshotPolicyId": v.policy_id, "CopyingToRegions": list(v.copying_to),
        "CopyFromRemote": v.copy_from_remote, "Images": images, "ImageCount": len(images),
        "SnapshotType": v.snapshot_type, "ShareReference": v.shared_with, "TimeStartShare": "",
        "IsLocked": False, "Tags": tags(v.tags), "SnapshotMode": "Standard",
    }


@action("cbs", "CreateDisks")
def create_disks(ctx: CallContext, p: dict) -> dict:
    req = CreateDisksRequest(
        zone=p["Placement"]["Zone"], disk_type=p["DiskType"], charge_type=p["DiskChargeType"],
        disk_size=p.get("DiskSize"), snapshot_id=p.get("SnapshotId"), disk_name=p.get("DiskName"),
        count=p.get("DiskCount", 1), encrypted=bool(p.get("Encrypt") or p.get("KmsKeyId")), tags=tag_map(p.get("Tags")))
    return {"DiskIdSet": ctx.services.disks.create(ctx.identity, ctx.region, req)}


@action("cbs", "DescribeDisks")
def describe_disks(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.disks.describe(ctx.identity, ctx.region, ids=p.get("DiskIds"), filters=p.get("Filters"),
                                               offset=p.get("Offset"), limit=p.get("Limit"),
                                               order_field=p.get("OrderField"), order=p.get("Order"),
                                               visible=ctx.visible("disk"))
    return page(total, [disk_dict(v) for v in views], "DiskSet")


@action("cbs", "AttachDisks")
def attach_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.attach(ctx.identity, ctx.region, ctx.request_id, p["InstanceId"], p["DiskIds"],
                              bool(p.get("DeleteWithInstance", False)))
    return {}


@action("cbs", "DetachDisks")
def detach_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.detach(ctx.identity, ctx.region, ctx.request_id, p["DiskIds"], p.get("InstanceId") or None)
    return {}


@action("cbs", "ResizeDisk")
def resize_disk(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.resize(ctx.identity, ctx.region, p.get("DiskId"), p["DiskSize"])
    return {}


@action("cbs", "TerminateDisks")
def terminate_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.terminate(ctx.identity, ctx.region, p["DiskIds"])
    return {}


@action("cbs", "CreateSnapshot")
def create_snapshot(ctx: CallContext, p: dict) -> dict:
    snapshot_id = ctx.services.disks.create_snapshot(ctx.identity, ctx.region, p.get("DiskId"), p.get("SnapshotName"),
                                                     tag_map(p.get("Tags")))
    return {"SnapshotId": snapshot_id}


@action("cbs", "DescribeSnapshots")
def describe_snapshots(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.disks.describe_snapshots(ctx.identity, ctx.region, ids=p.get("SnapshotIds"),
                                                         filters=p.get("Filters"), offset=p.get("Offset"),
                                                         limit=p.get("Limit"), visible=ctx.visible("snapshot"))
    return page(total, [snapshot_dict(v) for v in views], "SnapshotSet")


@action("cbs", "DeleteSnapshots")
def delete_snapshots(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.delete_snapshots(ctx.identity, ctx.region, p["SnapshotIds"], bool(p.get("DeleteBindImages")))
    return {}


# --- restore, attributes, quotas (services/disks/restore.py) -------------------------------------------
@action("cbs", "ApplySnapshot")
def apply_snapshot(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.apply_snapshot(ctx.identity, ctx.region, ctx.request_id, p["SnapshotId"], p["DiskId"],
                                      auto_stop=bool(p.get("AutoStopInstance")),
                                      auto_start=bool(p.get("AutoStartInstance")))
    return {}


@action("cbs", "ModifySnapshotAttribute")
def modify_snapshot_attribute(ctx: CallContext, p: dict) -> dict:
    deadline = p.get("Deadline")
    ctx.services.disks.modify_snapshot(ctx.identity, ctx.region, p["SnapshotId"], name=p.get("SnapshotName"),
                                       permanent=p.get("IsPermanent"), deadline=parse_time(deadline) if deadline else None)
    return {}


@action("cbs", "ModifyDiskAttributes")
def modify_disk_attributes(ctx: CallContext, p: dict) -> dict:
    ctx.services.disks.modify_disks(ctx.identity, ctx.region, p["DiskIds"], name=p.get("DiskName"),
                                    portable=p.get("Portable"), project_id=p.get("ProjectId"),
                                    delete_with_instance=p.get("DeleteWithInstance"), disk_type=p.get("DiskType"))
    return {}


@action("cbs", "DescribeDiskConfigQuota")
def describe_disk_config_quota(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.disks.config_quota(
        ctx.region, p["InquiryType"], zones=p.get("Zones"), charge_type=p.get("DiskChargeType"),
        disk_types=p.get("DiskTypes"), usage=p.get("DiskUsage"), families=p.get("InstanceFamilies"),
        cpu=p.get("CPU"), memory=p.get("Memory"))
    price = {"ChargeUnit": "HOUR", "DiscountPrice": 0.0, "DiscountPriceHigh": "0", "OriginalPrice": 0.0,
             "OriginalPriceHigh": "0", "UnitPrice": 0.0, "UnitPriceDiscount": 0.0, "UnitPriceDiscountHigh": "0",
             "UnitPriceHigh": "0"}
    return {"DiskConfigSet": [{
        "Available": True, "DiskChargeType": c["charge_type"], "Zone": c["zone"], "InstanceFamily": c["family"] or None,
        "DiskType": c["disk_type"], "StepSize": 10, "ExtraPerformanceRange": [], "DeviceClass": None,
        "DiskUsage": c["usage"], "MinDiskSize": c["min"], "MaxDiskSize": c["max"], "Price": price,
    } for c in found]}


@action("cbs", "DescribeInstancesDiskNum")
def describe_instances_disk_num(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.disks.instances_disk_num(ctx.identity, ctx.region, p["InstanceIds"])
    return {"AttachDetail": [{"InstanceId": i, "AttachedDiskCount": n, "MaxAttachCount": ctx.services.disks.max_attach}
                             for i, n in found.items()]}


@action("cbs", "CopySnapshotCrossRegions")
def copy_snapshot_cross_regions(ctx: CallContext, p: dict) -> dict:
    made = ctx.services.snapshot_copier.request(ctx.identity, ctx.region, p.get("SnapshotId"), p["DestinationRegions"],
                                                p.get("SnapshotName"))
    return {"SnapshotCopyResultSet": [{"SnapshotId": m.snapshot_id, "DestinationRegion": m.region, "Code": "Success",
                                       "Message": ""} for m in made]}


@action("cbs", "ModifySnapshotsSharePermission")
def modify_snapshots_share_permission(ctx: CallContext, p: dict) -> dict:
    ctx.services.snapshot_sharing.modify(ctx.identity, ctx.region, p["SnapshotIds"], p["AccountIds"], p["Permission"])
    return {}


@action("cbs", "DescribeSnapshotSharePermission")
def describe_snapshot_share_permission(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.snapshot_sharing.describe(ctx.identity, ctx.region, p["SnapshotId"])
    return {"SharePermissionSet": [{"AccountId": s.account_id, "CreatedTime": cbs_time(s.created_at)} for s in found]}
