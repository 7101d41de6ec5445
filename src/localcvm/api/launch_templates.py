"""Instance launch templates (cvm 2017-03-12) and the ``LaunchTemplate`` parameter of RunInstances.

A version holds RunInstances parameters (the members of ``LaunchTemplateVersionData``). The CVM API
documents that a new version takes the parameters it does not give from the version it is based on,
and that RunInstances with ``LaunchTemplate`` takes the template's values unless the request gives
its own: ``merged`` does both, before any rule of RunInstances is checked, so the merged parameters
meet exactly the checks a plain RunInstances meets.
"""

from __future__ import annotations

from typing import Any

from ..services.tags import tags_for
from .render import iso_time, page
from .routes import CallContext, action

# the parameters a version holds (``LaunchTemplateVersionData`` in the API's spec)
VERSION_DATA = ("Placement", "InstanceType", "InstanceName", "InstanceChargeType", "SystemDisk", "DataDisks",
                "InternetAccessible", "VirtualPrivateCloud", "ImageId", "SecurityGroupIds", "LoginSettings",
                "CamRoleName", "HpcClusterId", "InstanceCount", "EnhancedService", "UserData",
                "DisasterRecoverGroupIds", "ActionTimer", "InstanceMarketOptions", "HostName",
                "InstanceChargePrepaid", "TagSpecification", "DisableApiTermination")


def template_data(p: dict) -> dict[str, Any]:
    """The parameters of a request that a version keeps."""
    return {k: p[k] for k in VERSION_DATA if p.get(k) is not None}


def merged(base: dict[str, Any], own: dict) -> dict[str, Any]:
    """``base``'s parameters, each replaced by the request's own where it gives one."""
    return {**base, **{k: v for k, v in own.items() if v is not None and k != "LaunchTemplate"}}


def with_template(ctx: CallContext, p: dict) -> dict:
    """RunInstances' parameters once its ``LaunchTemplate`` (if any) is merged in."""
    lt = p.get("LaunchTemplate")
    if not lt:
        return p
    base = ctx.services.launch_templates.parameters(ctx.identity, ctx.region, lt.get("LaunchTemplateId") or "",
                                                    lt.get("LaunchTemplateVersion"))
    return merged(base, p)


def _checker(ctx: CallContext, data: dict):
    """RunInstances' checks on a version's parameters (nothing is launched)."""
    from .instances import run_request  # instances imports this module for RunInstances

    return lambda: ctx.services.instances.plan_run(ctx.identity, ctx.region, run_request(data))


def _shown(data: dict) -> dict:
    """A version's parameters as DescribeLaunchTemplateVersions shows them: never a password."""
    out = {k: v for k, v in data.items() if k in VERSION_DATA}
    if isinstance(out.get("LoginSettings"), dict):
        out["LoginSettings"] = {k: v for k, v in out["LoginSettings"].items() if k != "Password"}
    return out


@action("cvm", "CreateLaunchTemplate")
def create_launch_template(ctx: CallContext, p: dict) -> dict:
    data = template_data(p)
    template_id = ctx.services.launch_templates.create(
        ctx.identity, ctx.region, p["LaunchTemplateName"], p.get("LaunchTemplateVersionDescription"), data,
        tags_for(p.get("LaunchTemplateTagSpecification"), "launch-template"), _checker(ctx, data))
    return {"LaunchTemplateId": template_id}


@action("cvm", "CreateLaunchTemplateVersion")
def create_launch_template_version(ctx: CallContext, p: dict) -> dict:
    templates = ctx.services.launch_templates
    base = templates.parameters(ctx.identity, ctx.region, p["LaunchTemplateId"], p.get("LaunchTemplateVersion"))
    data = template_data(merged(base, p))
    number = templates.add_version(ctx.identity, ctx.region, p["LaunchTemplateId"],
                                   p.get("LaunchTemplateVersionDescription"), data, _checker(ctx, data))
    return {"LaunchTemplateVersionNumber": number}


@action("cvm", "DescribeLaunchTemplates")
def describe_launch_templates(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.launch_templates.describe(ctx.identity, ctx.region, p.get("LaunchTemplateIds"),
                                                          p.get("Filters"), p.get("Offset"), p.get("Limit"))
    return page(total, [{
        "LaunchTemplateId": v.template_id, "LaunchTemplateName": v.name, "DefaultVersionNumber": v.default_version,
        "LatestVersionNumber": v.latest_version, "LaunchTemplateVersionCount": v.version_count,
        "CreatedBy": v.created_by, "CreationTime": iso_time(v.created_at),
    } for v in views], "LaunchTemplateSet")


@action("cvm", "DescribeLaunchTemplateVersions")
def describe_launch_template_versions(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.launch_templates.versions(
        ctx.identity, ctx.region, p["LaunchTemplateId"], numbers=p.get("LaunchTemplateVersions"),
        low=p.get("MinVersion"), high=p.get("MaxVersion"), default_only=bool(p.get("DefaultVersion")),
        offset=p.get("Offset"), limit=p.get("Limit"))
    return page(total, [{
        "LaunchTemplateId": v.template_id, "LaunchTemplateVersion": v.version,
        "LaunchTemplateVersionDescription": v.description, "IsDefaultVersion": v.is_default,
        "CreatedBy": v.created_by, "CreationTime": iso_time(v.created_at),
        "LaunchTemplateVersionData": _shown(dict(v.parameters)),
    } for v in views], "LaunchTemplateVersionSet")


@action("cvm", "ModifyLaunchTemplateDefaultVersion")
def modify_launch_template_default_version(ctx: CallContext, p: dict) -> dict:
    ctx.services.launch_templates.set_default(ctx.identity, ctx.region, p["LaunchTemplateId"], p["DefaultVersion"])
    return {}


@action("cvm", "DeleteLaunchTemplateVersions")
def delete_launch_template_versions(ctx: CallContext, p: dict) -> dict:
    ctx.services.launch_templates.delete_versions(ctx.identity, ctx.region, p["LaunchTemplateId"],
                                                  p["LaunchTemplateVersions"])
    return {}


@action("cvm", "DeleteLaunchTemplate")
def delete_launch_template(ctx: CallContext, p: dict) -> dict:
    ctx.services.launch_templates.delete(ctx.identity, ctx.region, p["LaunchTemplateId"])
    return {}
