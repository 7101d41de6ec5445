"""Queries of launch templates, auto-snapshot policies and snapshot copies (issue 24)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from .models_core import LaunchTemplate, LaunchTemplateVersion
from .repo import Repo


class TemplateRepo:
    """Launch templates and their versions, over a ``Repo``'s session."""

    def __init__(self, repo: Repo):
        self.session = repo.session

    def get(self, template_id: str, *, for_update: bool = False) -> LaunchTemplate | None:
        query = select(LaunchTemplate).where(LaunchTemplate.template_id == template_id)
        return self.session.scalar(query.with_for_update() if for_update else query)

    def of_owner(self, uin: str, region: str, ids: list[str] | None = None) -> list[LaunchTemplate]:
        query = select(LaunchTemplate).where(LaunchTemplate.owner_uin == uin, LaunchTemplate.region == region)
        if ids:
            query = query.where(LaunchTemplate.template_id.in_(ids))
        return list(self.session.scalars(query.order_by(LaunchTemplate.created_at, LaunchTemplate.template_id)))

    def count(self, uin: str, region: str) -> int:
        return int(self.session.scalar(select(func.count()).select_from(LaunchTemplate).where(
            LaunchTemplate.owner_uin == uin, LaunchTemplate.region == region)) or 0)

    def versions(self, template_id: str) -> list[LaunchTemplateVersion]:
        return list(self.session.scalars(select(LaunchTemplateVersion).where(
            LaunchTemplateVersion.template_id == template_id).order_by(LaunchTemplateVersion.version)))

    def version_counts(self, template_ids: list[str]) -> dict[str, int]:
        if not template_ids:
            return {}
        rows = self.session.execute(select(LaunchTemplateVersion.template_id, func.count()).where(
            LaunchTemplateVersion.template_id.in_(template_ids)).group_by(LaunchTemplateVersion.template_id))
        return {template_id: int(n) for template_id, n in rows}

    def version(self, template_id: str, version: int) -> LaunchTemplateVersion | None:
        return self.session.get(LaunchTemplateVersion, (template_id, version))

    def add(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def delete_versions(self, template_id: str, versions: list[int]) -> None:
        self.session.execute(delete(LaunchTemplateVersion).where(
            LaunchTemplateVersion.template_id == template_id, LaunchTemplateVersion.version.in_(versions)))
        self.session.flush()

    def delete(self, template_id: str) -> None:
        self.session.execute(delete(LaunchTemplateVersion).where(LaunchTemplateVersion.template_id == template_id))
        self.session.execute(delete(LaunchTemplate).where(LaunchTemplate.template_id == template_id))
        self.session.flush()
