"""The image service: DescribeImages, ModifyImageAttribute, DeleteImages, the quota, the disks of
images, chunk GC, and the action objects of the other image actions (import, share, sync, export).

Custom images are rows of the ``images`` table, each with its disks' chunk manifests;
public and marketplace images come from the catalogue (``catalogue.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...blobs import Manifest, gc as chunk_gc
from ...blobs.registry import BlobRegistry
from ...config import Settings
from ...imaging.volumes import Volumes
from ...jobs.queue import JobHandle
from ...store.db import Database
from ...store.models import Image
from ...store.repo import Repo
from .. import errors
from ..iam import Identity
from ..query import IdKind, check_describe, match_all, tag_matches
from ..regions import RegionCatalogue
from . import lifecycle
from .catalogue import Catalogue, ImageView, ImportOs, import_os_list
from .export import ImageExporter, ObjectStore
from .importing import ImageImporter
from .rules import ImageAccess, check_description, check_family, check_name
from .share import ImageSharing, SharePermission
from .sync import ImageCopier

MAX_IMAGE_DISKS = 21  # a system disk and up to 20 data disks
IMAGE_TYPES = ("PUBLIC_IMAGE", "PRIVATE_IMAGE", "SHARED_IMAGE", "MARKET_IMAGE")
FILTER_NAMES = {"image-id", "image-type", "image-name", "platform", "image-family", "image-state",
                "tag-key", "tag-value", "image-source", "architecture", "os-name", "dedicated-cluster-id",
                "cdc-cache-status"}


@dataclass(frozen=True)
class DescribeImagesRequest:
    """DescribeImages' parameters (``filters``: ``[{"Name", "Values"}]`` as services/query checks them)."""

    image_ids: tuple[str, ...] = ()
    filters: tuple[dict, ...] = ()
    offset: int | None = None
    limit: int | None = None
    instance_type: str | None = None
    # CAM: image id → may the caller read it (a sub-user's answer lists only those)
    visible: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class ModifyImageRequest:
    """ModifyImageAttribute's parameters; ``None``: leave the attribute as it is."""

    image_id: str
    name: str | None = None
    description: str | None = None
    family: str | None = None
    deprecated: bool | None = None


@dataclass(frozen=True)
class ImageDiskReport:
    index: int
    snapshot_id: str
    virtual_size: int
    stored: bool


@dataclass(frozen=True)
class ImageJobReport:
    job_id: str
    kind: str
    state: str
    progress: int
    attempts: int
    error: str


@dataclass(frozen=True)
class ImageReport:
    """Everything about a custom image, for operators (``localcvm images show``)."""

    image_id: str
    region: str
    owner_uin: str
    name: str
    state: str
    source: str
    size_gib: int
    error: str
    disks: tuple[ImageDiskReport, ...]
    jobs: tuple[ImageJobReport, ...]
    sync_source: tuple[str, str] | None  # (image ID, region) the image is a copy of
    shares: tuple[SharePermission, ...]


