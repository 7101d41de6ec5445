"""Tables of launch templates, auto-snapshot policies and snapshot copies (issue 24)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class LaunchTemplate(Base):
    """An instance launch template of an account in a region; its versions hold the parameters."""

    __tablename__ = "launch_templates"

    template_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    default_version: Mapped[int] = mapped_column(Integer, default=1)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LaunchTemplateVersion(Base):
    """One version of a launch template: the RunInstances parameters it holds (JSON)."""

    __tablename__ = "launch_template_versions"

    template_id: Mapped[str] = mapped_column(ForeignKey("launch_templates.template_id", ondelete="CASCADE"),
                                             primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String(256), default="")
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SnapshotTerms(Base):
    """What CBS keeps of a snapshot beside its bytes: its retention (IsPermanent, DeadlineTime) and the
    auto-snapshot policy that took it. No row: a permanent snapshot taken by hand."""

    __tablename__ = "snapshot_terms"

    snapshot_id: Mapped[str] = mapped_column(ForeignKey("snapshots.snapshot_id", ondelete="CASCADE"), primary_key=True)
    permanent: Mapped[bool] = mapped_column(Boolean, default=True)
    deadline: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    policy_id: Mapped[str] = mapped_column(String(16), default="", index=True)
    # a copy made by CopySnapshotCrossRegions: the snapshot it copies and that snapshot's region
    copy_source: Mapped[str] = mapped_column(String(16), default="", index=True)
    copy_source_region: Mapped[str] = mapped_column(String(32), default="")


class DiskTerms(Base):
    """A CBS disk's project (ModifyDiskAttributes ProjectId). No row: project 0."""

    __tablename__ = "disk_terms"

    disk_id: Mapped[str] = mapped_column(ForeignKey("disks.disk_id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger, default=0)


class AutoSnapshotPolicy(Base):
    """A CBS auto-snapshot policy: when it takes snapshots of its disks and how long they stay.
    ``last_slot`` is the last scheduled time it took (written with that slot's snapshots)."""

    __tablename__ = "auto_snapshot_policies"

    policy_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    activated: Mapped[bool] = mapped_column(Boolean, default=True)
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=7)
    schedule: Mapped[str] = mapped_column(Text)  # JSON: the API's Policy list
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_slot: Mapped[datetime] = mapped_column(DateTime)


class AutoSnapshotBinding(Base):
    """A disk bound to an auto-snapshot policy."""

    __tablename__ = "auto_snapshot_bindings"

    policy_id: Mapped[str] = mapped_column(ForeignKey("auto_snapshot_policies.policy_id", ondelete="CASCADE"),
                                           primary_key=True)
    disk_id: Mapped[str] = mapped_column(ForeignKey("disks.disk_id", ondelete="CASCADE"), primary_key=True, index=True)
    bound_at: Mapped[datetime] = mapped_column(DateTime)


class SnapshotShare(Base):
    """A CBS snapshot shared with another account (ModifySnapshotsSharePermission), in its region."""

    __tablename__ = "snapshot_shares"

    snapshot_id: Mapped[str] = mapped_column(ForeignKey("snapshots.snapshot_id", ondelete="CASCADE"), primary_key=True)
    account_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
