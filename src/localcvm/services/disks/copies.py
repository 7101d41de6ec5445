"""CopySnapshotCrossRegions: durable, resumable, deduplicated snapshot copies to other regions.

As the CBS API documents it, the call answers at once with a new snapshot ID per destination region;
the copy shows ``COPYING_FROM_REMOTE`` there (``CopyFromRemote``) until it is ``NORMAL``, and the
source lists the regions in ``CopyingToRegions`` meanwhile. Each copy is a ``snapshot_copy`` job over
the copy engine SyncImages uses (``services.images.sync.copy_paced`` → ``blobs.copy_missing_chunks``):
only the chunks the destination region lacks are written, one write in flight, so a job killed with
SIGKILL re-copies at most one chunk when it resumes (the kind allows 100 attempts: a restart is not a
failure). The copy's manifest is the source's; it is written in the transaction that turns it NORMAL.
A source deleted meanwhile fails the copy, which then goes (its partial chunks are unreferenced).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ...blobs import Manifest
from ...blobs.registry import BlobRegistry
from ...blobs.transfer import CopyTrace
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Snapshot
from ...store.repo import Repo, utcnow
from ...store.repo_core import TermsRepo
from .. import errors
from ..ids import new_id
from ..iam import Identity
from ..images.sync import REAL_MAX_SECONDS, REAL_MIN_SECONDS, copy_paced
from ..instances import lifecycle

COPYING = "COPYING_FROM_REMOTE"


@dataclass(frozen=True)
class SnapshotCopy:
    """One destination of CopySnapshotCrossRegions: the new snapshot and its region."""

    snapshot_id: str
    region: str


class SnapshotCopier:
    def __init__(self, disks, blobs: BlobRegistry):
        self.disks = disks  # DiskService
        self.db = disks.db
        self.regions = disks.regions
        self.blobs = blobs
        self.settings = blobs.settings

    def request(self, identity: Identity, region: str, snapshot_id: str | None, destinations: list[str],
                name: str | None = None) -> list[SnapshotCopy]:
        self.regions.get(region, product="cbs")
        if not snapshot_id:
            raise errors.MissingParameter("The request is missing the parameter `SnapshotId`.")
        wanted = list(dict.fromkeys(destinations))
        if not wanted:
            raise errors.MissingParameter("The request is missing the required parameter `DestinationRegions`.")
        for d in wanted:
            r = self.regions.find(d)
            if r is None or r.state != "AVAILABLE":
                raise errors.InvalidParameterValue(f"The destination region `{d}` does not exist or is not available.")
            if d == region:
                raise errors.InvalidParameterValue(f"`{d}` is the snapshot's own region; copies go to other regions.")
        if name is not None and len(name) > 60:
            raise errors.InvalidParameterValue("SnapshotName must be at most 60 characters.")
        made = []
        with self.db.write() as repo:
            snap = self.disks.own_snapshot(repo, identity, region, snapshot_id)
            if snap.state != "NORMAL":
                raise errors.InvalidSnapshotNotSupported(f"The snapshot `{snapshot_id}` is {snap.state}, not NORMAL.")
            repo.lock(f"snapshot-copies:{snapshot_id}")
            running = TermsRepo(repo).copies_running([snapshot_id]).get(snapshot_id, [])
            clash = [d for d in wanted if d in running]
            if clash:
                raise errors.ResourceInUseCopySnapshotConflict(
                    f"The snapshot `{snapshot_id}` is already being copied to {', '.join(clash)}."
                )
            for d in wanted:
                made.append(self._add_copy(repo, identity, snap, d, name or f"Copied {snapshot_id} from {region}"))
        self.disks.notify()
        return made

    def _add_copy(self, repo: Repo, identity: Identity, snap: Snapshot, region: str, name: str) -> SnapshotCopy:
        copy_id = new_id("snap")
        zone = self.regions.get(region, product="cbs").zones[0].zone
        repo.add(Snapshot(snapshot_id=copy_id, owner_uin=identity.uin, region=region, zone=zone, disk_id=snap.disk_id,
                          usage=snap.usage, size_gib=snap.size_gib, name=name, state=COPYING, percent=0, manifest=None,
                          created_at=utcnow()))
        terms = TermsRepo(repo).terms_for(copy_id)
        terms.copy_source, terms.copy_source_region = snap.snapshot_id, snap.region
        enqueue(repo, "snapshot_copy", copy_id, {"source": snap.snapshot_id, "source_region": snap.region,
                                                 "region": region}, owner_uin=identity.uin)
        return SnapshotCopy(copy_id, region)

    # --- the snapshot_copy job -------------------------------------------------------------------------
    def run(self, handle: JobHandle) -> None:
        p = handle.payload
        copy_id = handle.view.resource_id
        checkpoint = dict(handle.checkpoint)
        if "started" not in checkpoint:  # the real copy's pace, scaled by time_scale (0: no added delay)
            duration = self.settings.time_scale * random.uniform(REAL_MIN_SECONDS, REAL_MAX_SECONDS)
            checkpoint = {"started": time.time(), "duration": duration}
            handle.progress(0, checkpoint)
        with self.db.read() as repo:
            copy, source = repo.get_snapshot(copy_id), repo.get_snapshot(p["source"])
            manifest = source.manifest if source is not None and source.state == "NORMAL" else None
        if copy is None or copy.state != COPYING:
            handle.finish(False, "the copy is gone")
            return
        if manifest is None:
            raise errors.InvalidSnapshotIdNotFound(f"The source snapshot `{p['source']}` was deleted during the copy.")
        def report(fraction: float) -> None:
            def apply(repo: Repo):
                if repo.get_snapshot(p["source"]) is None:
                    raise errors.InvalidSnapshotIdNotFound(f"The source snapshot `{p['source']}` was deleted during the copy.")
                row = repo.get_snapshot(copy_id)
                if row is not None:
                    row.percent = pct

            pct = int(99 * max(0.0, min(1.0, fraction)))
            handle.progress(pct, None, apply)

        copy_paced(self.blobs.store(p["source_region"]), self.blobs.store(p["region"]), [Manifest.from_json(manifest)],
                   started=checkpoint["started"], duration=checkpoint["duration"], report=report,
                   trace=CopyTrace(self.settings.sync_trace, handle.view.job_id, handle.view.attempts),
                   zero_copy=self.settings.zero_copy)

        def finish(repo: Repo):
            row = repo.get_snapshot(copy_id)
            if row is not None and row.state == COPYING:
                row.manifest, row.state, row.percent = manifest, "NORMAL", 100

        handle.finish(True, "", finish)

    def fail(self, handle: JobHandle, exc: BaseException) -> None:
        def apply(repo: Repo):
            row = repo.get_snapshot(handle.view.resource_id)
            if row is not None and row.state == COPYING:
                repo.delete_snapshot(row.snapshot_id)

        handle.finish(False, lifecycle.failure_message(exc), apply)
