"""Tag product actions (``tag`` 2018-08-13): the subset over localcvm's own resources.

The tag service is global: it takes no Region; a resource's region is part of its description.
"""

from __future__ import annotations

from ..services.tagging import DEFAULT_LIMIT, ResourceTag
from .routes import CallContext, action


def tag_resource(t: ResourceTag) -> dict:
    return {"TagKey": t.key, "TagValue": t.value, "ResourceId": t.resource_id, "ServiceType": t.service,
            "Category": "Custom"}


def tag_page(p: dict, total: int, items: list[ResourceTag], set_name: str) -> dict:
    limit = DEFAULT_LIMIT if p.get("Limit") is None else p["Limit"]
    return {"TotalCount": total, "Offset": p.get("Offset") or 0, "Limit": limit,
            set_name: [tag_resource(t) for t in items]}


@action("tag", "ModifyResourceTags", regional=False)
def modify_resource_tags(ctx: CallContext, p: dict) -> dict:
    ctx.services.tagging.modify(ctx.identity, p["Resource"], p.get("ReplaceTags"),
                                [t["TagKey"] for t in p.get("DeleteTags") or []])
    return {}


@action("tag", "TagResources", regional=False)
def tag_resources(ctx: CallContext, p: dict) -> dict:
    ctx.services.tagging.tag(ctx.identity, p["ResourceList"], p["Tags"])
    return {"FailedResources": []}


@action("tag", "UnTagResources", regional=False)
def untag_resources(ctx: CallContext, p: dict) -> dict:
    ctx.services.tagging.untag(ctx.identity, p["ResourceList"], p["TagKeys"])
    return {"FailedResources": []}


@action("tag", "DescribeResourceTagsByResourceIds", regional=False)
def describe_by_ids(ctx: CallContext, p: dict) -> dict:
    total, items = ctx.services.tagging.by_resource_ids(ctx.identity, p["ServiceType"], p["ResourcePrefix"],
                                                        p["ResourceRegion"], p["ResourceIds"], p.get("Offset"),
                                                        p.get("Limit"))
    return tag_page(p, total, items, "Tags")


@action("tag", "DescribeResourceTags", regional=False)
def describe_resource_tags(ctx: CallContext, p: dict) -> dict:
    total, items = ctx.services.tagging.resource_tags(ctx.identity, p.get("ServiceType"), p.get("ResourcePrefix"),
                                                      p.get("ResourceRegion"), p.get("ResourceId"), p.get("Offset"),
                                                      p.get("Limit"))
    return tag_page(p, total, items, "Rows")
