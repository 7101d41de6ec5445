"""What every image action shares: name, description, family and URL checks, the custom-image
quota, ownership and visibility.

``ImageAccess`` is the one collaborator the action modules get for these rules.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from ...config import Settings
from ...store.db import Database
from ...store.models import Image
from ...store.repo import Repo
from .. import errors
from ..names import check_display_name
from ..iam import Identity
from ..ids import is_id
from ..regions import RegionCatalogue
from . import lifecycle
from .catalogue import Catalogue, ImageSnapshot, ImageView

GIB = 1024**3


def check_name(name: str) -> str:
    return check_display_name("ImageName", name, required=True)


def check_description(text: str | None) -> str:
    if len(text or "") > 256:
        raise errors.InvalidParameterValue(f"ImageDescription must be at most 256 characters, got {len(text)}.")
    return text or ""


def check_family(family: str | None) -> str:
    if family and not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,59}", family):
        raise errors.InvalidParameterValueInvalidImageFamily(
            f"The image family `{family}` is malformed: letters, digits and '-', starting with a letter, at most 60."
        )
    return family or ""


def check_image_id(image_id: str) -> str:
    if not is_id("img", image_id):
        raise errors.InvalidImageIdMalformed(f"The image ID `{image_id}` is malformed (expected img-xxxxxxxx).")
    return image_id


def check_url(url: str, allowed_hosts: str, field: str = "ImageUrl") -> str:
    """An http(s) URL without credentials whose host the operator allows as an import source."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise errors.InvalidParameterInvalidParameterUrlError(f"{field} `{url}` is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.InvalidParameterInvalidParameterUrlError(
            f"{field} must be an http:// or https:// URL with a host, got `{url[:200]}`."
        )
    if parts.username or parts.password:
        raise errors.InvalidParameterInvalidParameterUrlError(f"{field} must not carry credentials.")
    allowed = [h.strip().lower() for h in allowed_hosts.split(",") if h.strip()]
    if "*" not in allowed and parts.hostname.lower() not in allowed:
        raise errors.InvalidParameterInvalidParameterUrlError(f"{field}'s host `{parts.hostname}` is not an allowed import source.")
    return url


def not_found(image_id: str, region: str) -> errors.ApiError:
    return errors.InvalidImageIdNotFound(f"The image `{image_id}` does not exist in {region}.")


class ImageAccess:
    """Quota, ownership and visibility of images, and the collaborators every image action uses."""

    def __init__(self, settings: Settings, db: Database, regions: RegionCatalogue, catalogue: Catalogue, notify=None):
        self.settings = settings
        self.db = db
        self.regions = regions
        self.catalogue = catalogue
        self.notify = notify or (lambda: None)

    def claim_name(self, repo: Repo, identity: Identity, region: str, name: str, exclude: str | None = None) -> None:
        """No other custom image of the account in ``region`` has ``name`` (``exclude``: the image being
        renamed); serialized per account and region, so it is exact under concurrency."""
        repo.lock(f"images:{identity.uin}:{region}")
        if repo.image_name_taken(identity.uin, region, name, exclude=exclude):
            raise errors.InvalidImageNameDuplicate(f"An image named `{name}` already exists in {region}.")

    def reserve_custom_image(self, repo: Repo, identity: Identity, region: str, name: str) -> None:
        """Name and quota checks for a new custom image (exact under concurrency)."""
        self.claim_name(repo, identity, region, name)
        used = repo.count_custom_images(identity.uin, region)
        if used >= self.settings.image_quota:
            raise errors.ImageQuotaLimitExceeded(
                f"The account already has {used} custom images in {region}; the quota is {self.settings.image_quota}."
            )

    def own_image(self, repo: Repo, identity: Identity, region: str, image_id: str,
                  shared_error: type[errors.ApiError] = errors.UnauthorizedOperationImageNotBelongToAccount) -> Image:
        """The caller's own custom image, locked for the caller's transaction (every owner-only
        operation changes it: two DeleteImages of one image must not both succeed);
        ``shared_error`` when it is an image shared with the caller."""
        check_image_id(image_id)
        row = repo.get_image(image_id, for_update=True)
        if row is None or row.region != region:
            if image_id in self.catalogue:
                raise errors.UnauthorizedOperationImageNotBelongToAccount(
                    f"The image `{image_id}` is a public or marketplace image, not one of this account's."
                )
            raise not_found(image_id, region)
        if row.owner_uin != identity.uin:
            if repo.is_shared_with(image_id, identity.uin):
                raise shared_error(
                    f"The image `{image_id}` is shared with this account by another one; it can only be used to "
                    "create instances (or be copied in its region with SyncImages)."
                )
            raise not_found(image_id, region)
        return row

    def visible_images(self, identity: Identity, region: str) -> list[ImageView]:
        """Every image ``identity`` can see in ``region``: public, marketplace, own custom, and the
        custom images other accounts shared with it in this region (as SHARED_IMAGE)."""
        self.regions.get(region)
        with self.db.read() as repo:
            rows = repo.images_in_region(region, uin=identity.uin, kinds=("PRIVATE",))
            rows += repo.images_shared_with(identity.uin, region)
            tags = repo.tags_of([r.image_id for r in rows])
            copying = repo.sources_being_copied([r.image_id for r in rows])
            custom = [self.view_of(repo, r, identity.uin, tags[r.image_id], copying=r.image_id in copying)
                      for r in rows]
        return custom + self.catalogue.in_region(region)

    def get_visible(self, identity: Identity, region: str, image_id: str) -> ImageView:
        check_image_id(image_id)
        for view in self.visible_images(identity, region):
            if view.image_id == image_id:
                return view
        raise not_found(image_id, region)

    @staticmethod
    def view_of(repo: Repo, row: Image, viewer: str, tags: dict[str, str], *, copying: bool = False) -> ImageView:
        """A custom image as ``viewer`` sees it (PRIVATE_IMAGE for its owner, SHARED_IMAGE otherwise).
        ``copying``: a copy of it to another region is running; the real service shows such a source
        as SYNCING until the copy ends (clients such as Terraform's tencentcloud_cvm_sync_image wait for
        the source to be NORMAL again), and DeleteImages refuses it meanwhile."""
        snapshots = tuple(
            ImageSnapshot(d.snapshot_id, "SYSTEM_DISK" if d.index == 0 else "DATA_DISK",
                          max(1, math.ceil(d.virtual_size / GIB)) if d.virtual_size else row.size_gib)
            for d in repo.image_disks(row.image_id)
        )
        return ImageView(
            image_id=row.image_id, image_type="PRIVATE_IMAGE" if row.owner_uin == viewer else "SHARED_IMAGE",
            source=row.source, name=row.name, description=row.description, os_name=row.os_name,
            platform=row.platform, os_type=row.os_type, architecture=row.architecture, size_gib=row.size_gib,
            state=lifecycle.SYNCING if copying and row.state == lifecycle.NORMAL else row.state,
            created_at=row.created_at, creator=row.creator, sync_percent=row.sync_percent,
            cloudinit=row.cloudinit, license_type=row.license_type, family=row.family, deprecated=row.deprecated,
            boot_mode=row.boot_mode, error=row.error, owner_uin=row.owner_uin, region=row.region,
            snapshots=snapshots, tags=dict(tags),
        )
