"""Copying images (PRODUCT.md R12-R18): SyncImages as durable, resumable chunk copies.

* A custom image copies to *other* regions of the same account (R13); an image
  shared with the caller copies only into its own region, as a custom image of
  the caller (R14). One image per call (the spec's rule), one destination image
  and one ``sync_image`` job per destination region, created in one transaction
  with the quota (R7) and name checks of each destination.
* Copies between mainland China and elsewhere are refused unless an operator
  allowed them for the account (``localcvm accounts allow-cross-border``, R15).
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

from ..blobs.chunks import Manifest
from ..blobs.transfer import CopyTrace, copy_missing_chunks
from ..jobs.queue import JobHandle, enqueue
from ..store.models import Image, ImageDisk
from ..store.repo import Repo, utcnow
from . import errors
from .iam import Identity
from .ids import is_id, new_id
from .images import ImageService, check_name

REAL_MIN_SECONDS = 10 * 60
REAL_MAX_SECONDS = 30 * 60


class SyncFailed(errors.ApiError):
    code = "FailedOperation"


# --- SyncImages -------------------------------------------------------------------------------
def sync_images(svc: ImageService, identity: Identity, region: str, p: dict) -> list[dict]:
    src_region = svc.regions.get(region)
    image_ids = list(dict.fromkeys(p["ImageIds"]))
    if not image_ids:
        raise errors.MissingParameter("The request is missing the required parameter `ImageIds`.")
    if len(image_ids) > 1:
        raise errors.InvalidParameterValueLimitExceeded(
            f"SyncImages copies one image per call; got {len(image_ids)} ImageIds."
        )
    image_id = image_ids[0]
    if not is_id("img", image_id):
        raise errors.InvalidImageIdMalformed(f"The image ID `{image_id}` is malformed (expected img-xxxxxxxx).")
    if p.get("Encrypt"):
        raise errors.UnsupportedOperationSyncEncryptImageNotSupport(
            "Copying an image as an encrypted custom image (Encrypt/KmsKeyId) is not supported."
        )
    destinations = list(dict.fromkeys(p["DestinationRegions"]))
    if not destinations:
        raise errors.MissingParameter("The request is missing the required parameter `DestinationRegions`.")
    dest_regions = []
    for d in destinations:
        r = svc.regions.find(d)
        if r is None or r.state != "AVAILABLE":
            raise errors.InvalidParameterValueInvalidRegion(
                f"The destination region `{d}` does not exist or is not available; DescribeRegions lists them."
            )
        dest_regions.append(r)
    name = check_name(p["ImageName"]) if p.get("ImageName") is not None else None

    created: list[dict] = []
    with svc.db.write() as repo:
        row = repo.get_image(image_id)
        own = row is not None and row.region == region and row.owner_uin == identity.uin
        shared = (row is not None and row.region == region and not own
                  and repo.is_shared_with(image_id, identity.uin))
        if not (own or shared):
            if image_id in svc.catalogue:
                raise errors.UnauthorizedOperationImageNotBelongToAccount(
                    f"The image `{image_id}` is a public or marketplace image; only custom and shared images can be copied."
                )
            raise errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {region}.")
        if row.state != "NORMAL":
            raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` is {row.state}, not NORMAL.")
        if own and region in destinations:
            raise errors.InvalidParameterValueInvalidRegion(
                f"A custom image copies to other regions only; `{region}` is the image's own region."
            )
        if shared and destinations != [region]:
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
            svc.reserve_custom_image(repo, identity, d, new_name)
        if p.get("DryRun"):
            raise errors.DryRunOperation("The image can be copied; DryRun is set, so nothing was copied.")
        disks = repo.image_disks(image_id)
        now = utcnow()
        for d in destinations:
            new_image = new_id("img")
            repo.add(Image(
                image_id=new_image, region=d, owner_uin=identity.uin, kind="PRIVATE", source=row.source,
                name=new_name, description=row.description, os_name=row.os_name, platform=row.platform,
                os_type=row.os_type, architecture=row.architecture, size_gib=row.size_gib, state="SYNCING",
                sync_percent=0, cloudinit=row.cloudinit, license_type=row.license_type, boot_mode=row.boot_mode,
                family=row.family, deprecated=False, creator=identity.uin, price_hourly=0.0, provider="", error="",
                created_at=now, sync_source=image_id, sync_source_region=region,
            ))
            for disk in disks:
                repo.add(ImageDisk(image_id=new_image, index=disk.index, snapshot_id=new_id("snap"),
                                   virtual_size=disk.virtual_size, manifest=None))
            enqueue(repo, "sync_image", new_image, {"source": image_id, "source_region": region, "region": d},
                    owner_uin=identity.uin)
            created.append({"ImageId": new_image, "Region": d})
    svc.notify()
    return created


# --- the sync_image job -----------------------------------------------------------------------
def _source_disks(repo: Repo, image_id: str) -> list[ImageDisk] | None:
    row = repo.get_image(image_id)
    if row is None or row.state != "NORMAL":
        return None
    return repo.image_disks(image_id)


def run_sync(svc: ImageService, handle: JobHandle) -> None:
    p = handle.payload
    image_id = handle.view.resource_id
    checkpoint = dict(handle.checkpoint)
    if "started" not in checkpoint:
        # the real service takes 10-30 minutes; time_scale compresses it (0 = no added delay)
        duration = svc.settings.time_scale * random.uniform(REAL_MIN_SECONDS, REAL_MAX_SECONDS)
        checkpoint = {"started": time.time(), "duration": duration}
        handle.progress(0, checkpoint)
    started, duration = checkpoint["started"], checkpoint["duration"]
    with svc.db.read() as repo:
        disks = _source_disks(repo, p["source"])
        dest = repo.get_image(image_id)
    if dest is None or dest.state != "SYNCING":
        handle.finish(False, "the destination image is gone")
        return
    if disks is None or any(d.manifest is None for d in disks):
        raise SyncFailed(f"The source image `{p['source']}` was deleted (or changed state) during the copy.")
    manifests = [(d.index, Manifest.from_json(d.manifest)) for d in disks]
    total = sum(m.stored_size for _, m in manifests) or 1
    src_store = svc.blobs.store(p["source_region"])
    dst_store = svc.blobs.store(p["region"])
    stop = threading.Event()

    def source_alive(repo: Repo) -> None:
        row = repo.get_image(p["source"])
        if row is None or row.state != "NORMAL":
            raise SyncFailed(f"The source image `{p['source']}` was deleted during the copy.")

    def report(fraction: float) -> None:
        def apply(repo: Repo):
            source_alive(repo)
            row = repo.get_image(image_id)
            if row is not None:
                row.sync_percent = pct

        pct = int(99 * max(0.0, min(1.0, fraction)))
        handle.progress(pct, None, apply)

    def paced(bytes_done: int) -> None:
        """Report progress; with a time scale, hold the copy back to its share of the duration."""
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

    trace = CopyTrace(svc.settings.sync_trace, handle.view.job_id, handle.view.attempts)
    try:
        offset = 0
        for _, manifest in manifests:
            copy_missing_chunks(src_store, dst_store, manifest,
                                progress=lambda done, _t, base=offset: paced(base + done), before_put=trace.put)
            offset += manifest.stored_size
        paced(total)  # the rest of the real duration, if any
    finally:
        trace.close()
    # The system disk's read-only base, so a launch from the copy is as fast as any: the source's
    # base under a second name when there is one (same bytes, no second write), else made from the chunks.
    for index, manifest in manifests:
        if index == 0:
            name = f"{image_id}-0"
            if svc.volumes.link_base(p["source_region"], f"{p['source']}-0", p["region"], name, manifest) is None:
                svc.volumes.ensure_base(p["region"], name, manifest)

    def finish(repo: Repo):
        row = repo.get_image(image_id)
        if row is None:
            raise SyncFailed("The destination image was deleted during the copy.")
        by_index = dict(manifests)
        for disk in repo.image_disks(image_id):  # the manifests last: the copy is complete
            m = by_index.get(disk.index)
            if m is not None:
                disk.manifest = m.to_json()
                disk.virtual_size = m.virtual_size
        row.state = "NORMAL"
        row.sync_percent = None

    handle.finish(True, "", finish)
