"""Image actions: copies (SyncImages), rename, delete, share, import and export.

Which destinations a copy may go to is asked of SyncImages itself (DryRun per region), so the
dialog disables exactly what the API would refuse, with the API's reason.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from ..services.errors import ApiError
from .images import find_image
from .routes import Ctx, redirect


def reason(ctx: Ctx, exc: ApiError) -> str:
    key = f"error.{exc.code}"
    return f"{ctx.t(key) if ctx.t.has(key) else exc.message} ({exc.code})"


async def destinations(ctx: Ctx, image: dict) -> list[dict]:
    """Every region the image could be copied to, each with why not (None when it can)."""
    own = image["ImageType"] == "PRIVATE_IMAGE"
    found = []
    for r in ctx.console.regions.all():
        if own and r.region == ctx.region:
            continue
        if not own and r.region != ctx.region:
            continue
        try:
            await ctx.call("SyncImages", {"ImageIds": [image["ImageId"]], "DestinationRegions": [r.region],
                                          "DryRun": True})
            why = None
        except ApiError as exc:
            why = None if exc.code == "DryRunOperation" else reason(ctx, exc)
        found.append({"region": r.region, "mainland": r.mainland, "why": why})
    return found


async def sync_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    return ctx.console.render(ctx, "image_sync.html", {
        "image": image, "destinations": await destinations(ctx, image), "section": "images",
        "in_region": image["ImageType"] == "SHARED_IMAGE",
    })


async def sync_submit(ctx: Ctx) -> Response:
    image_id = ctx.request.path_params["image_id"]
    params = {"ImageIds": [image_id], "DestinationRegions": ctx.values("regions"), "ImageSetRequired": True}
    if ctx.value("name"):
        params["ImageName"] = ctx.value("name")
    done = await ctx.call("SyncImages", params)
    copies = ",".join(f"{c['Region']}:{c['ImageId']}" for c in done.get("ImageSet") or [])
    return redirect(f"/console/images/{image_id}?notice=copied&copies={quote(copies)}")


async def rename_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    return ctx.console.render(ctx, "image_rename.html", {"image": image, "section": "images"})


async def rename_submit(ctx: Ctx) -> Response:
    image_id = ctx.request.path_params["image_id"]
    params = {"ImageId": image_id, "ImageName": ctx.value("name")}
    if ctx.value("description"):
        params["ImageDescription"] = ctx.value("description")
    await ctx.call("ModifyImageAttribute", params)
    return redirect(f"/console/images/{image_id}?notice=renamed")


async def delete_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    return ctx.console.render(ctx, "confirm.html", {
        "title": ctx.t("images.delete.title"), "text": ctx.t("images.delete.text", name=image["ImageName"],
                                                             id=image["ImageId"]),
        "action": f"/console/images/{image['ImageId']}/delete", "button": ctx.t("images.act.delete"),
        "cancel": f"/console/images/{image['ImageId']}", "section": "images",
    })


async def delete_submit(ctx: Ctx) -> Response:
    await ctx.call("DeleteImages", {"ImageIds": [ctx.request.path_params["image_id"]]})
    return redirect("/console/images?tab=PRIVATE_IMAGE&notice=deleted")


async def share_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    shares = (await ctx.call("DescribeImageSharePermission", {"ImageId": image["ImageId"]}))["SharePermissionSet"]
    return ctx.console.render(ctx, "image_share.html", {"image": image, "shares": shares, "section": "images"})


async def share_submit(ctx: Ctx) -> Response:
    image_id = ctx.request.path_params["image_id"]
    accounts = [a for part in ctx.values("accounts") for a in part.replace(",", " ").split()]
    permission = "CANCEL" if ctx.value("permission") == "CANCEL" else "SHARE"
    await ctx.call("ModifyImageSharePermission", {"ImageId": image_id, "AccountIds": accounts,
                                                  "Permission": permission})
    return redirect(f"/console/images/{image_id}?notice={'unshared' if permission == 'CANCEL' else 'shared'}")


async def import_form(ctx: Ctx) -> Response:
    systems = (await ctx.call("DescribeImportImageOs")).get("ImportImageOsVersionSet") or []
    return ctx.console.render(ctx, "image_import.html", {"systems": systems, "section": "images"})


async def import_submit(ctx: Ctx) -> Response:
    os_type, _, os_version = ctx.value("os").partition("|")
    done = await ctx.call("ImportImage", {
        "ImageName": ctx.value("name"), "ImageUrl": ctx.value("url"), "OsType": os_type, "OsVersion": os_version,
        "Architecture": ctx.value("arch"), "Force": ctx.value("force") == "1",
    })
    return redirect(f"/console/images/{done['ImageId']}?notice=importing")


async def export_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    return ctx.console.render(ctx, "image_export.html", {"image": image, "section": "images"})


async def export_submit(ctx: Ctx) -> Response:
    image_id = ctx.request.path_params["image_id"]
    params = {"BucketName": ctx.value("bucket"), "ImageIds": [image_id], "ExportFormat": ctx.value("format", "QCOW2")}
    if ctx.value("prefix"):
        params["FileNamePrefixList"] = [ctx.value("prefix")]
    await ctx.call("ExportImages", params)
    return redirect(f"/console/images/{image_id}?notice=exporting")


ROUTES = [
    ("/images/import", import_form, ["GET"]),
    ("/images/import", import_submit, ["POST"]),
    ("/images/{image_id:str}/sync", sync_form, ["GET"]),
    ("/images/{image_id:str}/sync", sync_submit, ["POST"]),
    ("/images/{image_id:str}/rename", rename_form, ["GET"]),
    ("/images/{image_id:str}/rename", rename_submit, ["POST"]),
    ("/images/{image_id:str}/delete", delete_form, ["GET"]),
    ("/images/{image_id:str}/delete", delete_submit, ["POST"]),
    ("/images/{image_id:str}/share", share_form, ["GET"]),
    ("/images/{image_id:str}/share", share_submit, ["POST"]),
    ("/images/{image_id:str}/export", export_form, ["GET"]),
    ("/images/{image_id:str}/export", export_submit, ["POST"]),
]
