"""Instances pages: list, detail, power actions, Create instance and Create custom image."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.responses import Response

from ..services import errors
from ..services.instances import lifecycle
from ..services.instances.rules import login_password_rule
from .images import find_image
from .routes import Ctx, redirect

POWER = {"start": "StartInstances", "stop": "StopInstances", "reboot": "RebootInstances",
         "terminate": "TerminateInstances"}


async def all_instances(ctx: Ctx) -> list[dict]:
    found: list[dict] = []
    while True:
        page = await ctx.call("DescribeInstances", {"Offset": len(found), "Limit": 100})
        found += page.get("InstanceSet") or []
        if len(found) >= page.get("TotalCount", 0) or not page.get("InstanceSet"):
            return found


async def instance_list(ctx: Ctx) -> Response:
    return ctx.console.render(ctx, "instances.html", {
        "instances": await all_instances(ctx), "section": "instances",
    })


async def find_instance(ctx: Ctx, instance_id: str) -> dict:
    found = (await ctx.call("DescribeInstances", {"InstanceIds": [instance_id]}))["InstanceSet"]
    if not found:
        raise errors.InvalidInstanceIdNotFound(f"The instance `{instance_id}` does not exist in {ctx.region}.")
    return found[0]


def power_actions(ctx: Ctx, instance: dict) -> list[dict]:
    """Start/stop/reboot/terminate, each disabled with the reason where the life cycle refuses it."""
    state, acts = instance["InstanceState"], []
    for name, action in POWER.items():
        why = None
        if instance.get("LatestOperationState") == lifecycle.OPERATING:
            why = ctx.t("instances.why.busy")
        elif state not in lifecycle.ACCEPTS.get(action, lifecycle.LIVE):
            why = ctx.t("instances.why.state", state=ctx.t(f"state.{state}"))
        acts.append({"name": name, "label": ctx.t(f"instances.act.{name}"), "why": why})
    return acts


async def vnc_console(ctx: Ctx, instance: dict) -> tuple[str | None, str | None]:
    """(the noVNC page for the instance's VNC console, why there is none): DescribeInstanceVncUrl
    answers a websocket under the QEMU driver for a RUNNING instance; the page is Debian's noVNC."""
    if instance.get("InstanceState") != "RUNNING":
        return None, ctx.t("instances.console.not_running")
    try:
        url = (await ctx.call("DescribeInstanceVncUrl", {"InstanceId": instance["InstanceId"]}))["InstanceVncUrl"]
    except errors.ApiError as exc:
        return None, exc.message
    ws = urlsplit(url)
    if ctx.console.novnc is None:
        return None, ctx.t("instances.console.no_novnc")
    query = urlencode({"host": ws.hostname, "port": ws.port, "path": ws.path.lstrip("/"), "autoconnect": "true"})
    return f"/console/novnc/vnc_lite.html?{query}", None


async def instance_detail(ctx: Ctx) -> Response:
    instance = await find_instance(ctx, ctx.request.path_params["instance_id"])
    vnc, vnc_why = await vnc_console(ctx, instance)
    return ctx.console.render(ctx, "instance_detail.html", {
        "instance": instance, "actions": power_actions(ctx, instance), "vnc": vnc, "vnc_why": vnc_why,
        "key_ids": (instance.get("LoginSettings") or {}).get("KeyIds") or [], "section": "instances",
    })


async def power_submit(ctx: Ctx) -> Response:
    instance_id, name = ctx.request.path_params["instance_id"], ctx.request.path_params["verb"]
    if name not in POWER:
        return redirect(f"/console/instances/{instance_id}")
    await ctx.call(POWER[name], {"InstanceIds": [instance_id]})
    if name == "terminate":
        return redirect("/console/instances?notice=terminating")
    return redirect(f"/console/instances/{instance_id}?notice={name}")


async def new_form(ctx: Ctx) -> Response:
    image = await find_image(ctx, ctx.query("image"))
    zones = [z for z in (await ctx.call("DescribeZones"))["ZoneSet"] if z["ZoneState"] == "AVAILABLE"]
    types = (await ctx.call("DescribeInstanceTypeConfigs"))["InstanceTypeConfigSet"]
    type_names = sorted({c["InstanceType"] for c in types}, key=lambda n: (n.split(".")[0], len(n), n))
    keys = (await ctx.call("DescribeKeyPairs", {"Limit": 100}))["KeyPairSet"]
    rule = login_password_rule(image.get("Platform") if image.get("Platform") == "Windows" else "Linux")
    return ctx.console.render(ctx, "instance_new.html", {
        "image": image, "zones": zones, "types": type_names, "keys": keys, "rule": rule,
        "login": "password" if image.get("Platform") == "Windows" or not keys else "key",
        "min_disk": max(20, image.get("ImageSize") or 0), "section": "instances",
    })


async def new_submit(ctx: Ctx) -> Response:
    login = {"KeyIds": ctx.values("key_ids")} if ctx.value("login") == "key" else {"Password": ctx.value("password")}
    try:
        disk = int(ctx.value("disk_size", "50"))
    except ValueError:
        disk = 0
    params = {
        "ImageId": ctx.value("image_id"), "InstanceType": ctx.value("instance_type"),
        "Placement": {"Zone": ctx.value("zone")}, "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": disk},
        "LoginSettings": login, "InstanceCount": 1,
    }
    if ctx.value("name"):
        params["InstanceName"] = ctx.value("name")
    done = await ctx.call("RunInstances", params)
    return redirect(f"/console/instances/{done['InstanceIdSet'][0]}?notice=launched")


async def capture_form(ctx: Ctx) -> Response:
    from .images import custom_quota

    instance = await find_instance(ctx, ctx.request.path_params["instance_id"])
    return ctx.console.render(ctx, "image_capture.html", {
        "instance": instance, "quota": await custom_quota(ctx), "section": "instances",
    })


async def capture_submit(ctx: Ctx) -> Response:
    params = {"InstanceId": ctx.request.path_params["instance_id"], "ImageName": ctx.value("name")}
    if ctx.value("description"):
        params["ImageDescription"] = ctx.value("description")
    if ctx.value("force") == "1":
        params["ForcePoweroff"] = "TRUE"
    done = await ctx.call("CreateImage", params)
    return redirect(f"/console/images/{done['ImageId']}?notice=capturing")


ROUTES = [
    ("/instances", instance_list, ["GET"]),
    ("/instances/new", new_form, ["GET"]),
    ("/instances/new", new_submit, ["POST"]),
    ("/instances/{instance_id:str}", instance_detail, ["GET"]),
    ("/instances/{instance_id:str}/image", capture_form, ["GET"]),
    ("/instances/{instance_id:str}/image", capture_submit, ["POST"]),
    ("/instances/{instance_id:str}/{verb:str}", power_submit, ["POST"]),
]
