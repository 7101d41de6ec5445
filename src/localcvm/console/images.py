"""Images pages: the Public / Custom / Shared / Marketplace tabs and an image's detail."""

from __future__ import annotations

from starlette.responses import Response

from ..services import errors
from .routes import Ctx

TABS = (("PUBLIC_IMAGE", "images.tab.public"), ("PRIVATE_IMAGE", "images.tab.custom"),
        ("SHARED_IMAGE", "images.tab.shared"), ("MARKET_IMAGE", "images.tab.market"))
PAGE_SIZE = 20
API_PAGE = 100
BUSY_STATES = ("CREATING", "SYNCING", "IMPORTING", "USING")


async def all_images(ctx: Ctx, image_type: str, region: str | None = None) -> list[dict]:
    """Every image of one type in the region (DescribeImages, page by page)."""
    found: list[dict] = []
    while True:
        page = await ctx.call("DescribeImages", {"Filters": [{"Name": "image-type", "Values": [image_type]}],
                                                 "Offset": len(found), "Limit": API_PAGE}, region=region)
        found += page.get("ImageSet") or []
        if len(found) >= page.get("TotalCount", 0) or not page.get("ImageSet"):
            return found


async def custom_quota(ctx: Ctx) -> tuple[int, int] | None:
    """(custom images in the region, the account's quota), as DescribeImages and DescribeImageQuota say;
    None when the caller (a CAM sub-user) may not read the quota: the tab is shown without it."""
    used = await ctx.call("DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}],
                                             "Limit": 1})
    try:
        quota = await ctx.call("DescribeImageQuota")
    except errors.ApiError as exc:
        if not exc.code.startswith("UnauthorizedOperation"):
            raise
        return None
    return used.get("TotalCount", 0), quota.get("ImageNumQuota", 0)


def matches(image: dict, q: str, os_name: str, arch: str) -> bool:
    q = q.lower()
    if q and q not in image["ImageId"].lower() and q not in (image.get("ImageName") or "").lower():
        return False
    if os_name and image.get("Platform") != os_name:
        return False
    return not arch or image.get("Architecture") == arch


async def image_list(ctx: Ctx) -> Response:
    tab = ctx.query("tab", "PUBLIC_IMAGE")
    if tab not in dict(TABS):
        tab = "PUBLIC_IMAGE"
    q, os_name, arch = ctx.query("q"), ctx.query("os"), ctx.query("arch")
    images = await all_images(ctx, tab)
    platforms = sorted({i.get("Platform") or "" for i in images} - {""})
    arches = sorted({i.get("Architecture") or "" for i in images} - {""})
    shown = [i for i in images if matches(i, q, os_name, arch)]
    try:
        page = max(1, int(ctx.query("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, (len(shown) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    quota = await custom_quota(ctx) if tab == "PRIVATE_IMAGE" else None
    return ctx.console.render(ctx, "images.html", {
        "tabs": TABS, "tab": tab, "images": shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "total": len(shown),
        "page": page, "pages": pages, "q": q, "os": os_name, "arch": arch, "platforms": platforms,
        "arches": arches, "quota": quota, "section": "images",
    })


async def find_image(ctx: Ctx, image_id: str) -> dict:
    """The image as DescribeImages shows it to this account (its refusal if it cannot see it)."""
    found = (await ctx.call("DescribeImages", {"ImageIds": [image_id]}))["ImageSet"]
    if not found:  # DescribeImages answers an empty set for an ID it does not show this account
        raise errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {ctx.region} for this account.")
    return found[0]


def image_actions(ctx: Ctx, image: dict) -> list[dict]:
    """The actions the image's kind offers, each with why it is disabled (or None)."""
    t, kind, state = ctx.t, image["ImageType"], image["ImageState"]
    not_ready = None if state == "NORMAL" else t("images.why.state", state=t(f"state.{state}"))
    base = f"/console/images/{image['ImageId']}"
    acts = [{"label": t("images.act.run"), "href": f"/console/instances/new?image={image['ImageId']}", "why": not_ready}]
    if kind == "SHARED_IMAGE":
        acts.append({"label": t("images.act.copy_in"), "href": f"{base}/sync", "why": not_ready})
    elif kind == "PRIVATE_IMAGE":
        acts += [
            {"label": t("images.act.copy_cross"), "href": f"{base}/sync", "why": not_ready},
            {"label": t("images.act.share"), "href": f"{base}/share", "why": not_ready},
            {"label": t("images.act.export"), "href": f"{base}/export", "why": not_ready},
            {"label": t("images.act.rename"), "href": f"{base}/rename", "why": None},
            {"label": t("images.act.delete"), "href": f"{base}/delete",
             "why": t("images.why.busy") if state in BUSY_STATES else None},
        ]
    return acts


async def copy_state(ctx: Ctx, region: str, image_id: str) -> dict:
    """A copy just requested, as DescribeImages in its region shows it now."""
    try:
        found = (await ctx.call("DescribeImages", {"ImageIds": [image_id]}, region=region))["ImageSet"]
    except errors.ApiError:
        found = []
    if not found:
        return {"region": region, "id": image_id, "state": "GONE", "percent": None}
    return {"region": region, "id": image_id, "state": found[0]["ImageState"], "percent": found[0].get("SyncPercent")}


async def image_detail(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.request.path_params["image_id"])
    shares = []
    if image["ImageType"] == "PRIVATE_IMAGE" and image["ImageState"] == "NORMAL":
        shares = (await ctx.call("DescribeImageSharePermission", {"ImageId": image["ImageId"]}))["SharePermissionSet"]
    copies = [await copy_state(ctx, *c.split(":", 1)) for c in ctx.query("copies").split(",") if ":" in c][:20]
    return ctx.console.render(ctx, "image_detail.html", {
        "image": image, "actions": image_actions(ctx, image), "shares": shares, "copies": copies,
        "section": "images",
    })


ROUTES = [
    ("/images", image_list, ["GET"]),
    ("/images/{image_id:str}", image_detail, ["GET"]),
]
