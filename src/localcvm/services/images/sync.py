"""SyncImages: copying images as durable, resumable chunk copies.

* A custom image copies to *other* regions of the same account; an image shared
  with the caller copies only into its own region, as a custom image of the
  caller. The real SyncImages copies one image per call; here there is one
  destination image and one ``sync_image`` job per destination region, created
  in one transaction with the quota and name checks of each destination.
* Copies between mainland China and elsewhere are refused unless an operator
  allowed them for the account (``localcvm accounts allow-cross-border``).
* The job copies the chunks the destination region's namespace lacks (dedup),
  verifying every hash, one chunk write in flight at a time (reads run ahead),
  so a copy killed with SIGKILL re-copies at most one chunk when it resumes.
  The destination image's manifests are written last, in the transaction that
  turns it NORMAL. A source image deleted meanwhile fails the copy cleanly
  (``CREATEFAILED``); its partial chunks are then unreferenced and GC-able.
* ``time_scale`` stretches every copy to at least ``time_scale`` x 10-30 min
  (the real service's duration), with the chunk copy paced over that time so
  ``SyncPercent`` advances smoothly.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from ...blobs import Manifest
from ...blobs.registry import BlobRegistry
from ...blobs.transfer import CopyTrace, copy_missing_chunks
from ...imaging.volumes import Volumes
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Image, ImageDisk
from ...store.repo import Repo, utcnow
from .. import errors
from ..errors import SyncFailed
from ..iam import Identity
from ..ids import new_id
from ..regions import Region
from . import lifecycle
from .rules import ImageAccess, check_image_id, check_name, not_found

REAL_MIN_SECONDS = 10 * 60
REAL_MAX_SECONDS = 30 * 60


@dataclass(frozen=True)
class SyncImagesRequest:
    """SyncImages' parameters."""

    image_ids: tuple[str, ...]
    destination_regions: tuple[str, ...]
    image_name: str | None = None
    encrypt: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class ImageRegion:
    """A copy SyncImages started: the new image and its region."""

    image_id: str
    region: str


