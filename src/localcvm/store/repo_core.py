"""Queries of launch templates, auto-snapshot policies and snapshot copies (issue 24)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from .models import Snapshot
from .models_core import (AutoSnapshotBinding, AutoSnapshotPolicy, DiskTerms, LaunchTemplate, LaunchTemplateVersion,
                          SnapshotShare, SnapshotTerms)
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


class TermsRepo:
    """Snapshot retention terms and disk projects, over a ``Repo``'s session."""

    def __init__(self, repo: Repo):
        self.session = repo.session

    def snapshot_terms(self, snapshot_ids: list[str]) -> dict[str, SnapshotTerms]:
        if not snapshot_ids:
            return {}
        rows = self.session.scalars(select(SnapshotTerms).where(SnapshotTerms.snapshot_id.in_(snapshot_ids)))
        return {t.snapshot_id: t for t in rows}

    def terms_for(self, snapshot_id: str) -> SnapshotTerms:
        """The snapshot's terms row (added, as permanent, when it has none)."""
        terms = self.session.get(SnapshotTerms, snapshot_id)
        if terms is None:
            terms = SnapshotTerms(snapshot_id=snapshot_id, permanent=True, deadline=None, policy_id="", copy_source="",
                                  copy_source_region="")
            self.session.add(terms)
            self.session.flush()
        return terms

    def copies_running(self, snapshot_ids: list[str]) -> dict[str, list[str]]:
        """``{source snapshot: [regions it is being copied to]}`` (copies still COPYING_FROM_REMOTE)."""
        out: dict[str, list[str]] = {}
        if snapshot_ids:
            rows = self.session.execute(select(SnapshotTerms.copy_source, Snapshot.region).join(
                Snapshot, Snapshot.snapshot_id == SnapshotTerms.snapshot_id).where(
                SnapshotTerms.copy_source.in_(snapshot_ids), Snapshot.state == "COPYING_FROM_REMOTE"))
            for source, region in rows:
                out.setdefault(source, []).append(region)
        return out

    def disk_projects(self, disk_ids: list[str]) -> dict[str, int]:
        if not disk_ids:
            return {}
        rows = self.session.scalars(select(DiskTerms).where(DiskTerms.disk_id.in_(disk_ids)))
        return {t.disk_id: t.project_id for t in rows}

    def set_disk_project(self, disk_id: str, project_id: int) -> None:
        terms = self.session.get(DiskTerms, disk_id)
        if terms is None:
            self.session.add(DiskTerms(disk_id=disk_id, project_id=project_id))
        else:
            terms.project_id = project_id
        self.session.flush()


