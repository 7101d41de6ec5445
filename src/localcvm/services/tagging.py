"""The tag product (API 3.0 ``tag`` 2018-08-13) over localcvm's tags: the subset the official clients
and the Terraform provider call (ModifyResourceTags, TagResources, UnTagResources,
DescribeResourceTagsByResourceIds, DescribeResourceTags).

The tag API names a resource by its six-segment description
``qcs:<project>:<service>:<region>:uin/<uin>:<prefix>/<id>``
(https://cloud.tencent.com/document/product/598/10606); the account segment may be ``uin/`` (the
caller's own account, as the Terraform provider writes it). Only the caller's own resources resolve;
tags given at creation (``TagSpecification``) and tags set here are the same tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.db import Database
from ..store.repo import Repo
from ..store.repo_network import NetworkRepo
from . import errors
from .iam import Identity
from .query import check_page
from .tags import tag_map

# The tag service's documented limits: at most 10 tags per ModifyResourceTags / TagResources call, at
# most 50 ResourceIds per DescribeResourceTagsByResourceIds, and at most 50 tags on one resource.
MAX_TAGS_PER_CALL = 10
MAX_IDS = 50
MAX_TAGS_PER_RESOURCE = 50
# DescribeResourceTags* page 15 tags unless told otherwise
DEFAULT_LIMIT = 15

# What localcvm serves, as (service type, resource prefix) of the six-segment description.
PREFIXES: dict[str, tuple[str, ...]] = {"cvm": ("instance", "image", "keypair", "sg"), "cbs": ("disk", "snapshot"),
                                        "vpc": ("vpc", "subnet")}
# Key pairs belong to the account in every region; the others to one region.
GLOBAL_PREFIXES = {"keypair"}


@dataclass(frozen=True)
class ResourceName:
    service: str
    region: str
    prefix: str
    resource_id: str


@dataclass(frozen=True)
class ResourceTag:
    """One tag of one resource (a ``TagResource`` on the wire)."""

    service: str
    resource_id: str
    key: str
    value: str


def parse_resource(name: str, identity: Identity) -> ResourceName:
    """The parts of a six-segment description, once the account segment is the caller's."""
    parts = name.split(":")
    if len(parts) != 6 or parts[0] != "qcs" or "/" not in parts[5] or not parts[4].startswith("uin/"):
        raise errors.InvalidParameterValueResourceDescriptionError(
            f"`{name}` is not a resource description (qcs::<service>:<region>:uin/<uin>:<prefix>/<id>).")
    uin = parts[4][len("uin/"):]
    if uin and uin != identity.uin:
        raise errors.InvalidParameterValueUinInvalid(f"The resource description `{name}` names account {uin}, not the caller's.")
    prefix, _, resource_id = parts[5].partition("/")
    return ResourceName(check_service(parts[2], prefix), parts[3], prefix, resource_id)


def check_service(service: str, prefix: str) -> str:
    if service not in PREFIXES:
        raise errors.InvalidParameterUnsupportedService(f"The service type `{service}` is not supported (served: {', '.join(PREFIXES)}).")
    if prefix not in PREFIXES[service]:
        raise errors.InvalidParameterValueResourcePrefixInvalid(
            f"The resource prefix `{prefix}` is not one of {service}'s ({', '.join(PREFIXES[service])}).")
    return service


def owned(repo: Repo, identity: Identity, res: ResourceName, *, any_region: bool = False) -> bool:
    """Whether the resource exists and is the caller's (in the named region, for regional ones)."""
    net = NetworkRepo(repo)
    getters = {"instance": repo.get_instance, "image": repo.get_image, "keypair": repo.get_key_pair,
               "disk": repo.get_disk, "snapshot": repo.get_snapshot, "sg": net.get_group, "vpc": net.get_vpc,
               "subnet": net.get_subnet}
    row = getters[res.prefix](res.resource_id)
    if row is None or row.owner_uin != identity.uin:
        return False
    return any_region or res.prefix in GLOBAL_PREFIXES or row.region == res.region


