"""CVM image actions (cvm 2017-03-12): DescribeImages, ImportImage, ExportImages, ...

Each handler reads the validated parameters, builds the service's typed request, calls the
service and renders its views.
"""

from __future__ import annotations

from ..services import errors
from ..services.images import (CreateImageRequest, DescribeImagesRequest, ExportImagesRequest, ImageReport,
                               ImageView, ImportImageRequest, ModifyImageRequest, ShareRequest, SyncImagesRequest,
                               localized)
from ..services.tags import tags_for
from .render import iso_time, page, tags
from .routes import CallContext, action


def image_dict(v: ImageView) -> dict:
    return {
        "ImageId": v.image_id,
        "OsName": v.os_name,
        "ImageType": v.image_type,
        "CreatedTime": iso_time(v.created_at),
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
        "SnapshotSet": [{"SnapshotId": s.snapshot_id, "DiskUsage": s.disk_usage, "DiskSize": s.disk_size}
                        for s in v.snapshots],
        "Tags": tags(v.tags),
        "LicenseType": v.license_type,
        "ImageFamily": v.family,
        "ImageDeprecated": v.deprecated,
        "CdcCacheStatus": "",
    }


def operator_dict(r: ImageReport) -> dict:
    """``localcvm images show``: an image as operators see it."""
    return {
        "ImageId": r.image_id, "Region": r.region, "OwnerUin": r.owner_uin, "ImageName": r.name,
        "ImageState": r.state, "ImageSource": r.source, "ImageSize": r.size_gib, "Error": r.error,
        "Disks": [{"Index": d.index, "SnapshotId": d.snapshot_id, "VirtualSize": d.virtual_size, "Stored": d.stored}
                  for d in r.disks],
        "Jobs": [{"JobId": j.job_id, "Kind": j.kind, "State": j.state, "Progress": j.progress,
                  "Attempts": j.attempts, "Error": j.error} for j in r.jobs],
        "SyncSource": {"ImageId": r.sync_source[0], "Region": r.sync_source[1]} if r.sync_source else None,
        "SharedWith": [{"AccountId": s.account_id, "CreatedTime": iso_time(s.created_at)} for s in r.shares],
        # the owner pays the image's (snapshot) storage; accounts it is shared with pay nothing for it
        "Billing": {"StoragePayerUin": r.owner_uin, "StorageGiB": r.size_gib,
                    "RecipientCharge": 0, "Recipients": len(r.shares)},
    }


def _bool_text(p: dict, name: str) -> bool:
    """ForcePoweroff / Sysprep are documented as the strings "true" / "false"."""
    value = p.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise errors.InvalidParameterValue(f"{name} must be `true` or `false`, got `{value}`.")
    return text == "true"


@action("cvm", "DescribeImages")
def describe_images(ctx: CallContext, p: dict) -> dict:
    req = DescribeImagesRequest(image_ids=tuple(p.get("ImageIds") or ()), filters=tuple(p.get("Filters") or ()),
                                offset=p.get("Offset"), limit=p.get("Limit"), instance_type=p.get("InstanceType"),
                                visible=ctx.visible("image"))
    total, views = ctx.services.images.describe(ctx.identity, ctx.region, req)
    return page(total, [image_dict(localized(v, ctx.language)) for v in views], "ImageSet")


@action("cvm", "ImportImage")
def import_image(ctx: CallContext, p: dict) -> dict:
    req = ImportImageRequest(
        name=p["ImageName"], os_type=p["OsType"], os_version=p["OsVersion"], architecture=p["Architecture"],
        image_url=p["ImageUrl"], description=p.get("ImageDescription", ""), boot_mode=p.get("BootMode"),
        license_type=p.get("LicenseType"), family=p.get("ImageFamily", ""),
        data_disk_urls=tuple(d.get("ImageUrl") or "" for d in p.get("ImportImageDataDiskList") or ()),
        force=bool(p.get("Force")),
        dry_run=bool(p.get("DryRun")), tags=tags_for(p.get("TagSpecification"), "image"),
    )
    return {"ImageId": ctx.services.images.importer.request(ctx.identity, ctx.region, req)}