class ImageService:
    def __init__(self, settings: Settings, db: Database, regions: RegionCatalogue, blobs: BlobRegistry, notify=None):
        self.settings = settings
        self.db = db
        self.regions = regions
        self.blobs = blobs
        self.catalogue = Catalogue(blobs)
        self.access = ImageAccess(settings, db, regions, self.catalogue, notify)
        self.volumes = Volumes(settings.data_dir, blobs)
        self.cos = ObjectStore(settings)
        self.importer = ImageImporter(self.access, blobs, self.volumes)
        self.sharing = ImageSharing(self.access)
        self.copier = ImageCopier(self.access, blobs, self.volumes)
        self.exporter = ImageExporter(self.access, blobs, self.cos)

    # --- what other services use ------------------------------------------------------------------
    @property
    def public(self) -> list[ImageView]:
        """The public images (the catalogue's; tests pick one to launch from)."""
        return self.catalogue.public

    def get_visible(self, identity: Identity, region: str, image_id: str) -> ImageView:
        return self.access.get_visible(identity, region, image_id)

    def system_manifest(self, region: str, image_id: str) -> Manifest:
        """The chunk manifest of an image's system disk (public ones are built on first use)."""
        return self.disk_manifest(region, image_id, 0)

    def disk_manifest(self, region: str, image_id: str, index: int) -> Manifest:
        """The chunk manifest of disk ``index`` of an image (0 = system disk)."""
        if image_id in self.catalogue:
            if index != 0:
                raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` has no data disk {index}.")
            return self.catalogue.system_manifest(region, image_id)
        with self.db.read() as repo:
            disks = [d for d in repo.image_disks(image_id) if d.index == index]
        if not disks or disks[0].manifest is None:
            raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` has no stored disk {index} yet.")
        return Manifest.from_json(disks[0].manifest)

    # --- DescribeImages, DescribeImageQuota, DescribeImportImageOs -----------------------------------
    def describe(self, identity: Identity, region: str, req: DescribeImagesRequest) -> tuple[int, list[ImageView]]:
        query = check_describe("DescribeImages", "ImageIds", req.image_ids, list(req.filters), FILTER_NAMES,
                               req.offset, req.limit, id_kind=IdKind("img", errors.InvalidImageIdMalformed, "image"),
                               coexist_error=errors.InvalidParameterCoexistImageIdsFilters)
        wanted, checked, page = set(req.image_ids or ()), query.filters, query.page
        for v in (v for name, values in checked if name == "image-type" for v in values):
            if v not in IMAGE_TYPES:
                raise errors.InvalidParameterValue(
                    f"The image-type filter value `{v}` is not one of {', '.join(IMAGE_TYPES)}."
                )
        images = self.access.visible_images(identity, region)
        if req.visible is not None:
            images = [v for v in images if req.visible(v.image_id)]
        if wanted:
            images = [v for v in images if v.image_id in wanted]
        images = match_all(images, checked, _matches)
        if req.instance_type:
            arm = req.instance_type.upper().startswith("SR")
            images = [v for v in images if (v.architecture == "arm") == arm]
        return len(images), page.of(images)

    def from_family(self, identity: Identity, region: str, family: str | None) -> ImageView | None:
        """DescribeImageFromFamily: the newest NORMAL, non-deprecated custom image of the caller's in
        ``family`` (None when the family has none)."""
        self.regions.get(region)
        if not family:
            raise errors.MissingParameter("The request is missing the parameter `ImageFamily`.")
        check_family(family)
        found = [v for v in self.access.visible_images(identity, region)
                 if v.image_type == "PRIVATE_IMAGE" and lifecycle.family_member(v, family)]
        return max(found, key=lambda v: (v.created_at, v.image_id), default=None)

    def quota(self) -> int:
        return self.settings.image_quota

    @staticmethod
    def import_os() -> list[ImportOs]:
        return import_os_list()

    # --- ModifyImageAttribute / DeleteImages -----------------------------------------------------
    def modify(self, identity: Identity, region: str, req: ModifyImageRequest) -> None:
        with self.db.write() as repo:
            row = self.access.own_image(repo, identity, region, req.image_id,
                                        shared_error=errors.UnsupportedOperationSharedImageModifyUnsupported)
            if req.name is not None:
                name = check_name(req.name)
                self.access.claim_name(repo, identity, region, name, exclude=row.image_id)
                row.name = name
            if req.description is not None:
                row.description = check_description(req.description)
            if req.family is not None:
                row.family = check_family(req.family)
            if req.deprecated is not None:
                lifecycle.set_deprecated(row, req.deprecated)

    def delete(self, identity: Identity, region: str, image_ids: Sequence[str], *, dry_run: bool = False,
               delete_snapshots: bool = False, repo: Repo | None = None) -> None:
        """DeleteImages: every ID is checked before anything is deleted. ``delete_snapshots``
        (DeleteBindedSnap) removes the CBS snapshots the images were made of as well;
        without it they stay (and keep their chunks). ``repo``: run inside that transaction.
        The images' base files are removed once the transaction has committed."""
        if not image_ids:
            raise errors.MissingParameter("The request is missing the required parameter `ImageIds`.")
        if repo is None:
            with self.db.write() as repo:
                return self.delete(identity, region, image_ids, dry_run=dry_run,
                                   delete_snapshots=delete_snapshots, repo=repo)
        rows = []
        repo.lock_all(Image, image_ids)
        for image_id in dict.fromkeys(image_ids):
            row = self.access.own_image(repo, identity, region, image_id)
            lifecycle.check_deletable(row, repo.copies_running_from(row.image_id))
            shares = repo.count_shares(row.image_id)
            if shares:
                raise errors.InvalidImageIdInShared(
                    f"The image `{image_id}` is shared with {shares} account(s); cancel the sharing "
                    "(ModifyImageSharePermission CANCEL) before deleting it."
                )
            rows.append(row)
        if dry_run:
            raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was deleted.")
        unused_bases: list[str] = []
        for row in rows:
            snapshot_ids = [d.snapshot_id for d in repo.image_disks(row.image_id)]
            repo.delete_image(row.image_id)
            if delete_snapshots:
                for sid in snapshot_ids:
                    snap = repo.get_snapshot(sid)
                    if snap is not None and snap.owner_uin == identity.uin and not repo.images_of_snapshots([sid]):
                        repo.delete_snapshot(sid)
            if not repo.disks_using_base("image", row.image_id):
                unused_bases += [f"{row.image_id}-{disk}" for disk in range(MAX_IMAGE_DISKS)]
            for job in repo.jobs_for(row.image_id):
                if job.state in ("PENDING", "RUNNING"):
                    job.state, job.error = "FAILED", "image deleted"
        if unused_bases:
            repo.after_commit(lambda: self._drop_bases(region, unused_bases))

    def _drop_bases(self, region: str, names: list[str]) -> None:
        for name in names:
            self.volumes.drop_base(region, name)

    def operator_view(self, image_id: str) -> ImageReport | None:
        """Everything about a custom image, for operators (incl. the failure reason)."""
        with self.db.read() as repo:
            row = repo.get_image(image_id)
            if row is None:
                return None
            return ImageReport(
                image_id=row.image_id, region=row.region, owner_uin=row.owner_uin, name=row.name, state=row.state,
                source=row.source, size_gib=row.size_gib, error=row.error,
                disks=tuple(ImageDiskReport(d.index, d.snapshot_id, d.virtual_size, d.manifest is not None)
                            for d in repo.image_disks(image_id)),
                jobs=tuple(ImageJobReport(j.job_id, j.kind, j.state, j.progress, j.attempts, j.error)
                           for j in repo.jobs_for(image_id)),
                sync_source=(row.sync_source, row.sync_source_region) if row.sync_source else None,
                shares=tuple(SharePermission(s.account_uin, s.created_at) for s in repo.shares_of(image_id)),
            )

    # --- chunk GC ------------------------------------------------------------------------------------
    def gc(self, region: str, grace_seconds: float = 3600.0) -> tuple[int, int]:
        """Remove the region's chunks that no image manifest references.

        Chunks written or reused within ``grace_seconds`` are spared: they may
        belong to an import or copy whose manifest is not written yet (writers
        refresh the mtime of every chunk they reuse). Use 0 only when no job
        can be running.
        """
        with self.db.read() as repo:
            manifests = [Manifest.from_json(m) for m in repo.manifests_in_region(region)]
            manifests += [Manifest.from_json(m) for m in repo.snapshot_manifests_in_region(region)]
            # copies still SYNCING into this region: keep every chunk they may already have copied
            manifests += [Manifest.from_json(m) for m in repo.sync_source_manifests_in_region(region)]
        referenced: set[str] = set()
        for m in manifests + self.catalogue.public_manifests():
            referenced |= m.digests()
        return chunk_gc(self.blobs.store(region), referenced, grace_seconds=grace_seconds)

    # --- failed import and copy jobs -----------------------------------------------------------------
    def fail_job(self, handle: JobHandle, exc: BaseException) -> None:
        """An ``import_image`` or ``sync_image`` job failed: the image takes its failure state."""
        message = lifecycle.failure_text(exc)
        image_id = handle.view.resource_id

        def apply(repo: Repo):
            row = repo.get_image(image_id)
            if row is not None:
                lifecycle.fail(row, message)

        handle.finish(False, message, apply)
        shutil.rmtree(self.blobs.work_dir(handle.view.job_id), ignore_errors=True)


def _matches(v: ImageView, name: str, values: list[str]) -> bool:
    """DescribeImages' filters: image-name, platform and os-name match substrings, the rest exact values."""
    if name in ("image-name", "platform", "os-name"):
        text = {"image-name": v.name, "platform": v.platform, "os-name": v.os_name}[name].lower()
        return any(x.lower() in text for x in values)
    exact = {"image-id": v.image_id, "image-type": v.image_type, "image-family": v.family, "image-state": v.state,
             "image-source": v.source, "architecture": v.architecture}
    if name in exact:
        return exact[name] in values
    if (tagged := tag_matches(v.tags, name, values)) is not None:
        return tagged
    return False  # dedicated-cluster-id, cdc-cache-status: no image lives in a CDC here
