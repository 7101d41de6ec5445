"""Images (PRODUCT.md R5-R8, R11): the catalogue, custom images, import, export, quota.

Public and marketplace images come from the catalogue files in ``localcvm/data``
(the same IDs in every region, as in the real service); custom images are rows
of the ``images`` table, each with its disks' chunk manifests.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources

from ..blobs.chunks import CHUNK_SIZE, Manifest, read_image
from ..config import Settings
from ..jobs.queue import JobHandle, enqueue
from ..store.db import Database
from ..store.models import Image, ImageDisk
from ..store.repo import Repo, utcnow
from . import errors
from .query import check_filters
from .tags import tags_for
from .iam import Identity
from .ids import is_id, new_id
from .regions import RegionCatalogue, is_english
from ..blobs.registry import BlobRegistry

GIB = 1024**3
MAX_IMAGE_DISKS = 21  # a system disk and up to 20 data disks
CATALOGUE_TIME = datetime(2024, 1, 1)
IMPORT_OS = {
    # OsType -> (versions, architectures), as DescribeImportImageOs lists them
    "CentOS": (["5", "6", "7", "8"], ["x86_64", "i386"]),
    "Ubuntu": (["14.04", "16.04", "18.04", "20.04", "22.04", "24.04"], ["x86_64", "i386", "arm_64"]),
    "Debian": (["8", "9", "10", "11", "12"], ["x86_64", "i386", "arm_64"]),
    "TencentOS": (["2", "3", "4"], ["x86_64", "arm_64"]),
    "OpenCloudOS": (["8", "9"], ["x86_64", "arm_64"]),
    "Rocky Linux": (["8", "9"], ["x86_64", "arm_64"]),
    "AlmaLinux": (["8", "9"], ["x86_64", "arm_64"]),
    "OpenSUSE": (["15"], ["x86_64"]),
    "FreeBSD": (["12", "13", "14"], ["x86_64"]),
    "Other Linux": (["-"], ["x86_64", "i386", "arm_64"]),
    "Windows": (["Windows Server 2016", "Windows Server 2019", "Windows Server 2022"], ["x86_64"]),
}
WINDOWS_IMPORT = ["Windows"]
IMAGE_TYPES = ("PUBLIC_IMAGE", "PRIVATE_IMAGE", "SHARED_IMAGE", "MARKET_IMAGE")
FILTER_NAMES = {"image-id", "image-type", "image-name", "platform", "image-family", "image-state",
                "tag-key", "tag-value", "image-source", "architecture", "os-name", "dedicated-cluster-id",
                "cdc-cache-status"}
EXPORT_FORMATS = {"RAW": "raw", "QCOW2": "qcow2", "VHD": "vpc", "VMDK": "vmdk"}
EXPORT_EXT = {"RAW": "raw", "QCOW2": "qcow2", "VHD": "vhd", "VMDK": "vmdk"}


@dataclass
class ImageView:
    """An image as a caller sees it."""

    image_id: str
    image_type: str  # PUBLIC_IMAGE | PRIVATE_IMAGE | SHARED_IMAGE | MARKET_IMAGE
    source: str
    name: str
    description: str
    os_name: str
    platform: str
    os_type: str
    architecture: str
    size_gib: int
    state: str
    created_at: datetime
    creator: str = ""
    sync_percent: int | None = None
    cloudinit: bool = True
    license_type: str = "TencentCloud"
    family: str = ""
    deprecated: bool = False
    boot_mode: str = "Legacy BIOS"
    price_hourly: float = 0.0
    provider: str = ""
    error: str = ""
    owner_uin: str | None = None
    region: str = ""
    snapshots: list[dict] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def _load_catalogue(name: str) -> list[dict]:
    return json.loads(resources.files("localcvm.data").joinpath(name).read_text(encoding="utf-8"))["images"]


def _english(text: str) -> str:
    return (text.replace("64位", "64bit").replace("32位", "32bit").replace("数据中心版", "Datacenter")
            .replace("中文版", "Chinese").replace("英文版", "English"))


class ImageService:
    def __init__(self, settings: Settings, db: Database, regions: RegionCatalogue, blobs: BlobRegistry, notify=None):
        self.settings = settings
        self.db = db
        self.regions = regions
        self.blobs = blobs
        self.notify = notify or (lambda: None)
        from .cos import ObjectStore
        from ..imaging.volumes import Volumes

        self.cos = ObjectStore(settings)
        self.volumes = Volumes(settings.data_dir, blobs)
        self.public = [self._catalogue_view(e, "PUBLIC_IMAGE", "OFFICIAL") for e in _load_catalogue("public_images.json")]
        self.market = [self._catalogue_view(e, "MARKET_IMAGE", "MARKET") for e in _load_catalogue("marketplace_images.json")]
        self.catalogue = {v.image_id: v for v in self.public + self.market}

    @staticmethod
    def _catalogue_view(e: dict, image_type: str, source: str) -> ImageView:
        return ImageView(
            image_id=e["ImageId"], image_type=image_type, source=source, name=e["ImageName"],
            description=e.get("ImageDescription", ""), os_name=e["OsName"], platform=e["Platform"],
            os_type=e.get("OsType", "Linux"), architecture=e.get("Architecture", "x86_64"),
            size_gib=int(e.get("ImageSize", 20)), state="NORMAL", created_at=CATALOGUE_TIME,
            creator="", cloudinit=bool(e.get("IsSupportCloudinit", e.get("OsType", "Linux") == "Linux")),
            license_type=e.get("LicenseType", "TencentCloud"), family=e.get("ImageFamily", ""),
            price_hourly=float(e.get("PriceHourly", 0.0)), provider=e.get("Provider", ""),
        )

    # --- queries ------------------------------------------------------------------------
    def _row_view(self, row: Image, viewer: str, repo: Repo, tags: dict[str, str]) -> ImageView:
        disks = repo.image_disks(row.image_id)
        return ImageView(
            image_id=row.image_id, image_type="PRIVATE_IMAGE" if row.owner_uin == viewer else "SHARED_IMAGE",
            source=row.source, name=row.name, description=row.description, os_name=row.os_name,
            platform=row.platform, os_type=row.os_type, architecture=row.architecture, size_gib=row.size_gib,
            state=row.state, created_at=row.created_at, creator=row.creator, sync_percent=row.sync_percent,
            cloudinit=row.cloudinit, license_type=row.license_type, family=row.family, deprecated=row.deprecated,
            boot_mode=row.boot_mode, error=row.error, owner_uin=row.owner_uin, region=row.region,
            snapshots=[{"SnapshotId": d.snapshot_id, "DiskUsage": "SYSTEM_DISK" if d.index == 0 else "DATA_DISK",
                        "DiskSize": max(1, math.ceil(d.virtual_size / GIB)) if d.virtual_size else row.size_gib}
                       for d in disks],
            tags=tags,
        )

    def visible_images(self, identity: Identity, region: str) -> list[ImageView]:
        """Every image ``identity`` can see in ``region``: public, marketplace, own custom, and the
        custom images other accounts shared with it in this region (SHARED_IMAGE, R10)."""
        self.regions.get(region)
        with self.db.read() as repo:
            rows = repo.images_in_region(region, uin=identity.uin, kinds=("PRIVATE",))
            rows += repo.images_shared_with(identity.uin, region)
            tags = repo.tags_of([r.image_id for r in rows])
            custom = [self._row_view(r, identity.uin, repo, tags[r.image_id]) for r in rows]
        public = [ImageView(**{**v.__dict__, "region": region}) for v in self.public + self.market]
        return custom + public

    def get_visible(self, identity: Identity, region: str, image_id: str) -> ImageView:
        if not is_id("img", image_id):
            raise errors.InvalidImageIdMalformed(f"The image ID `{image_id}` is malformed (expected img-xxxxxxxx).")
        for view in self.visible_images(identity, region):
            if view.image_id == image_id:
                return view
        raise errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {region}.")

    def describe(self, identity: Identity, region: str, *, image_ids: list[str] | None, filters: list[dict] | None,
                 offset: int, limit: int, instance_type: str | None = None) -> tuple[int, list[ImageView]]:
        if image_ids and filters:
            raise errors.InvalidParameterCoexistImageIdsFilters(
                "ImageIds and Filters cannot be given together; use the image-id filter or ImageIds alone."
            )
        if limit > 100:
            raise errors.InvalidParameterValue(f"Limit must be between 0 and 100, got {limit}.")
        for image_id in image_ids or []:
            if not is_id("img", image_id):
                raise errors.InvalidImageIdMalformed(f"The image ID `{image_id}` is malformed (expected img-xxxxxxxx).")
        checked = _check_filters(filters or [])
        images = self.visible_images(identity, region)
        if image_ids:
            wanted = set(image_ids)
            images = [v for v in images if v.image_id in wanted]
        for name, values in checked:
            images = [v for v in images if _matches(v, name, values)]
        if instance_type:
            arm = instance_type.upper().startswith("SR")
            images = [v for v in images if (v.architecture == "arm") == arm]
        return len(images), images[offset: offset + limit]

    def quota(self) -> int:
        return self.settings.image_quota

    @staticmethod
    def import_os() -> dict:
        linux = [k for k in IMPORT_OS if k not in WINDOWS_IMPORT]
        return {
            "ImportImageOsListSupported": {"Linux": linux, "Windows": ["Windows Server 2016", "Windows Server 2019", "Windows Server 2022"]},
            "ImportImageOsVersionSet": [
                {"OsName": name, "OsVersions": versions, "Architecture": arches}
                for name, (versions, arches) in IMPORT_OS.items()
            ],
        }

    # --- custom images: shared rules ------------------------------------------------------
    def reserve_custom_image(self, repo: Repo, identity: Identity, region: str, name: str) -> None:
        """Name and quota checks, serialized per account and region (exact under concurrency)."""
        repo.lock(f"images:{identity.uin}:{region}")
        if repo.image_name_taken(identity.uin, region, name):
            raise errors.InvalidImageNameDuplicate(f"An image named `{name}` already exists in {region}.")
        used = repo.count_custom_images(identity.uin, region)
        if used >= self.settings.image_quota:
            raise errors.ImageQuotaLimitExceeded(
                f"The account already has {used} custom images in {region}; the quota is {self.settings.image_quota}."
            )

    def own_image(self, repo: Repo, identity: Identity, region: str, image_id: str,
                   shared_error: type[errors.ApiError] = errors.UnauthorizedOperationImageNotBelongToAccount) -> Image:
        """The caller's own custom image; ``shared_error`` when it is an image shared with the caller."""
        if not is_id("img", image_id):
            raise errors.InvalidImageIdMalformed(f"The image ID `{image_id}` is malformed (expected img-xxxxxxxx).")
        row = repo.get_image(image_id)
        if row is None or row.region != region:
            if image_id in self.catalogue:
                raise errors.UnauthorizedOperationImageNotBelongToAccount(
                    f"The image `{image_id}` is a public or marketplace image, not one of this account's."
                )
            raise errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {region}.")
        if row.owner_uin != identity.uin:
            if repo.is_shared_with(image_id, identity.uin):
                raise shared_error(
                    f"The image `{image_id}` is shared with this account by another one; it can only be used to "
                    "create instances (or be copied in its region with SyncImages)."
                )
            raise errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {region}.")
        return row

    # --- ImportImage -----------------------------------------------------------------------
    def import_image(self, identity: Identity, region: str, p: dict) -> str:
        self.regions.get(region)
        name = check_name(p["ImageName"])
        description = check_description(p.get("ImageDescription", ""))
        os_type, os_version, arch = p["OsType"], p["OsVersion"], p["Architecture"]
        if os_type not in IMPORT_OS:
            raise errors.InvalidImageOsTypeUnsupported(
                f"The OsType `{os_type}` is not supported; DescribeImportImageOs lists the supported ones."
            )
        versions, arches = IMPORT_OS[os_type]
        if os_version not in versions and "-" not in versions:
            raise errors.InvalidImageOsVersionUnsupported(
                f"The OsVersion `{os_version}` of {os_type} is not supported (supported: {', '.join(versions)})."
            )
        if arch not in arches:
            raise errors.InvalidParameterValue(
                f"The Architecture `{arch}` is not supported for {os_type} (supported: {', '.join(arches)})."
            )
        boot_mode = p.get("BootMode") or "Legacy BIOS"
        if boot_mode not in ("Legacy BIOS", "UEFI"):
            raise errors.InvalidParameterValue(f"BootMode must be `Legacy BIOS` or `UEFI`, got `{boot_mode}`.")
        license_type = p.get("LicenseType") or "TencentCloud"
        if license_type not in ("TencentCloud", "BYOL"):
            raise errors.InvalidParameterValue(f"LicenseType must be `TencentCloud` or `BYOL`, got `{license_type}`.")
        family = check_family(p.get("ImageFamily", ""))
        if p.get("ImportImageDataDiskList"):
            raise errors.UnsupportedOperation("Importing data disks with ImportImageDataDiskList is not supported yet.")
        url = _check_url(p["ImageUrl"], self.settings.import_allowed_hosts)
        tags = tags_for(p.get("TagSpecification"), "image")
        image_id = new_id("img")
        with self.db.write() as repo:
            self.reserve_custom_image(repo, identity, region, name)
            if p.get("DryRun"):
                raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was imported.")
            platform = os_type if os_type != "Other Linux" else "Other"
            repo.add(Image(
                image_id=image_id, region=region, owner_uin=identity.uin, kind="PRIVATE", source="EXTERNAL_IMPORT",
                name=name, description=description, os_name=f"{os_type} {os_version}".strip(), platform=platform,
                os_type="Windows" if os_type in WINDOWS_IMPORT else "Linux",
                architecture={"arm_64": "arm"}.get(arch, arch), size_gib=0, state="IMPORTING", sync_percent=0,
                cloudinit=os_type not in WINDOWS_IMPORT, license_type=license_type, boot_mode=boot_mode,
                family=family, deprecated=False, creator=identity.uin, price_hourly=0.0, provider="", error="",
                created_at=utcnow(),
            ))
            repo.add(ImageDisk(image_id=image_id, index=0, snapshot_id=new_id("snap"), virtual_size=0, manifest=None))
            if tags:
                repo.set_tags(image_id, tags)
            enqueue(repo, "import_image", image_id, {"url": url, "region": region, "force": bool(p.get("Force"))},
                    owner_uin=identity.uin)
        self.notify()
        return image_id

    # --- ModifyImageAttribute / DeleteImages -------------------------------------------------
    def modify(self, identity: Identity, region: str, p: dict) -> None:
        with self.db.write() as repo:
            row = self.own_image(repo, identity, region, p["ImageId"],
                                  shared_error=errors.UnsupportedOperationSharedImageModifyUnsupported)
            if "ImageName" in p:
                name = check_name(p["ImageName"])
                repo.lock(f"images:{identity.uin}:{region}")
                if repo.image_name_taken(identity.uin, region, name, exclude=row.image_id):
                    raise errors.InvalidImageNameDuplicate(f"An image named `{name}` already exists in {region}.")
                row.name = name
            if "ImageDescription" in p:
                row.description = check_description(p["ImageDescription"])
            if "ImageFamily" in p:
                row.family = check_family(p["ImageFamily"])
            if "ImageDeprecated" in p:
                row.deprecated = bool(p["ImageDeprecated"])

    def delete(self, identity: Identity, region: str, image_ids: list[str], *, dry_run: bool = False,
               delete_snapshots: bool = False, repo: Repo | None = None) -> None:
        """DeleteImages: every ID is checked before anything is deleted. ``delete_snapshots``
        (DeleteBindedSnap) removes the CBS snapshots the images were made of as well;
        without it they stay (and keep their chunks). ``repo``: run inside that transaction."""
        if not image_ids:
            raise errors.MissingParameter("The request is missing the required parameter `ImageIds`.")
        if repo is None:
            with self.db.write() as repo:
                return self.delete(identity, region, image_ids, dry_run=dry_run,
                                   delete_snapshots=delete_snapshots, repo=repo)
        rows = []
        for image_id in dict.fromkeys(image_ids):
            row = self.own_image(repo, identity, region, image_id)
            if row.state in ("IMPORTING", "CREATING", "SYNCING"):
                raise errors.InvalidImageIdIncorrectState(
                    f"The image `{image_id}` is {row.state}; delete it once the operation has finished."
                )
            shares = repo.count_shares(row.image_id)
            if shares:
                raise errors.InvalidImageIdInShared(
                    f"The image `{image_id}` is shared with {shares} account(s); cancel the sharing "
                    "(ModifyImageSharePermission CANCEL) before deleting it."
                )
            rows.append(row)
        if dry_run:
            raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was deleted.")
        for row in rows:
            snapshot_ids = [d.snapshot_id for d in repo.image_disks(row.image_id)]
            repo.delete_image(row.image_id)
            if delete_snapshots:
                for sid in snapshot_ids:
                    snap = repo.get_snapshot(sid)
                    if snap is not None and snap.owner_uin == identity.uin and not repo.images_of_snapshots([sid]):
                        repo.delete_snapshot(sid)
            if not repo.disks_using_base("image", row.image_id):
                for disk in range(MAX_IMAGE_DISKS):
                    self.volumes.drop_base(region, f"{row.image_id}-{disk}")
            for job in repo.jobs_for(row.image_id):
                if job.state in ("PENDING", "RUNNING"):
                    job.state, job.error = "FAILED", "image deleted"

    def operator_view(self, image_id: str) -> dict | None:
        """Everything about a custom image, for operators (incl. the failure reason)."""
        with self.db.read() as repo:
            row = repo.get_image(image_id)
            if row is None:
                return None
            jobs = repo.jobs_for(image_id)
            return {
                "ImageId": row.image_id, "Region": row.region, "OwnerUin": row.owner_uin, "ImageName": row.name,
                "ImageState": row.state, "ImageSource": row.source, "ImageSize": row.size_gib, "Error": row.error,
                "Disks": [{"Index": d.index, "SnapshotId": d.snapshot_id, "VirtualSize": d.virtual_size,
                           "Stored": d.manifest is not None} for d in repo.image_disks(image_id)],
                "Jobs": [{"JobId": j.job_id, "Kind": j.kind, "State": j.state, "Progress": j.progress,
                          "Attempts": j.attempts, "Error": j.error} for j in jobs],
                "SyncSource": ({"ImageId": row.sync_source, "Region": row.sync_source_region}
                               if row.sync_source else None),
                "SharedWith": [{"AccountId": sh.account_uin, "CreatedTime": sh.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
                               for sh in repo.shares_of(image_id)],
                # R11: the owner pays the image's (snapshot) storage; accounts it is shared with pay nothing for it
                "Billing": {"StoragePayerUin": row.owner_uin, "StorageGiB": row.size_gib,
                            "RecipientCharge": 0, "Recipients": len(repo.shares_of(image_id))},
            }

    # --- chunk GC ---------------------------------------------------------------------------
    def gc(self, region: str, grace_seconds: float = 3600.0) -> tuple[int, int]:
        """Remove the region's chunks that no image manifest references.

        Chunks written or reused within ``grace_seconds`` are spared: they may
        belong to an import or copy whose manifest is not written yet (writers
        refresh the mtime of every chunk they reuse). Use 0 only when no job
        can be running.
        """
        from ..blobs.chunks import gc as chunk_gc

        with self.db.read() as repo:
            manifests = [Manifest.from_json(m) for m in repo.manifests_in_region(region)]
            manifests += [Manifest.from_json(m) for m in repo.snapshot_manifests_in_region(region)]
            # copies still SYNCING into this region: keep every chunk they may already have copied
            manifests += [Manifest.from_json(m) for m in repo.sync_source_manifests_in_region(region)]
        referenced = set()
        for m in manifests:
            referenced |= m.digests()
        for v in self.public:
            referenced |= _public_manifest(v).digests()
        return chunk_gc(self.blobs.store(region), referenced, grace_seconds=grace_seconds)

    # --- disks of images ----------------------------------------------------------------------
    def system_manifest(self, region: str, image_id: str) -> Manifest:
        """The chunk manifest of an image's system disk (public ones are built on first use)."""
        return self.disk_manifest(region, image_id, 0)

    def disk_manifest(self, region: str, image_id: str, index: int) -> Manifest:
        """The chunk manifest of disk ``index`` of an image (0 = system disk)."""
        view = self.catalogue.get(image_id)
        if view is not None:
            if index != 0:
                raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` has no data disk {index}.")
            store = self.blobs.store(region)
            manifest = _public_manifest(view)
            data = {d: chunk for d, chunk in zip(manifest.chunks, _public_chunks(view)) if d is not None}
            written = False
            for digest, chunk in data.items():
                if not store.touch(digest, len(chunk)):
                    store.put(digest, chunk)
                    written = True
            if written:
                store.sync()
            return manifest
        with self.db.read() as repo:
            disks = [d for d in repo.image_disks(image_id) if d.index == index]
        if not disks or disks[0].manifest is None:
            raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` has no stored disk {index} yet.")
        return Manifest.from_json(disks[0].manifest)

    # --- jobs ---------------------------------------------------------------------------------
    def run_import(self, handle: JobHandle) -> None:
        from .image_import import run_import

        run_import(self, handle)

    def fail_job(self, handle: JobHandle, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        image_id = handle.view.resource_id

        def apply(repo: Repo):
            row = repo.get_image(image_id)
            if row is not None and row.state in ("IMPORTING", "CREATING", "SYNCING"):
                # a failed copy never became an image of its region: CREATEFAILED (ImageState has no SYNC failure)
                row.state = {"IMPORTING": "IMPORTFAILED", "CREATING": "CREATEFAILED", "SYNCING": "CREATEFAILED"}[row.state]
                row.error = message[:1024]
                row.sync_percent = None

        handle.finish(False, message, apply)
        shutil.rmtree(self.blobs.work_dir(handle.view.job_id), ignore_errors=True)


# --- helpers ----------------------------------------------------------------------------------
def check_name(name: str) -> str:
    if not name or not name.strip():
        raise errors.InvalidParameterValue("ImageName must not be empty.")
    if len(name) > 60:
        raise errors.InvalidParameterValue(f"ImageName must be at most 60 characters, got {len(name)}.")
    return name


def check_description(text: str) -> str:
    if len(text or "") > 256:
        raise errors.InvalidParameterValue(f"ImageDescription must be at most 256 characters, got {len(text)}.")
    return text or ""


def check_family(family: str) -> str:
    if family and not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,59}", family):
        raise errors.InvalidParameterValueInvalidImageFamily(
            f"The image family `{family}` is malformed: letters, digits and '-', starting with a letter, at most 60."
        )
    return family or ""


def _check_url(url: str, allowed_hosts: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        raise errors.InvalidParameterValue(f"ImageUrl `{url}` is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidParameterValue(
            f"ImageUrl must be an http:// or https:// URL with a host, got `{url[:200]}`."
        )
    if parts.username or parts.password:
        raise errors.InvalidParameterValue("ImageUrl must not carry credentials.")
    allowed = [h.strip().lower() for h in allowed_hosts.split(",") if h.strip()]
    if "*" not in allowed and parts.hostname.lower() not in allowed:
        raise errors.InvalidParameterValue(f"ImageUrl's host `{parts.hostname}` is not an allowed import source.")
    return url


def _check_filters(filters: list[dict]) -> list[tuple[str, list[str]]]:
    checked = check_filters(filters, FILTER_NAMES, "DescribeImages")
    for name, values in checked:
        if name == "image-type":
            for v in values:
                if v not in IMAGE_TYPES:
                    raise errors.InvalidParameterValue(
                        f"The image-type filter value `{v}` is not one of {', '.join(IMAGE_TYPES)}."
                    )
    return checked


def _matches(v: ImageView, name: str, values: list[str]) -> bool:
    if name == "image-id":
        return v.image_id in values
    if name == "image-type":
        return v.image_type in values
    if name == "image-name":
        return any(x.lower() in v.name.lower() for x in values)
    if name == "platform":
        return any(x.lower() in v.platform.lower() for x in values)
    if name == "os-name":
        return any(x.lower() in v.os_name.lower() for x in values)
    if name == "image-family":
        return v.family in values
    if name == "image-state":
        return v.state in values
    if name == "image-source":
        return v.source in values
    if name == "architecture":
        return v.architecture in values
    if name == "tag-key":
        return any(k in values for k in v.tags)
    if name == "tag-value":
        return any(val in values for val in v.tags.values())
    if name.startswith("tag:"):
        key = name[4:]
        return key in v.tags and v.tags[key] in values
    if name == "dedicated-cluster-id":
        return False  # no image lives in a CDC here
    if name == "cdc-cache-status":
        return False
    return False


def localized(view: ImageView, language: str | None) -> ImageView:
    if not is_english(language) or view.image_type not in ("PUBLIC_IMAGE", "MARKET_IMAGE"):
        return view
    return ImageView(**{**view.__dict__, "name": _english(view.name), "os_name": _english(view.os_name),
                        "description": _english(view.description)})


# --- the small disks behind public images -----------------------------------------------------
def _public_chunks(view: ImageView) -> list[bytes]:
    """The data at the start of a public image's disk, chunk by chunk: an MBR with one Linux
    (or NTFS) partition and an OS label at offset 0, the label again at 1 MiB; the rest are holes."""
    data = bytearray(max(CHUNK_SIZE, 2 * 1024 * 1024))
    label = f"localcvm public image {view.image_id}: {view.os_name} ({view.architecture})\n".encode()
    data[0:len(label)] = label[:440]
    # one primary partition (type 0x83 Linux, or 0x07 NTFS for Windows) from sector 2048 to the end
    sectors = view.size_gib * GIB // 512
    entry = bytearray(16)
    entry[4] = 0x07 if view.os_type == "Windows" else 0x83
    entry[8:12] = (2048).to_bytes(4, "little")
    entry[12:16] = min(sectors - 2048, 0xFFFFFFFF).to_bytes(4, "little")
    data[446:462] = entry
    data[510:512] = b"\x55\xaa"
    data[1024 * 1024: 1024 * 1024 + len(label)] = label
    return [bytes(data[i: i + CHUNK_SIZE]) for i in range(0, len(data), CHUNK_SIZE)]


_PUBLIC_MANIFESTS: dict[str, Manifest] = {}


def _public_manifest(view: ImageView) -> Manifest:
    manifest = _PUBLIC_MANIFESTS.get(view.image_id)
    if manifest is None:
        from ..blobs.chunks import sha256_hex

        size = view.size_gib * GIB
        count = -(-size // CHUNK_SIZE)
        chunks: list[str | None] = [None] * count
        for i, data in enumerate(_public_chunks(view)):
            if any(data):
                chunks[i] = sha256_hex(data)
        manifest = Manifest(virtual_size=size, chunk_size=CHUNK_SIZE, chunks=chunks, facts={"public": view.image_id})
        _PUBLIC_MANIFESTS[view.image_id] = manifest
    return manifest


def export_file_name(prefix: str, image_id: str, snapshot_id: str, index: int, fmt: str) -> str:
    kind = "system" if index == 0 else "data"
    name = f"{image_id}_{kind}_{snapshot_id}.{EXPORT_EXT[fmt]}"
    return f"{prefix}_{name}" if prefix else name




# --- ExportImages -------------------------------------------------------------------------------
def _check_bucket(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name or "") or ".." in name:
        raise errors.InvalidParameterValue(
            f"BucketName `{name}` is not a valid bucket name (lowercase letters, digits, '-' and '.', 3-63 characters)."
        )
    return name


def export_images(svc: ImageService, identity: Identity, region: str, p: dict) -> tuple[int, list[str]]:
    import secrets

    svc.regions.get(region)
    image_ids = p.get("ImageIds") or []
    if not image_ids:
        raise errors.InvalidParameterImageIdsSnapshotIdsMustOne("ExportImages needs ImageIds (SnapshotIds is not open).")
    bucket = _check_bucket(p["BucketName"])
    fmt = (p.get("ExportFormat") or "RAW").upper()
    if fmt not in EXPORT_FORMATS:
        raise errors.InvalidParameterValue(f"ExportFormat must be one of RAW, QCOW2, VHD, VMDK, got `{p.get('ExportFormat')}`.")
    prefixes = p.get("FileNamePrefixList")
    if prefixes is not None and len(prefixes) != len(image_ids):
        raise errors.InvalidParameterValue(
            f"FileNamePrefixList has {len(prefixes)} entries but ImageIds has {len(image_ids)}; give one prefix per image."
        )
    for prefix in prefixes or []:
        if not re.fullmatch(r"[A-Za-z0-9._-]{0,64}", prefix):
            raise errors.InvalidParameterValue(f"The file name prefix `{prefix}` may use letters, digits, '.', '_' and '-'.")
    only_root = bool(p.get("OnlyExportRootDisk"))
    cos = svc.cos
    if not cos.bucket_writable(bucket):
        raise errors.InvalidParameterValueInvalidBucketPermissionForExport(
            f"The bucket `{bucket}` does not exist or cannot be written."
        )
    task_id = secrets.randbelow(9_000_000) + 1_000_000
    paths: list[str] = []
    with svc.db.write() as repo:
        plans = []
        for i, image_id in enumerate(image_ids):
            if image_id in svc.catalogue:
                raise errors.UnsupportedOperationPublicImageExportUnsupported(
                    f"The image `{image_id}` is a public or marketplace image; only custom images can be exported."
                )
            row = svc.own_image(repo, identity, region, image_id,
                                 shared_error=errors.UnsupportedOperationSharedImageExportUnsupported)
            if row.os_type == "Windows":
                raise errors.UnsupportedOperationWindowsImageExportUnsupported(
                    f"The image `{image_id}` is a Windows image; Windows images cannot be exported."
                )
            if row.state != "NORMAL":
                raise errors.InvalidImageIdIncorrectState(f"The image `{image_id}` is {row.state}, not NORMAL.")
            disks = repo.image_disks(image_id)[: 1 if only_root else None]
            for disk in disks:
                name = export_file_name(prefixes[i] if prefixes else "", image_id, disk.snapshot_id, disk.index, fmt)
                paths.append(name)
                plans.append((image_id, disk.index, name))
        if p.get("DryRun"):
            raise errors.DryRunOperation("The images can be exported; DryRun is set, so nothing was exported.")
        for image_id, index, name in plans:
            enqueue(repo, "export_image", image_id,
                    {"region": region, "bucket": bucket, "key": name, "format": fmt, "disk": index, "task_id": task_id},
                    owner_uin=identity.uin)
    svc.notify()
    return task_id, paths


def run_export(svc: ImageService, handle: JobHandle) -> None:
    p = handle.payload
    work = svc.blobs.work_dir(handle.view.job_id)
    with svc.db.read() as repo:
        disks = [d for d in repo.image_disks(handle.view.resource_id) if d.index == p["disk"]]
    if not disks or disks[0].manifest is None:
        raise errors.InvalidImageIdNotFound("The image was deleted before it was exported.")
    manifest = Manifest.from_json(disks[0].manifest)
    raw = work / "disk.raw"
    read_image(svc.blobs.store(p["region"]), manifest, raw,
               progress=lambda done, total: handle.progress(int(50 * done / max(total, 1))))
    if p["format"] == "RAW":
        out = raw
    else:
        out = work / f"disk.{EXPORT_EXT[p['format']]}"
        options = {"subformat": "streamOptimized"} if p["format"] == "VMDK" else None
        from ..imaging import qemu_img

        qemu_img.convert(raw, "raw", out, EXPORT_FORMATS[p["format"]], lambda pct: handle.progress(50 + int(pct * 0.45)),
                         options=options)
    svc.cos.put_file(p["bucket"], p["key"], out)
    handle.finish(True)
    shutil.rmtree(work, ignore_errors=True)
