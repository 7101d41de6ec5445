"""Key pairs and snapshots pages, and the JSON progress endpoint the pages poll."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from ..services.errors import ApiError
from .routes import Ctx, redirect

MAX_TRACKED = 50


async def keypairs(ctx: Ctx) -> Response:
    keys = (await ctx.call("DescribeKeyPairs", {"Limit": 100}))["KeyPairSet"]
    return ctx.console.render(ctx, "keypairs.html", {"keys": keys, "private_key": "", "section": "keypairs"})


async def keypair_create(ctx: Ctx) -> Response:
    done = await ctx.call("CreateKeyPair", {"KeyName": ctx.value("name"), "ProjectId": 0})
    keys = (await ctx.call("DescribeKeyPairs", {"Limit": 100}))["KeyPairSet"]
    # the private key is shown once, on this page only, as the real console offers it once for download
    return ctx.console.render(ctx, "keypairs.html", {
        "keys": keys, "private_key": done["KeyPair"].get("PrivateKey") or "", "created": done["KeyPair"]["KeyId"],
        "section": "keypairs",
    })


async def keypair_delete(ctx: Ctx) -> Response:
    await ctx.call("DeleteKeyPairs", {"KeyIds": [ctx.request.path_params["key_id"]]})
    return redirect("/console/keypairs")


async def snapshots(ctx: Ctx) -> Response:
    found = (await ctx.call("DescribeSnapshots", {"Limit": 100}, service="cbs"))["SnapshotSet"]
    return ctx.console.render(ctx, "snapshots.html", {"snapshots": found, "section": "snapshots"})


def tracked(raw: str) -> dict[str, list[str]]:
    """``region:id,region:id`` → ids per region (at most MAX_TRACKED)."""
    per_region: dict[str, list[str]] = {}
    for item in raw.split(",")[:MAX_TRACKED]:
        region, _, resource = item.partition(":")
        if resource:
            per_region.setdefault(region, []).append(resource)
    return per_region


async def progress(ctx: Ctx) -> Response:
    """GET /console/progress.json?images=region:img-..&instances=region:ins-..: their states now."""
    out: dict[str, dict] = {"images": {}, "instances": {}}
    for region, ids in tracked(ctx.query("images")).items():
        for image_id in ids:
            try:
                found = (await ctx.call("DescribeImages", {"ImageIds": [image_id]}, region=region))["ImageSet"]
            except ApiError:
                found = []
            if not found:  # deleted, or never this account's to see
                out["images"][image_id] = {"state": "GONE", "percent": None, "label": ctx.t("state.GONE")}
                continue
            i = found[0]
            out["images"][image_id] = {"state": i["ImageState"], "percent": i.get("SyncPercent"),
                                       "label": ctx.t(f"state.{i['ImageState']}")}
    for region, ids in tracked(ctx.query("instances")).items():
        try:
            found = (await ctx.call("DescribeInstances", {"InstanceIds": ids}, region=region))["InstanceSet"]
        except ApiError:
            found = []
        seen = {i["InstanceId"]: i for i in found}
        for instance_id in ids:
            state = seen[instance_id]["InstanceState"] if instance_id in seen else "TERMINATED"
            out["instances"][instance_id] = {"state": state, "label": ctx.t(f"state.{state}")}
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


ROUTES = [
    ("/keypairs", keypairs, ["GET"]),
    ("/keypairs", keypair_create, ["POST"]),
    ("/keypairs/{key_id:str}/delete", keypair_delete, ["POST"]),
    ("/snapshots", snapshots, ["GET"]),
    ("/progress.json", progress, ["GET"]),
]