class ImageCopier:
    """SyncImages and the ``sync_image`` job."""

    def __init__(self, access: ImageAccess, blobs: BlobRegistry, volumes: Volumes):
        self.access = access
        self.settings = access.settings
        self.blobs = blobs
        self.volumes = volumes

    # --- SyncImages -----------------------------------------------------------------------------
    def request(self, identity: Identity, region: str, req: SyncImagesRequest) -> list[ImageRegion]:
        src_region = self.access.regions.get(region)
        image_id, destinations, dest_regions = self._check_request(req)
        name = check_name(req.image_name) if req.image_name is not None else None
        created: list[ImageRegion] = []
        with self.access.db.write() as repo:
            row, own = self._source(repo, identity, region, image_id)
            if own and region in destinations:
                raise errors.InvalidParameterValueInvalidRegion(
                    f"A custom image copies to other regions only; `{region}` is the image's own region."
                )
            if not own and destinations != [region]:
                raise errors.InvalidParameterValueInvalidRegion(
                    f"The image `{image_id}` is shared with this account: it can only be copied into its own region "
                    f"`{region}` (DestinationRegions=[\"{region}\"])."
                )
            account = repo.get_account(identity.uin)
            for r in dest_regions:
                if r.mainland != src_region.mainland and not (account is not None and account.cross_border):
                    raise errors.UnsupportedOperationRegion(
                        f"Copying an image between mainland China and other regions ({region} -> {r.region}) needs "
                        "an operator's permission (localcvm accounts allow-cross-border)."
                    )
            new_name = name or row.name
            # lock destination regions in a fixed order (no deadlock between concurrent multi-region copies)
            for d in sorted(destinations):
                self.access.reserve_custom_image(repo, identity, d, new_name)
            if req.dry_run:
                raise errors.DryRunOperation("The image can be copied; DryRun is set, so nothing was copied.")
            disks = repo.image_disks(image_id)
            for d in destinations:
                created.append(self._add_copy(repo, identity, row, disks, d, new_name))
        self.access.notify()
        return created

    def _check_request(self, req: SyncImagesRequest) -> tuple[str, list[str], list[Region]]:
        image_ids = list(dict.fromkeys(req.image_ids))
        if not image_ids:
            raise errors.MissingParameter("The request is missing the required parameter `ImageIds`.")
        if len(image_ids) > 1:
            raise errors.InvalidParameterValueLimitExceeded(
                f"SyncImages copies one image per call; got {len(image_ids)} ImageIds."
            )
        image_id = check_image_id(image_ids[0])
        if req.encrypt:
            raise errors.UnsupportedOperationSyncEncryptImageNotSupport(
                "Copying an image as an encrypted custom image (Encrypt/KmsKeyId) is not supported."
            )
        destinations = list(dict.fromkeys(req.destination_regions))
        if not destinations:
            raise errors.MissingParameter("The request is missing the required parameter `DestinationRegions`.")
        dest_regions = []
        for d in destinations:
            r = self.access.regions.find(d)
            if r is None or r.state != "AVAILABLE":
                raise errors.InvalidParameterValueInvalidRegion(
                    f"The destination region `{d}` does not exist or is not available; DescribeRegions lists them."
                )
            dest_regions.append(r)
        return image_id, destinations, dest_regions

    def _source(self, repo: Repo, identity: Identity, region: str, image_id: str) -> tuple[Image, bool]:
        """The image to copy and whether it is the caller's own (else it is shared with the caller)."""
        row = repo.get_image(image_id)
        own = row is not None and row.region == region and row.owner_uin == identity.uin
        shared = (row is not None and row.region == region and not own
                  and repo.is_shared_with(image_id, identity.uin))
        if not (own or shared):
            if image_id in self.access.catalogue:
                raise errors.UnauthorizedOperationImageNotBelongToAccount(
                    f"The image `{image_id}` is a public or marketplace image; only custom and shared images can be copied."
                )
            raise not_found(image_id, region)
        lifecycle.check_normal(row)
        return row, own

    @staticmethod
    def _add_copy(repo: Repo, identity: Identity, row: Image, disks: list[ImageDisk], region: str,
                  name: str) -> ImageRegion:
        """The SYNCING destination image in ``region``, its disks and its job."""
        new_image = new_id("img")
        repo.add(Image(
            image_id=new_image, region=region, owner_uin=identity.uin, kind="PRIVATE", source=row.source,
            name=name, description=row.description, os_name=row.os_name, platform=row.platform,
            os_type=row.os_type, architecture=row.architecture, size_gib=row.size_gib, state=lifecycle.SYNCING,
            sync_percent=0, cloudinit=row.cloudinit, license_type=row.license_type, boot_mode=row.boot_mode,
            family=row.family, deprecated=False, creator=identity.uin, price_hourly=0.0, provider="", error="",
            created_at=utcnow(), sync_source=row.image_id, sync_source_region=row.region,
        ))
        for disk in disks:
            repo.add(ImageDisk(image_id=new_image, index=disk.index, snapshot_id=new_id("snap"),
                               virtual_size=disk.virtual_size, manifest=None))
        enqueue(repo, "sync_image", new_image, {"source": row.image_id, "source_region": row.region, "region": region},
                owner_uin=identity.uin)
        return ImageRegion(new_image, region)

    # --- the sync_image job -------------------------------------------------------------------------
    def run(self, handle: JobHandle) -> None:
        p = handle.payload
        image_id = handle.view.resource_id
        checkpoint = dict(handle.checkpoint)
        if "started" not in checkpoint:
            # the real service takes 10-30 minutes; time_scale compresses it (0 = no added delay)
            duration = self.settings.time_scale * random.uniform(REAL_MIN_SECONDS, REAL_MAX_SECONDS)
            checkpoint = {"started": time.time(), "duration": duration}
            handle.progress(0, checkpoint)
        with self.access.db.read() as repo:
            source = repo.get_image(p["source"])
            disks = repo.image_disks(p["source"]) if source is not None and source.state == lifecycle.NORMAL else None
            dest = repo.get_image(image_id)
        if dest is None or dest.state != lifecycle.SYNCING:
            handle.finish(False, "the destination image is gone")
            return
        if disks is None or any(d.manifest is None for d in disks):
            raise SyncFailed(f"The source image `{p['source']}` was deleted (or changed state) during the copy.")
        manifests = {d.index: Manifest.from_json(d.manifest) for d in disks}
        self._copy(handle, manifests, checkpoint["started"], checkpoint["duration"])

        def finish(repo: Repo):
            row = repo.get_image(image_id)
            if row is None:
                raise SyncFailed("The destination image was deleted during the copy.")
            lifecycle.complete(row, repo.image_disks(image_id), manifests)

        handle.finish(True, "", finish)
        # The system disk's read-only base, so a launch from the copy is as fast as any: the source's
        # base under a second name when there is one (same bytes, no second write), else made from
        # the chunks. After NORMAL, as an import makes its base: a launch meanwhile makes it itself
        # (under the same lock), and a crash leaves it to the first launch.
        if 0 in manifests:
            self.volumes.prepare_base(p["region"], f"{image_id}-0", manifests[0],
                                      link_from=(p["source_region"], f"{p['source']}-0"))

    def _copy(self, handle: JobHandle, manifests: dict[int, Manifest], started: float, duration: float) -> None:
        """Copy the chunks the destination lacks, reporting (and, with a time scale, pacing) the progress."""
        p = handle.payload
        image_id = handle.view.resource_id

        def report(fraction: float) -> None:
            def apply(repo: Repo):
                source = repo.get_image(p["source"])
                if source is None or source.state != lifecycle.NORMAL:
                    raise SyncFailed(f"The source image `{p['source']}` was deleted during the copy.")
                row = repo.get_image(image_id)
                if row is not None:
                    row.sync_percent = pct

            pct = int(99 * max(0.0, min(1.0, fraction)))
            handle.progress(pct, None, apply)

        copy_paced(self.blobs.store(p["source_region"]), self.blobs.store(p["region"]), list(manifests.values()),
                   started=started, duration=duration, report=report,
                   trace=CopyTrace(self.settings.sync_trace, handle.view.job_id, handle.view.attempts),
                   zero_copy=self.settings.zero_copy)