class TaggingService:
    def __init__(self, db: Database):
        self.db = db

    def modify(self, identity: Identity, resource: str, replace: list[dict] | None, delete: list[str] | None) -> None:
        """ModifyResourceTags: set ``replace`` and remove ``delete`` on one resource, in one transaction."""
        if not replace and not delete:
            raise errors.InvalidParameterValueDeleteTagsParamError("Give ReplaceTags or DeleteTags (a non-empty list).")
        tags = self._checked(replace or [])
        if set(tags) & set(delete or []):
            raise errors.InvalidParameterValueDeleteTagsParamError("ReplaceTags and DeleteTags cannot name the same tag key.")
        if len(delete or []) > MAX_TAGS_PER_CALL:
            raise errors.LimitExceededTagNumPerRequest(f"At most {MAX_TAGS_PER_CALL} DeleteTags per call, got {len(delete or [])}.")
        self._apply(identity, [resource], tags, list(delete or []))

    def tag(self, identity: Identity, resources: list[str], items: list[dict]) -> None:
        """TagResources: add (or overwrite) ``items`` on every resource."""
        self._apply(identity, resources, self._checked(items), [])

    def untag(self, identity: Identity, resources: list[str], keys: list[str]) -> None:
        """UnTagResources: remove ``keys`` from every resource."""
        self._apply(identity, resources, {}, list(keys))

    def _checked(self, items: list[dict]) -> dict[str, str]:
        if len(items) > MAX_TAGS_PER_CALL:
            raise errors.LimitExceededTagNumPerRequest(f"At most {MAX_TAGS_PER_CALL} tags per call, got {len(items)}.")
        return tag_map([{"Key": t["TagKey"], "Value": t["TagValue"]} for t in items])

    def _apply(self, identity: Identity, resources: list[str], tags: dict[str, str], delete: list[str]) -> None:
        if len(resources) > MAX_IDS:
            raise errors.LimitExceededResourceNumPerRequest(f"At most {MAX_IDS} resources per call, got {len(resources)}.")
        names = [parse_resource(r, identity) for r in resources]
        with self.db.write() as repo:
            for res, text in zip(names, resources):
                if not owned(repo, identity, res):
                    raise errors.InvalidParameterValueResourceIdInvalid(f"The resource `{text}` does not exist in your account.")
                current = repo.tags_of([res.resource_id])[res.resource_id]
                after = {k: v for k, v in {**current, **tags}.items() if k not in delete}
                if len(after) > MAX_TAGS_PER_RESOURCE:
                    raise errors.LimitExceededResourceAttachedTags(f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags.")
                repo.delete_tags(res.resource_id, delete)
                repo.set_tags(res.resource_id, tags)

    def by_resource_ids(self, identity: Identity, service: str, prefix: str, region: str, ids: list[str],
                        offset: int | None, limit: int | None) -> tuple[int, list[ResourceTag]]:
        """DescribeResourceTagsByResourceIds: the tags of the caller's resources among ``ids``."""
        check_service(service, prefix)
        if len(ids) > MAX_IDS:
            raise errors.LimitExceededResourceNumPerRequest(f"At most {MAX_IDS} ResourceIds per call, got {len(ids)}.")
        found = self._tags(identity, [ResourceName(service, region, prefix, i) for i in dict.fromkeys(ids)])
        page = check_page(offset, DEFAULT_LIMIT if limit is None else limit)
        return len(found), page.of(found)

    def resource_tags(self, identity: Identity, service: str | None, prefix: str | None, region: str | None,
                      resource_id: str | None, offset: int | None, limit: int | None) -> tuple[int, list[ResourceTag]]:
        """DescribeResourceTags: the tags of one resource of the caller, named by its ID (and optionally
        its service type, prefix and region)."""
        page = check_page(offset, DEFAULT_LIMIT if limit is None else limit)
        if not resource_id:
            raise errors.MissingParameter("localcvm's DescribeResourceTags needs ResourceId.")
        names = [ResourceName(s, region or "", p, resource_id) for s, prefixes in PREFIXES.items() for p in prefixes
                 if service in (None, "", s) and prefix in (None, "", p)]
        found = self._tags(identity, names, any_region=not region)
        return len(found), page.of(found)

    def _tags(self, identity: Identity, names: list[ResourceName], *, any_region: bool = False) -> list[ResourceTag]:
        out: list[ResourceTag] = []
        with self.db.read() as repo:
            mine = [n for n in names if owned(repo, identity, n, any_region=any_region)]
            tags = repo.tags_of([n.resource_id for n in mine])
        for n in mine:
            out.extend(ResourceTag(n.service, n.resource_id, k, v) for k, v in tags[n.resource_id].items())
        return out
