"""Snapshot storage as CBS DescribeSnapshotOverview shows it, per account and region.

Custom images are stored as CBS snapshots and billed as snapshot storage: ``TotalSize`` is the GiB
actually stored (the data chunks of the account's snapshots and of the snapshots behind its custom
images, including its copies made by SyncImages into that region); ``FreeQuota`` is the free
allowance (50 GiB per mainland China region, none elsewhere); ``RealTradeSize`` what is billed.
An image shared with other accounts counts for its owner only: the recipients store nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...blobs import Manifest
from ...store.models import Image, ImageDisk, Snapshot

GIB = Decimal(1024**3)


@dataclass(frozen=True)
class SnapshotOverview:
    total_nums: int
    total_gib: Decimal
    free_gib: Decimal
    billed_gib: Decimal


def data_bytes(manifest_json: str | None) -> int:
    """The bytes of data a stored disk holds: every chunk that is not a hole."""
    if not manifest_json:
        return 0
    m = Manifest.from_json(manifest_json)
    return sum(m.chunk_length(i) for i, d in enumerate(m.chunks) if d is not None)


def stored(session: Session, owner_uin: str, region: str) -> tuple[int, int]:
    """(number of snapshots, bytes stored) for ``owner_uin`` in ``region``: its CBS snapshots and the
    disks of its custom images there (each snapshot counted once)."""
    seen: set[str] = set()
    total = 0
    for sid, manifest in session.execute(
            select(Snapshot.snapshot_id, Snapshot.manifest).where(Snapshot.owner_uin == owner_uin, Snapshot.region == region)):
        seen.add(sid)
        total += data_bytes(manifest)
    q = (select(ImageDisk.snapshot_id, ImageDisk.manifest).join(Image, Image.image_id == ImageDisk.image_id)
         .where(Image.owner_uin == owner_uin, Image.region == region, Image.kind == "PRIVATE"))
    for sid, manifest in session.execute(q):
        if sid in seen:
            continue
        seen.add(sid)
        total += data_bytes(manifest)
    return len(seen), total


def free_quota(mainland: bool, free_gib: float) -> Decimal:
    return Decimal(str(free_gib)) if mainland else Decimal(0)


def overview(session: Session, owner_uin: str, region: str, mainland: bool, free_gib: float) -> SnapshotOverview:
    nums, size = stored(session, owner_uin, region)
    total = (Decimal(size) / GIB).quantize(Decimal("0.000001"))
    free = free_quota(mainland, free_gib)
    return SnapshotOverview(nums, total, free, max(Decimal(0), total - free))