def copy_paced(src_store, dst_store, manifests: list[Manifest], *, started: float, duration: float,
               report, trace: CopyTrace, zero_copy: bool = True) -> None:
    """The durable region-to-region copy of SyncImages and CopySnapshotCrossRegions: the chunks of
    ``manifests`` the destination lacks, over ``copy_missing_chunks`` (one write in flight, so a job
    killed and resumed re-copies at most one chunk). ``report(fraction)`` is called as bytes are done
    (it may raise to stop the copy); with ``duration`` > 0 the copy is held back to its share of
    ``duration`` seconds from ``started`` (the real service's pace, scaled)."""
    total = sum(m.stored_size for m in manifests) or 1
    stop = threading.Event()

    def paced(bytes_done: int) -> None:
        fraction = bytes_done / total
        if duration <= 0:
            report(fraction)
            return
        while not stop.is_set():
            elapsed = (time.time() - started) / duration
            report(min(fraction, elapsed))
            if elapsed >= fraction:
                return
            stop.wait(min(0.2, (fraction - elapsed) * duration))

    try:
        offset = 0
        for manifest in manifests:
            copy_missing_chunks(src_store, dst_store, manifest, zero_copy=zero_copy,
                                progress=lambda done, _t, base=offset: paced(base + done), before_put=trace.put)
            offset += manifest.stored_size
        paced(total)  # the rest of the real duration, if any
    finally:
        trace.close()
