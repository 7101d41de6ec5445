"""CVM image actions (cvm 2017-03-12): DescribeImages, ImportImage, ExportImages, ..."""

from __future__ import annotations

from ..services.images import ImageView, export_images, localized
from .routes import CallContext, action


def iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_dict(v: ImageView) -> dict:
    return {
        "ImageId": v.image_id,
        "OsName": v.os_name,
        "ImageType": v.image_type,
        "CreatedTime": iso(v.created_at),
        "ImageName": v.name,
        "ImageDescription": v.description,
        "ImageSize": v.size_gib,
        "Architecture": v.architecture,
        "ImageState": v.state,
        "Platform": v.platform,
        "ImageCreator": v.creator,
        "ImageSource": v.source,
        "SyncPercent": v.sync_percent,
        "IsSupportCloudinit": v.cloudinit,
        "SnapshotSet": v.snapshots,
        "Tags": [{"Key": k, "Value": val} for k, val in v.tags.items()],
        "LicenseType": v.license_type,
        "ImageFamily": v.family,
        "ImageDeprecated": v.deprecated,
        "CdcCacheStatus": "",
    }


@action("cvm", "DescribeImages")
def describe_images(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.images.describe(
        ctx.identity, ctx.region, image_ids=p.get("ImageIds"), filters=p.get("Filters"),
        offset=p.get("Offset", 0), limit=p.get("Limit", 20), instance_type=p.get("InstanceType"),
    )
    return {"TotalCount": total, "ImageSet": [image_dict(localized(v, ctx.language)) for v in views]}


@action("cvm", "ImportImage")
def import_image(ctx: CallContext, p: dict) -> dict:
    return {"ImageId": ctx.services.images.import_image(ctx.identity, ctx.region, p)}


@action("cvm", "CreateImage")
def create_image(ctx: CallContext, p: dict) -> dict:
    return {"ImageId": ctx.services.image_creator.create(ctx.identity, ctx.region, ctx.request_id, p)}


@action("cvm", "ModifyImageAttribute")
def modify_image_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.images.modify(ctx.identity, ctx.region, p)
    return {}


@action("cvm", "DeleteImages")
def delete_images(ctx: CallContext, p: dict) -> dict:
    ctx.services.images.delete(ctx.identity, ctx.region, p["ImageIds"], dry_run=bool(p.get("DryRun")),
                               delete_snapshots=bool(p.get("DeleteBindedSnap")))
    return {}


@action("cvm", "DescribeImageQuota", inline=True)
def describe_image_quota(ctx: CallContext, p: dict) -> dict:
    ctx.services.regions.get(ctx.region)
    return {"ImageNumQuota": ctx.services.images.quota()}


@action("cvm", "DescribeImportImageOs", inline=True)
def describe_import_image_os(ctx: CallContext, p: dict) -> dict:
    return ctx.services.images.import_os()


@action("cvm", "ExportImages")
def export(ctx: CallContext, p: dict) -> dict:
    task_id, paths = export_images(ctx.services.images, ctx.identity, ctx.region, p)
    return {"TaskId": task_id, "CosPaths": paths}


@action("cvm", "ModifyImageSharePermission")
def modify_image_share_permission(ctx: CallContext, p: dict) -> dict:
    from ..services.image_share import modify_share_permission

    modify_share_permission(ctx.services.images, ctx.identity, ctx.region, p)
    return {}


@action("cvm", "DescribeImageSharePermission")
def describe_image_share_permission(ctx: CallContext, p: dict) -> dict:
    from ..services.image_share import describe_share_permission

    return {"SharePermissionSet": describe_share_permission(ctx.services.images, ctx.identity, ctx.region, p["ImageId"])}


@action("cvm", "SyncImages")
def sync_images(ctx: CallContext, p: dict) -> dict:
    from ..services.image_sync import sync_images as sync

    created = sync(ctx.services.images, ctx.identity, ctx.region, p)
    return {"ImageSet": created if p.get("ImageSetRequired") else []}
