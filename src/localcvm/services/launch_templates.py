"""Instance launch templates (CreateLaunchTemplate, …, and RunInstances' ``LaunchTemplate``).

A version holds RunInstances parameters as the CVM API documents them in
``LaunchTemplateVersionData``, kept as the caller gave them (the spec checked their types): this
service stores them as an opaque mapping and owns the templates' rules (names, quotas, versions, the
default). The CVM API documents that "parameters a new version does not give are taken from the
version it is based on" (CreateLaunchTemplateVersion) and that RunInstances with ``LaunchTemplate``
takes the template's values unless the request gives its own; ``api/launch_templates.py`` merges the
parameters, and every version made is first checked as RunInstances would check it (the ``check``
callback: ``InstanceService.plan_run``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..store.db import Database
from ..store.models_core import LaunchTemplate, LaunchTemplateVersion
from ..store.repo import Repo, utcnow
from ..store.repo_core import TemplateRepo
from . import errors
from .iam import Identity
from .ids import is_id, new_id
from .query import check_filters, check_page, tag_matches

MAX_TEMPLATES = 30  # launch templates per account and region
MAX_VERSIONS = 30  # "each launch template has at most 30 versions"
TEMPLATE_FILTERS = {"LaunchTemplateName", "tag-key", "tag-value"}


@dataclass(frozen=True)
class TemplateView:
    template_id: str
    name: str
    default_version: int
    latest_version: int
    version_count: int
    created_by: str
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateVersionView:
    template_id: str
    version: int
    description: str
    is_default: bool
    created_by: str
    created_at: datetime
    # the RunInstances parameters the version holds (``LaunchTemplateVersionData``)
    parameters: Mapping[str, Any]


def _check_text(value: str | None, low: int, high: int, error: type[errors.ApiError], what: str) -> str:
    value = value or ""
    if value and not low <= len(value) <= high:
        raise error(f"{what} must be {low}-{high} characters, got {len(value)}.")
    return value


class LaunchTemplateService:
    def __init__(self, db: Database):
        self.db = db

    # --- lookups -----------------------------------------------------------------------------------
    @staticmethod
    def _own(repo: Repo, identity: Identity, region: str, template_id: str, *, lock: bool = False) -> LaunchTemplate:
        if not is_id("lt", template_id):
            raise errors.InvalidParameterValueLaunchTemplateIdMalformed(
                f"The launch template ID `{template_id}` is malformed (expected lt-xxxxxxxx)."
            )
        row = TemplateRepo(repo).get(template_id, for_update=lock)
        if row is None or row.owner_uin != identity.uin or row.region != region:
            raise errors.InvalidParameterValueLaunchTemplateNotFound(
                f"The launch template `{template_id}` does not exist in {region}."
            )
        return row

    @staticmethod
    def _version(repo: Repo, row: LaunchTemplate, version: int | None) -> LaunchTemplateVersion:
        number = row.default_version if version is None else version
        if number < 1:
            raise errors.InvalidParameterValueLaunchTemplateVersion(f"A launch template version is ≥ 1, got {number}.")
        found = TemplateRepo(repo).version(row.template_id, number)
        if found is None:
            raise errors.InvalidParameterValueLaunchTemplateIdVerNotExisted(
                f"The launch template `{row.template_id}` has no version {number}."
            )
        return found

    def parameters(self, identity: Identity, region: str, template_id: str, version: int | None) -> dict[str, Any]:
        """The parameters of a version (the default one when ``version`` is None), for RunInstances."""
        with self.db.read() as repo:
            row = self._own(repo, identity, region, template_id)
            return json.loads(self._version(repo, row, version).data)

    # --- CreateLaunchTemplate / CreateLaunchTemplateVersion ----------------------------------------
    def create(self, identity: Identity, region: str, name: str, description: str | None, data: dict[str, Any],
               tags: dict[str, str], check: Callable[[], None]) -> str:
        """A new template with version 1 holding ``data``; ``check()`` runs RunInstances' checks on it."""
        _check_text(name, 2, 128, errors.InvalidParameterValueInvalidLaunchTemplateName, "LaunchTemplateName")
        if not name:
            raise errors.InvalidParameterValueInvalidLaunchTemplateName("LaunchTemplateName must be 2-128 characters.")
        description = _check_text(description, 2, 256, errors.InvalidParameterValueInvalidLaunchTemplateVersionDescription,
                                  "LaunchTemplateVersionDescription")
        check()
        now = utcnow()
        with self.db.write() as repo:
            repo.lock(f"launch-templates:{identity.uin}:{region}")
            templates = TemplateRepo(repo)
            if templates.count(identity.uin, region) >= MAX_TEMPLATES:
                raise errors.LimitExceededLaunchTemplateQuota(
                    f"At most {MAX_TEMPLATES} launch templates per region; delete one first."
                )
            template_id = new_id("lt")
            templates.add(LaunchTemplate(template_id=template_id, owner_uin=identity.uin, region=region, name=name,
                                         default_version=1, latest_version=1, created_at=now))
            templates.add(LaunchTemplateVersion(template_id=template_id, version=1, description=description,
                                                data=json.dumps(data), created_at=now))
            if tags:
                repo.set_tags(template_id, tags)
        return template_id

    def add_version(self, identity: Identity, region: str, template_id: str, description: str | None,
                    data: dict[str, Any], check: Callable[[], None]) -> int:
        description = _check_text(description, 2, 256, errors.InvalidParameterValueInvalidLaunchTemplateVersionDescription,
                                  "LaunchTemplateVersionDescription")
        check()
        with self.db.write() as repo:
            row = self._own(repo, identity, region, template_id, lock=True)
            templates = TemplateRepo(repo)
            if len(templates.versions(template_id)) >= MAX_VERSIONS:
                raise errors.LimitExceededLaunchTemplateVersionQuota(
                    f"The launch template `{template_id}` has {MAX_VERSIONS} versions, the most it may have."
                )
            row.latest_version += 1
            templates.add(LaunchTemplateVersion(template_id=template_id, version=row.latest_version,
                                                description=description, data=json.dumps(data), created_at=utcnow()))
            return row.latest_version

    # --- Describe* ---------------------------------------------------------------------------------
    def describe(self, identity: Identity, region: str, ids: list[str] | None, filters: list[dict] | None,
                 offset: int | None, limit: int | None) -> tuple[int, list[TemplateView]]:
        page = check_page(offset, limit)
        checked = check_filters(filters or [], TEMPLATE_FILTERS, "DescribeLaunchTemplates")
        for template_id in ids or []:
            if not is_id("lt", template_id):
                raise errors.InvalidParameterValueLaunchTemplateIdMalformed(
                    f"The launch template ID `{template_id}` is malformed (expected lt-xxxxxxxx)."
                )
        with self.db.read() as repo:
            templates = TemplateRepo(repo)
            rows = templates.of_owner(identity.uin, region, ids)
            tags = repo.tags_of([r.template_id for r in rows])
            counts = templates.version_counts([r.template_id for r in rows])
        views = [TemplateView(r.template_id, r.name, r.default_version, r.latest_version, counts.get(r.template_id, 0),
                              identity.uin, r.created_at, tags[r.template_id]) for r in rows]
        for name, values in checked:
            views = [v for v in views if (v.name in values if name == "LaunchTemplateName"
                                          else bool(tag_matches(v.tags, name, values)))]
        return len(views), page.of(views)

    def versions(self, identity: Identity, region: str, template_id: str, *, numbers: list[int] | None,
                 low: int | None, high: int | None, default_only: bool, offset: int | None,
                 limit: int | None) -> tuple[int, list[TemplateVersionView]]:
        if numbers and any(v is not None for v in (low, high, offset, limit)) or numbers and default_only:
            raise errors.InvalidParameterCombination(
                "LaunchTemplateVersions cannot be given with MinVersion, MaxVersion, Offset, Limit or DefaultVersion."
            )
        page = check_page(offset, limit)
        with self.db.read() as repo:
            row = self._own(repo, identity, region, template_id)
            if numbers:
                found = [self._version(repo, row, n) for n in dict.fromkeys(numbers)]
            else:
                found = [v for v in TemplateRepo(repo).versions(template_id)
                         if (low or 0) <= v.version <= (30 if high is None else high)
                         and (not default_only or v.version == row.default_version)]
            views = [TemplateVersionView(template_id, v.version, v.description, v.version == row.default_version,
                                         identity.uin, v.created_at, json.loads(v.data)) for v in found]
        return len(views), (views if numbers else page.of(views))

    # --- ModifyLaunchTemplateDefaultVersion / Delete* ----------------------------------------------
    def set_default(self, identity: Identity, region: str, template_id: str, version: int) -> None:
        with self.db.write() as repo:
            row = self._own(repo, identity, region, template_id, lock=True)
            self._version(repo, row, version)
            if row.default_version == version:
                raise errors.InvalidParameterValueLaunchTemplateIdVerSetAlready(
                    f"Version {version} is already the default of `{template_id}`."
                )
            row.default_version = version

    def delete_versions(self, identity: Identity, region: str, template_id: str, versions: list[int]) -> None:
        if not versions:
            raise errors.MissingParameter("LaunchTemplateVersions must name at least one version.")
        with self.db.write() as repo:
            row = self._own(repo, identity, region, template_id, lock=True)
            for number in versions:
                self._version(repo, row, number)
                if number == row.default_version:
                    raise errors.InvalidParameterValueLaunchTemplateDefaultVersion(
                        f"Version {number} is the default of `{template_id}`; make another the default first."
                    )
            TemplateRepo(repo).delete_versions(template_id, list(dict.fromkeys(versions)))

    def delete(self, identity: Identity, region: str, template_id: str) -> None:
        with self.db.write() as repo:
            self._own(repo, identity, region, template_id, lock=True)
            repo.delete_tags(template_id, list(repo.tags_of([template_id])[template_id]))
            TemplateRepo(repo).delete(template_id)