@action("cvm", "CreateImage")
def create_image(ctx: CallContext, p: dict) -> dict:
    req = CreateImageRequest(
        name=p["ImageName"], description=p.get("ImageDescription", ""), family=p.get("ImageFamily", ""),
        instance_id=p.get("InstanceId"), snapshot_ids=tuple(p.get("SnapshotIds") or ()),
        data_disk_ids=tuple(p.get("DataDiskIds") or ()), force_poweroff=_bool_text(p, "ForcePoweroff"),
        sysprep=_bool_text(p, "Sysprep"), dry_run=bool(p.get("DryRun")),
        tags=tags_for(p.get("TagSpecification"), "image"),
    )
    return {"ImageId": ctx.services.image_creator.create(ctx.identity, ctx.region, ctx.request_id, req)}


@action("cvm", "ModifyImageAttribute")
def modify_image_attribute(ctx: CallContext, p: dict) -> dict:
    deprecated = p.get("ImageDeprecated")
    req = ModifyImageRequest(image_id=p["ImageId"], name=p.get("ImageName"), description=p.get("ImageDescription"),
                             family=p.get("ImageFamily"), deprecated=None if deprecated is None else bool(deprecated))
    ctx.services.images.modify(ctx.identity, ctx.region, req)
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
    systems = ctx.services.images.import_os()
    windows = next(s.versions for s in systems if s.os_name == "Windows")
    return {
        "ImportImageOsListSupported": {"Linux": [s.os_name for s in systems if s.os_name != "Windows"],
                                       "Windows": list(windows)},
        "ImportImageOsVersionSet": [{"OsName": s.os_name, "OsVersions": list(s.versions),
                                     "Architecture": list(s.architectures)} for s in systems],
    }


@action("cvm", "ExportImages")
def export(ctx: CallContext, p: dict) -> dict:
    prefixes = p.get("FileNamePrefixList")
    req = ExportImagesRequest(image_ids=tuple(p.get("ImageIds") or ()), bucket_name=p["BucketName"],
                              export_format=p.get("ExportFormat"),
                              file_name_prefixes=None if prefixes is None else tuple(prefixes),
                              only_root_disk=bool(p.get("OnlyExportRootDisk")), dry_run=bool(p.get("DryRun")))
    result = ctx.services.images.exporter.request(ctx.identity, ctx.region, req)
    return {"TaskId": result.task_id, "CosPaths": list(result.cos_paths)}


@action("cvm", "ModifyImageSharePermission")
def modify_image_share_permission(ctx: CallContext, p: dict) -> dict:
    req = ShareRequest(image_id=p["ImageId"], permission=p["Permission"], account_ids=tuple(p["AccountIds"]))
    ctx.services.images.sharing.modify(ctx.identity, ctx.region, req)
    return {}


@action("cvm", "DescribeImageSharePermission")
def describe_image_share_permission(ctx: CallContext, p: dict) -> dict:
    shares = ctx.services.images.sharing.describe(ctx.identity, ctx.region, p["ImageId"])
    return {"SharePermissionSet": [{"CreatedTime": iso_time(s.created_at), "AccountId": s.account_id} for s in shares]}


@action("cvm", "SyncImages")
def sync_images(ctx: CallContext, p: dict) -> dict:
    req = SyncImagesRequest(image_ids=tuple(p["ImageIds"]), destination_regions=tuple(p["DestinationRegions"]),
                            image_name=p.get("ImageName"), encrypt=bool(p.get("Encrypt")), dry_run=bool(p.get("DryRun")))
    created = ctx.services.images.copier.request(ctx.identity, ctx.region, req)
    return {"ImageSet": [{"ImageId": c.image_id, "Region": c.region} for c in created] if p.get("ImageSetRequired")
            else []}


@action("cvm", "DescribeImageFromFamily")
def describe_image_from_family(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.images.from_family(ctx.identity, ctx.region, p.get("ImageFamily"))
    return {"Image": image_dict(localized(found, ctx.language)) if found is not None else None}
