"""What DescribeDisks and DescribeSnapshots show (decoded fields, no ORM rows) and their Filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ...store.models import Disk, Snapshot
from ..query import tag_matches

DISK_FILTERS = {"disk-usage", "disk-charge-type", "portable", "project-id", "disk-id", "disk-name", "disk-type",
                "disk-state", "instance-id", "zone", "instance-ip-address", "instance-name", "tag-key", "tag-value",
                "return-flag", "creation-start-time"}
SNAPSHOT_FILTERS = {"snapshot-id", "snapshot-name", "snapshot-state", "disk-usage", "project-id", "disk-id", "zone",
                    "encrypt", "snapshot-type", "tag-key", "tag-value"}


@dataclass(frozen=True)
class DiskView:
    disk_id: str
    usage: str
    charge_type: str
    zone: str
    name: str
    size_gib: int
    state: str
    disk_type: str
    instance_id: str | None
    delete_with_instance: bool
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    project_id: int = 0
    policy_ids: tuple[str, ...] = ()  # the auto-snapshot policies bound to it

    @classmethod
    def of(cls, d: Disk, tags: dict | None = None, *, project_id: int = 0, policy_ids: tuple[str, ...] = ()) -> DiskView:
        return cls(d.disk_id, d.usage, d.charge_type, d.zone, d.name, d.size_gib, d.state, d.disk_type,
                   d.instance_id, d.delete_with_instance, d.created_at, dict(tags or {}), project_id, policy_ids)


@dataclass(frozen=True)
class BoundImage:
    image_id: str
    name: str


@dataclass(frozen=True)
class SnapshotView:
    snapshot_id: str
    zone: str
    usage: str
    disk_id: str
    size_gib: int
    state: str
    name: str
    percent: int
    created_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    images: tuple[BoundImage, ...] = ()
    permanent: bool = True
    deadline: datetime | None = None
    policy_id: str = ""  # the auto-snapshot policy that took it
    copy_from_remote: bool = False  # a CopySnapshotCrossRegions copy
    copying_to: tuple[str, ...] = ()  # regions it is being copied to
    shared_with: int = 0  # accounts it is shared with
    snapshot_type: str = "PRIVATE_SNAPSHOT"  # SHARED_SNAPSHOT: another account's, shared with the caller

    @classmethod
    def of(cls, s: Snapshot, tags: dict | None = None, images: tuple[BoundImage, ...] = (), terms=None, *,
           copying_to: tuple[str, ...] = (), shared_with: int = 0, shared: bool = False) -> SnapshotView:
        """``terms``: the snapshot's retention row (``SnapshotTerms``), if it has one."""
        return cls(s.snapshot_id, s.zone, s.usage, s.disk_id, s.size_gib, s.state, s.name, s.percent, s.created_at,
                   dict(tags or {}), images, terms.permanent if terms else True, terms.deadline if terms else None,
                   terms.policy_id if terms else "", bool(terms and terms.copy_source), copying_to, shared_with,
                   "SHARED_SNAPSHOT" if shared else "PRIVATE_SNAPSHOT")


def disk_matches(v: DiskView, name: str, values: list[str]) -> bool:
    simple = {"disk-usage": v.usage, "disk-charge-type": v.charge_type, "disk-id": v.disk_id, "disk-type": v.disk_type,
              "disk-state": v.state, "instance-id": v.instance_id or "", "zone": v.zone,
              "portable": "FALSE" if v.usage == "SYSTEM_DISK" else "TRUE", "project-id": str(v.project_id)}
    if name in simple:
        return simple[name] in values
    if name == "disk-name":
        return any(x in v.name for x in values)
    return bool(tag_matches(v.tags, name, values))


def snapshot_matches(v: SnapshotView, name: str, values: list[str]) -> bool:
    simple = {"snapshot-id": v.snapshot_id, "snapshot-state": v.state, "disk-usage": v.usage, "disk-id": v.disk_id,
              "zone": v.zone, "encrypt": "FALSE", "snapshot-type": v.snapshot_type, "project-id": "0"}
    if name in simple:
        return simple[name] in values
    if name == "snapshot-name":
        return any(x in v.name for x in values)
    return bool(tag_matches(v.tags, name, values))