class PolicyRepo:
    """Auto-snapshot policies, their disks and the snapshots they took, over a ``Repo``'s session."""

    def __init__(self, repo: Repo):
        self.session = repo.session

    def get(self, policy_id: str, *, for_update: bool = False) -> AutoSnapshotPolicy | None:
        query = select(AutoSnapshotPolicy).where(AutoSnapshotPolicy.policy_id == policy_id)
        return self.session.scalar(query.with_for_update() if for_update else query)

    def of_owner(self, uin: str, region: str) -> list[AutoSnapshotPolicy]:
        return list(self.session.scalars(select(AutoSnapshotPolicy).where(
            AutoSnapshotPolicy.owner_uin == uin, AutoSnapshotPolicy.region == region).order_by(
            AutoSnapshotPolicy.created_at, AutoSnapshotPolicy.policy_id)))

    def activated(self) -> list[AutoSnapshotPolicy]:
        return list(self.session.scalars(select(AutoSnapshotPolicy).where(AutoSnapshotPolicy.activated.is_(True))))

    def count(self, uin: str, region: str) -> int:
        return int(self.session.scalar(select(func.count()).select_from(AutoSnapshotPolicy).where(
            AutoSnapshotPolicy.owner_uin == uin, AutoSnapshotPolicy.region == region)) or 0)

    def add(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def disks_of(self, policy_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {p: [] for p in policy_ids}
        if policy_ids:
            rows = self.session.execute(select(AutoSnapshotBinding.policy_id, AutoSnapshotBinding.disk_id).where(
                AutoSnapshotBinding.policy_id.in_(policy_ids)).order_by(AutoSnapshotBinding.bound_at,
                                                                         AutoSnapshotBinding.disk_id))
            for policy_id, disk_id in rows:
                out[policy_id].append(disk_id)
        return out

    def policies_of_disks(self, disk_ids: list[str]) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        if disk_ids:
            rows = self.session.execute(select(AutoSnapshotBinding.disk_id, AutoSnapshotBinding.policy_id).where(
                AutoSnapshotBinding.disk_id.in_(disk_ids)).order_by(AutoSnapshotBinding.bound_at))
            for disk_id, policy_id in rows:
                out.setdefault(disk_id, []).append(policy_id)
        return {d: tuple(p) for d, p in out.items()}

    def bind(self, policy_id: str, disk_id: str, when) -> None:
        self.session.add(AutoSnapshotBinding(policy_id=policy_id, disk_id=disk_id, bound_at=when))
        self.session.flush()

    def unbind(self, policy_id: str, disk_ids: list[str]) -> None:
        if disk_ids:
            self.session.execute(delete(AutoSnapshotBinding).where(AutoSnapshotBinding.policy_id == policy_id,
                                                                    AutoSnapshotBinding.disk_id.in_(disk_ids)))
            self.session.flush()

    def delete(self, policy_id: str) -> None:
        self.session.execute(delete(AutoSnapshotBinding).where(AutoSnapshotBinding.policy_id == policy_id))
        self.session.execute(delete(AutoSnapshotPolicy).where(AutoSnapshotPolicy.policy_id == policy_id))
        self.session.flush()

    def snapshots_taken(self, policy_id: str, disk_id: str) -> list[tuple[str, str, object]]:
        """``(snapshot_id, state, created_at)`` of the snapshots the policy took of the disk, newest first."""
        rows = self.session.execute(select(Snapshot.snapshot_id, Snapshot.state, Snapshot.created_at).join(
            SnapshotTerms, SnapshotTerms.snapshot_id == Snapshot.snapshot_id).where(
            SnapshotTerms.policy_id == policy_id, Snapshot.disk_id == disk_id).order_by(
            Snapshot.created_at.desc(), Snapshot.snapshot_id.desc()))
        return [tuple(r) for r in rows]

    def expired_snapshots(self, now) -> list[str]:
        """Snapshots whose deadline has passed (non-permanent ones), NORMAL only."""
        return list(self.session.scalars(select(Snapshot.snapshot_id).join(
            SnapshotTerms, SnapshotTerms.snapshot_id == Snapshot.snapshot_id).where(
            SnapshotTerms.permanent.is_(False), SnapshotTerms.deadline.is_not(None), SnapshotTerms.deadline <= now,
            Snapshot.state == "NORMAL")))


class ShareRepo:
    """Snapshots shared with other accounts, over a ``Repo``'s session."""

    def __init__(self, repo: Repo):
        self.session = repo.session

    def shares_of(self, snapshot_id: str) -> list[SnapshotShare]:
        return list(self.session.scalars(select(SnapshotShare).where(SnapshotShare.snapshot_id == snapshot_id).order_by(
            SnapshotShare.created_at, SnapshotShare.account_uin)))

    def counts(self, snapshot_ids: list[str]) -> dict[str, int]:
        if not snapshot_ids:
            return {}
        rows = self.session.execute(select(SnapshotShare.snapshot_id, func.count()).where(
            SnapshotShare.snapshot_id.in_(snapshot_ids)).group_by(SnapshotShare.snapshot_id))
        return {snapshot_id: int(n) for snapshot_id, n in rows}

    def is_shared_with(self, snapshot_id: str, uin: str) -> bool:
        return self.session.get(SnapshotShare, (snapshot_id, uin)) is not None

    def shared_with(self, uin: str, region: str) -> list[Snapshot]:
        """Other accounts' snapshots shared with ``uin`` in ``region``."""
        return list(self.session.scalars(select(Snapshot).join(
            SnapshotShare, SnapshotShare.snapshot_id == Snapshot.snapshot_id).where(
            SnapshotShare.account_uin == uin, Snapshot.region == region).order_by(Snapshot.created_at.desc())))

    def add(self, snapshot_id: str, uin: str, when) -> None:
        self.session.add(SnapshotShare(snapshot_id=snapshot_id, account_uin=uin, created_at=when))
        self.session.flush()

    def delete(self, snapshot_id: str, uins: list[str]) -> None:
        if uins:
            self.session.execute(delete(SnapshotShare).where(SnapshotShare.snapshot_id == snapshot_id,
                                                             SnapshotShare.account_uin.in_(uins)))
            self.session.flush()
