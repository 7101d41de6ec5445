"""CBS snapshot sharing: ModifySnapshotsSharePermission, DescribeSnapshotSharePermission.

The rules are image sharing's (``services.images.share``: ``share_accounts``, ``check_accounts``,
``check_new_shares``), with the CBS API's codes, and what the CBS API documents for snapshots: at
most 50 accounts per snapshot, in its own region only, data-disk snapshots only; the accounts it is
shared with may only create disks from it (CreateDisks ``SnapshotId``), and see it in
DescribeSnapshots as ``SHARED_SNAPSHOT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...store.models import Snapshot
from ...store.repo import Repo, utcnow
from ...store.repo_core import ShareRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id
from ..images.share import ShareCodes, check_accounts, check_new_shares, share_accounts
from ..query import require_ids

CBS_CODES = ShareCodes(self_share=errors.InvalidParameter, no_account=errors.InvalidParameter,
                       already=errors.InvalidParameter, over_quota=errors.ResourceInsufficientOverQuota)


@dataclass(frozen=True)
class SnapshotShareView:
    account_id: str
    created_at: datetime


class SnapshotSharing:
    def __init__(self, disks, limit: int = 50):
        self.disks = disks  # DiskService
        self.db = disks.db
        self.limit = limit

    def modify(self, identity: Identity, region: str, snapshot_ids: list[str], account_ids: list[str],
               permission: str) -> None:
        require_ids("SnapshotIds", snapshot_ids)
        accounts = share_accounts(permission, account_ids)
        with self.db.write() as repo:
            repo.lock_all(Snapshot, snapshot_ids)
            snaps = [self.disks.own_snapshot(repo, identity, region, s) for s in dict.fromkeys(snapshot_ids)]
            for snap in snaps:
                what = f"The snapshot `{snap.snapshot_id}`"
                check_accounts(repo, identity, what, accounts, CBS_CODES)
                if permission == "SHARE" and snap.state != "NORMAL":
                    raise errors.InvalidSnapshotNotSupported(f"{what} is {snap.state}; only NORMAL snapshots are shared.")
                if permission == "SHARE" and snap.usage != "DATA_DISK":
                    raise errors.InvalidSnapshotNotSupported(f"{what} is of a system disk; only data-disk snapshots are shared.")
            shares, now = ShareRepo(repo), utcnow()
            for snap in snaps:
                repo.lock(f"snapshot-shares:{snap.snapshot_id}")
                shared = {s.account_uin for s in shares.shares_of(snap.snapshot_id)}
                if permission == "CANCEL":
                    shares.delete(snap.snapshot_id, [u for u in accounts if u in shared])
                    continue
                for uin in check_new_shares(f"The snapshot `{snap.snapshot_id}`", accounts, shared, self.limit, CBS_CODES):
                    shares.add(snap.snapshot_id, uin, now)

    def describe(self, identity: Identity, region: str, snapshot_id: str) -> list[SnapshotShareView]:
        with self.db.read() as repo:
            snap = self.disks.own_snapshot(repo, identity, region, snapshot_id)
            return [SnapshotShareView(s.account_uin, s.created_at) for s in ShareRepo(repo).shares_of(snap.snapshot_id)]

    @staticmethod
    def usable(repo: Repo, identity: Identity, region: str, snapshot_id: str):
        """A snapshot the caller may create a disk from: its own, or one shared with it (None: neither)."""
        snap = repo.get_snapshot(snapshot_id) if is_id("snap", snapshot_id) else None
        if snap is None or snap.region != region:
            return None
        if snap.owner_uin == identity.uin or ShareRepo(repo).is_shared_with(snapshot_id, identity.uin):
            return snap
        return None
