"""CBS snapshots: chunk manifests of a disk in the region's store, captured by a job through the
driver's ``frozen_disk`` (a consistent view of an attached disk)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
import time

from ...blobs import Manifest
from ...hypervisor.driver import InvalidDisk, VmNotFound
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Image, Snapshot
from ...store.repo import Repo, utcnow
from ...store.repo_core import ShareRepo, TermsRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..instances import lifecycle
from ..names import check_display_name
from ..query import check_describe, match_all, require_ids
from .views import SNAPSHOT_FILTERS, BoundImage, SnapshotView, snapshot_matches


class SnapshotOps:
    """The snapshot actions of ``DiskService``."""

    def own_snapshot(self, repo: Repo, identity: Identity, region: str, snapshot_id: str) -> Snapshot:
        snap = repo.get_snapshot(snapshot_id, for_update=True) if is_id("snap", snapshot_id) else None
        if snap is None or snap.owner_uin != identity.uin or snap.region != region:
            raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{snapshot_id}` does not exist in {region}.")
        return snap

    def create_snapshot(self, identity: Identity, region: str, disk_id: str | None, name: str | None = None,
                        tags: dict[str, str] | None = None) -> str:
        if not disk_id:
            raise errors.MissingParameter("The request is missing the required parameter `DiskId`.")
        name = check_display_name("SnapshotName", name)
        with self.db.write() as repo:
            snapshot_id = self.add_snapshot(repo, self.own(repo, identity, region, disk_id), name, tags)
        self.notify()
        return snapshot_id

    def add_snapshot(self, repo: Repo, d, name: str | None, tags: dict[str, str] | None = None, *,
                     created_at=None) -> str:
        """A new CREATING snapshot of the disk ``d`` and its ``snapshot_create`` job, in ``repo``'s
        transaction (CreateSnapshot, and the auto-snapshot scheduler with its own slot's time)."""
        if d.state not in ("ATTACHED", "UNATTACHED"):
            raise errors.InvalidDiskBusy(f"The disk `{d.disk_id}` is {d.state}.")
        inst = repo.get_instance(d.instance_id) if d.instance_id else None
        if inst is not None and inst.state != "STOPPED" and not self.driver.supports_live_snapshot:
            raise errors.instance_state_error(
                inst.state, inst.instance_id, "CreateSnapshot (this hypervisor snapshots disks of stopped instances only)")
        snapshot_id = new_id("snap")
        repo.add(Snapshot(snapshot_id=snapshot_id, owner_uin=d.owner_uin, region=d.region, zone=d.zone,
                          disk_id=d.disk_id, usage=d.usage, size_gib=d.size_gib,
                          name=name or snapshot_id, state="CREATING", percent=0, manifest=None,
                          created_at=created_at or utcnow()))
        if tags:
            repo.set_tags(snapshot_id, tags)
        enqueue(repo, "snapshot_create", snapshot_id, {"region": d.region, "disk_id": d.disk_id}, owner_uin=d.owner_uin)
        return snapshot_id

    def run_snapshot(self, handle: JobHandle) -> None:
        p = handle.payload
        work = self.blobs.work_dir(handle.view.job_id)
        try:
            manifest = self._capture(handle, p["region"], p["disk_id"], work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

        def apply(repo: Repo):
            snap = repo.get_snapshot(handle.view.resource_id)
            if snap is not None:
                snap.manifest, snap.state, snap.percent = manifest.to_json(), "NORMAL", 100

        handle.finish(True, "", apply)

    def _capture(self, handle: JobHandle, region: str, disk_id: str, work) -> Manifest:
        """The disk's chunks, read where the disk is when the job runs. A snapshot is of the disk, not
        of its attachment: a disk attached or detached after CreateSnapshot was accepted is captured
        where it went (the placement is read again when the driver no longer has it)."""
        placement, failure, misses = None, None, 0
        for _ in range(200):
            with self.db.read() as repo:
                disk = repo.get_disk(disk_id)
                if disk is None:
                    raise errors.InvalidDiskIdNotFound(f"The disk `{disk_id}` is gone.")
                source = self.instances.base_source(repo, disk)
                inst = repo.get_instance(disk.instance_id) if disk.instance_id and disk.position == 0 else None
                os_facts = self.instances.os_facts(repo, inst) if inst is not None else None
                moving = disk.state in ("ATTACHING", "DETACHING")
                moved, placement = placement != (disk.instance_id, disk.position), (disk.instance_id, disk.position)
            if moving or moved:  # the disk went elsewhere since the last try: the driver's answer is stale
                failure, misses = None, 0
            if moving:  # an attach or detach is half done: capture once it has settled
                time.sleep(0.05)
                continue
            # a detach and re-attach at the same place can both happen between two reads; only a disk
            # the driver keeps lacking at a placement that stays put has really gone missing
            if failure is not None and misses >= 3:
                raise failure
            base = self.instances.source_manifest(source)
            try:
                with self.instances.frozen_disk(region, disk_id, *placement):
                    manifest = self.volumes.capture(region, disk_id, work, base=base,
                                                    progress=lambda d, t: handle.progress(int(95 * d / max(t, 1))))
            except (InvalidDisk, VmNotFound) as exc:
                failure, misses = exc, misses + 1  # the disk may have moved since the read: read where it is now
                time.sleep(0.02 * misses)
                continue
            if os_facts:  # CreateImage from this snapshot describes the OS with these
                manifest.facts["os"] = os_facts
            return manifest
        raise errors.InvalidDiskBusy(f"The disk `{disk_id}` kept moving between instances; its snapshot was not taken.")

    def fail_snapshot(self, handle: JobHandle, exc: BaseException) -> None:
        def apply(repo: Repo):
            snap = repo.get_snapshot(handle.view.resource_id)
            if snap is not None:
                repo.delete_snapshot(snap.snapshot_id)

        handle.finish(False, lifecycle.failure_message(exc), apply)

    def describe_snapshots(self, identity: Identity, region: str, *, ids: list[str] | None,
                           filters: list[dict] | None, offset: int | None,
                           limit: int | None, visible: Callable[[str], bool] | None = None) -> tuple[int, list[SnapshotView]]:
        self.regions.get(region, product="cbs")
        query = check_describe("DescribeSnapshots", "SnapshotIds", ids, filters, SNAPSHOT_FILTERS, offset, limit)
        with self.db.read() as repo:
            rows = [s for s in repo.snapshots_of(identity.uin, region, ids) if visible is None or visible(s.snapshot_id)]
            # snapshots other accounts shared with the caller, as SHARED_SNAPSHOT
            theirs = [s for s in ShareRepo(repo).shared_with(identity.uin, region)
                      if (not ids or s.snapshot_id in ids) and (visible is None or visible(s.snapshot_id))]
            rows += theirs
            share_counts = ShareRepo(repo).counts([s.snapshot_id for s in rows])
            tags = repo.tags_of([s.snapshot_id for s in rows])
            bound = repo.images_of_snapshots([s.snapshot_id for s in rows])
            names = {i.image_id: i.name for i in repo.images_by_ids(sorted({x for v in bound.values() for x in v}))}
            terms = TermsRepo(repo).snapshot_terms([s.snapshot_id for s in rows])
            copying = TermsRepo(repo).copies_running([s.snapshot_id for s in rows])
            views = [SnapshotView.of(s, tags[s.snapshot_id],
                                     tuple(BoundImage(i, names.get(i, "")) for i in bound.get(s.snapshot_id, [])),
                                     terms.get(s.snapshot_id), copying_to=tuple(copying.get(s.snapshot_id, ())),
                                     shared_with=share_counts.get(s.snapshot_id, 0) if s.owner_uin == identity.uin else 0,
                                     shared=s.owner_uin != identity.uin)
                     for s in rows]
        found = match_all(views, query.filters, snapshot_matches)
        return len(found), query.page.of(found)

    def delete_snapshots(self, identity: Identity, region: str, snapshot_ids: list[str],
                         delete_bind_images: bool = False) -> None:
        require_ids("SnapshotIds", snapshot_ids)
        with self.db.write() as repo:
            if delete_bind_images:  # the images' rows before their snapshots' (DeleteImages' order)
                bound_now = repo.images_of_snapshots([s for s in snapshot_ids if is_id("snap", s)])
                repo.lock_all(Image, [i for ids in bound_now.values() for i in ids])
            repo.lock_all(Snapshot, snapshot_ids)
            snaps = [self.own_snapshot(repo, identity, region, s) for s in dict.fromkeys(snapshot_ids)]
            bound = repo.images_of_snapshots([s.snapshot_id for s in snaps])
            for s in snaps:
                if s.state == "CREATING":
                    raise errors.ResourceUnavailableSnapshotCreating(f"The snapshot `{s.snapshot_id}` is still being created.")
                if bound.get(s.snapshot_id) and not delete_bind_images:
                    raise errors.UnsupportedOperationSnapshotHasBindedImage(
                        f"The snapshot `{s.snapshot_id}` backs the image(s) {', '.join(bound[s.snapshot_id])}; "
                        "delete those images first or set DeleteBindImages."
                    )
            images = {i for s in snaps for i in bound.get(s.snapshot_id, [])}
            if images:  # DeleteBindImages: the images go too (their other snapshots stay)
                self.instances.images.delete(identity, region, sorted(images), repo=repo)
            for s in snaps:
                repo.delete_snapshot(s.snapshot_id)
