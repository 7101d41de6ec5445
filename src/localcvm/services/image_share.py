"""Image sharing (PRODUCT.md R6, R10, R11): ModifyImageSharePermission, DescribeImageSharePermission.

A custom image in the NORMAL state can be shared with up to ``share_limit``
(50) other accounts, in its own region only. Recipients see it in that region
as ``SHARED_IMAGE`` (``ImageService.visible_images``) and may only start
instances from it or copy it into their own account in the same region
(``image_sync``); every other operation is refused by ``ImageService.own_image``.
The limit is checked inside the write transaction, under a per-image lock, so
concurrent calls cannot exceed it. The owner keeps paying the image's storage;
recipients pay nothing for it (``ImageService.operator_view`` shows it).
"""

from __future__ import annotations

from . import errors
from .iam import Identity
from .images import ImageService
from ..store.repo import utcnow

PERMISSIONS = ("SHARE", "CANCEL")


def _iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def modify_share_permission(svc: ImageService, identity: Identity, region: str, p: dict) -> None:
    svc.regions.get(region)
    permission = p["Permission"]
    if permission not in PERMISSIONS:
        raise errors.InvalidParameterValue(f"Permission must be SHARE or CANCEL, got `{permission}`.")
    accounts = list(dict.fromkeys(a.strip() for a in p["AccountIds"]))
    if not accounts:
        raise errors.MissingParameter("The request is missing the required parameter `AccountIds`.")
    with svc.db.write() as repo:
        row = svc.own_image(repo, identity, region, p["ImageId"])
        # Every account is checked before anything changes (no partial success).
        for uin in accounts:
            if uin == identity.uin:
                raise errors.InvalidAccountIsYourSelf(f"The image `{row.image_id}` cannot be shared with its own account.")
            if not uin.isdigit() or repo.get_account(uin) is None:
                raise errors.InvalidAccountIdNotFound(f"The account `{uin}` does not exist.")
        repo.lock(f"shares:{row.image_id}")
        shared = {s.account_uin for s in repo.shares_of(row.image_id)}
        if permission == "CANCEL":
            repo.delete_shares(row.image_id, [u for u in accounts if u in shared])
            return
        if row.state != "NORMAL":
            raise errors.InvalidImageIdIncorrectState(
                f"The image `{row.image_id}` is {row.state}; only NORMAL images can be shared."
            )
        if row.license_type == "BYOL":
            raise errors.FailedOperationBYOLImageShareFailed(
                f"The image `{row.image_id}` uses a BYOL license; such images cannot be shared."
            )
        already = [u for u in accounts if u in shared]
        if already:
            raise errors.FailedOperationAccountAlreadyExists(
                f"The image `{row.image_id}` is already shared with {', '.join(already)}."
            )
        limit = svc.settings.share_limit
        if len(shared) + len(accounts) > limit:
            raise errors.OverQuota(
                f"The image `{row.image_id}` is shared with {len(shared)} account(s); sharing it with "
                f"{len(accounts)} more would exceed the limit of {limit}."
            )
        now = utcnow()
        for uin in accounts:
            repo.add_share(row.image_id, uin, now)


def describe_share_permission(svc: ImageService, identity: Identity, region: str, image_id: str) -> list[dict]:
    svc.regions.get(region)
    with svc.db.read() as repo:
        row = svc.own_image(repo, identity, region, image_id)
        return [{"CreatedTime": _iso(s.created_at), "AccountId": s.account_uin} for s in repo.shares_of(row.image_id)]
