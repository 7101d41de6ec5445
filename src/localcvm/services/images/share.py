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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ...store.repo import Repo, utcnow
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


@dataclass(frozen=True)
class ShareCodes:
    """The codes a product gives when a share change is refused (CVM images and CBS snapshots differ)."""

    self_share: type[errors.ApiError] = errors.InvalidAccountIsYourSelf
    no_account: type[errors.ApiError] = errors.InvalidAccountIdNotFound
    already: type[errors.ApiError] = errors.FailedOperationAccountAlreadyExists
    over_quota: type[errors.ApiError] = errors.OverQuota


def share_accounts(permission: str, account_ids: Sequence[str]) -> list[str]:
    """The accounts of a share change, once ``Permission`` and ``AccountIds`` are valid."""
    if permission not in PERMISSIONS:
        raise errors.InvalidParameterValue(f"Permission must be SHARE or CANCEL, got `{permission}`.")
    accounts = list(dict.fromkeys(a.strip() for a in account_ids))
    if not accounts:
        raise errors.MissingParameter("The request is missing the required parameter `AccountIds`.")
    return accounts


def check_accounts(repo: Repo, identity: Identity, what: str, accounts: list[str],
                   codes: ShareCodes = ShareCodes()) -> None:
    """Every account of a share change exists and is not the owner's (checked before anything changes)."""
    for uin in accounts:
        if uin == identity.uin:
            raise codes.self_share(f"{what} cannot be shared with its own account.")
        if not uin.isdigit() or repo.get_account(uin) is None:
            raise codes.no_account(f"The account `{uin}` does not exist.")


def check_new_shares(what: str, accounts: list[str], shared: set[str], limit: int,
                     codes: ShareCodes = ShareCodes()) -> list[str]:
    """SHARE adds no account twice and keeps within ``limit`` accounts (``shared`` counted by the caller
    under a lock on the resource, so concurrent calls cannot exceed it). Returns the accounts to add."""
    already = [u for u in accounts if u in shared]
    if already:
        raise codes.already(f"{what} is already shared with {', '.join(already)}.")
    if len(shared) + len(accounts) > limit:
        raise codes.over_quota(f"{what} is shared with {len(shared)} account(s); sharing it with {len(accounts)} "
                               f"more would exceed the limit of {limit}.")
    return accounts


class ImageSharing:
    def __init__(self, access: ImageAccess):
        self.access = access

    def modify(self, identity: Identity, region: str, req: ShareRequest) -> None:
        self.access.regions.get(region)
        accounts = share_accounts(req.permission, req.account_ids)
        with self.access.db.write() as repo:
            row = self.access.own_image(repo, identity, region, req.image_id)
            what = f"The image `{row.image_id}`"
            check_accounts(repo, identity, what, accounts)
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
            now = utcnow()
            for uin in check_new_shares(what, accounts, shared, self.access.settings.share_limit):
                repo.add_share(row.image_id, uin, now)

    def describe(self, identity: Identity, region: str, image_id: str) -> list[SharePermission]:
        self.access.regions.get(region)
        with self.access.db.read() as repo:
            row = self.access.own_image(repo, identity, region, image_id)
            return [SharePermission(s.account_uin, s.created_at) for s in repo.shares_of(row.image_id)]
