"""Image sharing: ModifyImageSharePermission, DescribeImageSharePermission.

A custom image in the NORMAL state can be shared with up to ``share_limit``
(50, the real API's limit) other accounts, in its own region only. Recipients
see it in that region as ``SHARED_IMAGE`` (``ImageAccess.visible_images``) and
may only start instances from it or copy it into their own account in the same
region (SyncImages); every other operation is refused by ``ImageAccess.own_image``.
The limit is checked inside the write transaction, under a per-image lock, so
concurrent calls cannot exceed it. The owner keeps paying the image's storage;
recipients pay nothing for it (``ImageService.operator_view`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...store.repo import utcnow
from .. import errors
from ..iam import Identity
from . import lifecycle
from .rules import ImageAccess

PERMISSIONS = ("SHARE", "CANCEL")


@dataclass(frozen=True)
class ShareRequest:
    """ModifyImageSharePermission's parameters."""

    image_id: str
    permission: str  # SHARE | CANCEL
    account_ids: tuple[str, ...]


@dataclass(frozen=True)
class SharePermission:
    """An account an image is shared with, and since when."""

    account_id: str
    created_at: datetime


class ImageSharing:
    def __init__(self, access: ImageAccess):
        self.access = access

    def modify(self, identity: Identity, region: str, req: ShareRequest) -> None:
        self.access.regions.get(region)
        if req.permission not in PERMISSIONS:
            raise errors.InvalidParameterValue(f"Permission must be SHARE or CANCEL, got `{req.permission}`.")
        accounts = list(dict.fromkeys(a.strip() for a in req.account_ids))
        if not accounts:
            raise errors.MissingParameter("The request is missing the required parameter `AccountIds`.")
        with self.access.db.write() as repo:
            row = self.access.own_image(repo, identity, region, req.image_id)
            # Every account is checked before anything changes (no partial success).
            for uin in accounts:
                if uin == identity.uin:
                    raise errors.InvalidAccountIsYourSelf(f"The image `{row.image_id}` cannot be shared with its own account.")
                if not uin.isdigit() or repo.get_account(uin) is None:
                    raise errors.InvalidAccountIdNotFound(f"The account `{uin}` does not exist.")
            repo.lock(f"shares:{row.image_id}")
            shared = {s.account_uin for s in repo.shares_of(row.image_id)}
            if req.permission == "CANCEL":
                repo.delete_shares(row.image_id, [u for u in accounts if u in shared])
                return
            lifecycle.check_normal(row, f"The image `{row.image_id}` is {row.state}; only NORMAL images can be shared.")
            if row.license_type == "BYOL":
                raise errors.FailedOperationBYOLImageShareFailed(
                    f"The image `{row.image_id}` uses a BYOL license; such images cannot be shared."
                )
            already = [u for u in accounts if u in shared]
            if already:
                raise errors.FailedOperationAccountAlreadyExists(
                    f"The image `{row.image_id}` is already shared with {', '.join(already)}."
                )
            limit = self.access.settings.share_limit
            if len(shared) + len(accounts) > limit:
                raise errors.OverQuota(
                    f"The image `{row.image_id}` is shared with {len(shared)} account(s); sharing it with "
                    f"{len(accounts)} more would exceed the limit of {limit}."
                )
            now = utcnow()
            for uin in accounts:
                repo.add_share(row.image_id, uin, now)

    def describe(self, identity: Identity, region: str, image_id: str) -> list[SharePermission]:
        self.access.regions.get(region)
        with self.access.db.read() as repo:
            row = self.access.own_image(repo, identity, region, image_id)
            return [SharePermission(s.account_uin, s.created_at) for s in repo.shares_of(row.image_id)]
