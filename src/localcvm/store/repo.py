"""Queries. Services call these methods; no SQL lives outside the store."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .models import (Account, ApiKey, ClientToken, CosBucket, Disk, Image, ImageDisk, ImageShare, Instance, InstanceKeyPair, Job,
                     KeyPair, Lock, Snapshot, Tag)
from .models_network import IpAllocation


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


if TYPE_CHECKING:  # pragma: no cover
    from .db import Database

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # what a resource ID can look like


class Repo:
    def __init__(self, session: Session, db: "Database"):
        self.session = session
        self.db = db

    # --- accounts ------------------------------------------------------------
    def get_account(self, uin: str) -> Account | None:
        return self.session.get(Account, uin)

    def get_account_by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def list_accounts(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.created_at, Account.uin)))

    def max_uin(self) -> int:
        return int(self.session.scalar(select(func.max(Account.uin))) or 0)

    def add_account(self, uin: str, app_id: int, name: str) -> Account:
        account = Account(uin=uin, app_id=app_id, name=name)
        self.session.add(account)
        self.session.flush()
        return account

    # --- API keys ---------------------------------------------------------------
    def get_key(self, secret_id: str) -> ApiKey | None:
        return self.session.get(ApiKey, secret_id)

    def add_key(self, uin: str, secret_id: str, secret_key: str) -> ApiKey:
        key = ApiKey(uin=uin, secret_id=secret_id, secret_key=secret_key, active=True)
        self.session.add(key)
        self.session.flush()
        return key

    def keys_of(self, uin: str) -> list[ApiKey]:
        return list(self.session.scalars(select(ApiKey).where(ApiKey.uin == uin).order_by(ApiKey.created_at)))

    def delete_api_key(self, key: ApiKey) -> None:
        self.session.delete(key)

    # --- locks ----------------------------------------------------------------------------
    def lock(self, name: str) -> None:
        """Serialize this transaction with every other one that locks ``name``.

        SQLite write transactions already hold the database's write lock
        (BEGIN IMMEDIATE); PostgreSQL locks the named row FOR UPDATE.
        """
        if self.db.is_sqlite:
            return
        from sqlalchemy.dialects.postgresql import insert

        if len(name) > 96:  # a name built from a caller's (not yet validated) ID: keep it to the column
            name = name[:48] + ":" + hashlib.sha256(name.encode()).hexdigest()[:40]

        self.session.execute(insert(Lock).values(name=name).on_conflict_do_nothing())
        self.session.execute(select(Lock).where(Lock.name == name).with_for_update())

    # --- images -----------------------------------------------------------------------------
    def add(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def lock_all(self, model, keys) -> None:
        """Lock the rows of ``keys`` (primary keys of ``model``) in key order, before a call locks
        them one by one in its request's order: two calls naming the same rows in different orders
        then queue instead of deadlocking (PostgreSQL; SQLite serialises writers already)."""
        wanted = sorted({k for k in keys if isinstance(k, str) and _KEY.fullmatch(k)})  # not yet validated
        if not wanted or self.db.is_sqlite:
            return
        pk = model.__mapper__.primary_key[0]
        self.session.execute(select(pk).where(pk.in_(wanted)).order_by(pk).with_for_update())

    def _get(self, model, key: str, for_update: bool):
        """A row by its primary key. ``for_update``: locked until the transaction ends (PostgreSQL;
        a SQLite write transaction holds the whole database already), so two writers of one
        resource queue instead of both acting on what they read."""
        if for_update and not self.db.is_sqlite:
            return self.session.get(model, key, with_for_update=True, populate_existing=True)
        return self.session.get(model, key)

    def get_image(self, image_id: str, *, for_update: bool = False) -> Image | None:
        return self._get(Image, image_id, for_update)

    def images_in_region(self, region: str, *, uin: str, kinds: tuple[str, ...] = ("PUBLIC", "MARKET", "PRIVATE"),
                         owner: str | None = None) -> list[Image]:
        """Images of ``region`` that ``uin`` may see: public/marketplace and its own custom ones."""
        visible = []
        if "PUBLIC" in kinds or "MARKET" in kinds:
            visible.append(and_(Image.owner_uin.is_(None), Image.kind.in_([k for k in kinds if k != "PRIVATE"])))
        if "PRIVATE" in kinds:
            visible.append(and_(Image.owner_uin == uin, Image.kind == "PRIVATE"))
        if not visible:
            return []
        q = select(Image).where(Image.region == region, or_(*visible))
        if owner is not None:
            q = q.where(Image.owner_uin == owner)
        return list(self.session.scalars(q.order_by(Image.created_at.desc(), Image.image_id)))

    def count_custom_images(self, uin: str, region: str) -> int:
        return self.session.scalar(
            select(func.count()).select_from(Image).where(
                Image.owner_uin == uin, Image.region == region, Image.kind == "PRIVATE"
            )
        ) or 0

    def image_name_taken(self, uin: str, region: str, name: str, exclude: str | None = None) -> bool:
        q = select(Image.image_id).where(Image.owner_uin == uin, Image.region == region, Image.name == name)
        if exclude:
            q = q.where(Image.image_id != exclude)
        return self.session.scalar(q.limit(1)) is not None

    def delete_image(self, image_id: str) -> None:
        self.session.execute(delete(ImageShare).where(ImageShare.image_id == image_id))
        self.session.execute(delete(ImageDisk).where(ImageDisk.image_id == image_id))
        self.session.execute(delete(Tag).where(Tag.resource_id == image_id))
        self.session.execute(delete(Image).where(Image.image_id == image_id))

    def image_disks(self, image_id: str) -> list[ImageDisk]:
        return list(self.session.scalars(select(ImageDisk).where(ImageDisk.image_id == image_id).order_by(ImageDisk.index)))

    def manifests_in_region(self, region: str) -> list[str]:
        """Every stored manifest (JSON) of the region's images (for chunk GC)."""
        q = select(ImageDisk.manifest).join(Image, Image.image_id == ImageDisk.image_id).where(
            Image.region == region, ImageDisk.manifest.is_not(None)
        )
        return list(self.session.scalars(q))

    # --- image shares -------------------------------------------------------------------
    def shares_of(self, image_id: str) -> list[ImageShare]:
        return list(self.session.scalars(select(ImageShare).where(ImageShare.image_id == image_id)
                                         .order_by(ImageShare.created_at, ImageShare.account_uin)))

    def count_shares(self, image_id: str) -> int:
        return self.session.scalar(
            select(func.count()).select_from(ImageShare).where(ImageShare.image_id == image_id)) or 0

    def is_shared_with(self, image_id: str, uin: str) -> bool:
        return self.session.get(ImageShare, (image_id, uin)) is not None

    def add_share(self, image_id: str, uin: str, created_at: datetime) -> None:
        self.session.add(ImageShare(image_id=image_id, account_uin=uin, created_at=created_at))
        self.session.flush()

    def delete_shares(self, image_id: str, uins: list[str]) -> None:
        if uins:
            self.session.execute(delete(ImageShare).where(ImageShare.image_id == image_id,
                                                          ImageShare.account_uin.in_(uins)))

    def images_shared_with(self, uin: str, region: str) -> list[Image]:
        """Custom images of other accounts shared with ``uin`` in ``region``."""
        q = (select(Image).join(ImageShare, ImageShare.image_id == Image.image_id)
             .where(ImageShare.account_uin == uin, Image.region == region, Image.kind == "PRIVATE"))
        return list(self.session.scalars(q.order_by(Image.created_at.desc(), Image.image_id)))

    def copies_running_from(self, image_id: str) -> list[str]:
        """The copies (SyncImages) of ``image_id`` still SYNCING, in any region."""
        q = select(Image.image_id).where(Image.sync_source == image_id, Image.state == "SYNCING")
        return list(self.session.scalars(q.order_by(Image.image_id)))

    def sources_being_copied(self, image_ids: list[str]) -> set[str]:
        """Those of ``image_ids`` that have a copy (SyncImages) still SYNCING."""
        if not image_ids:
            return set()
        q = select(Image.sync_source).where(Image.sync_source.in_(image_ids), Image.state == "SYNCING")
        return set(self.session.scalars(q))

    def sync_source_manifests_in_region(self, region: str) -> list[str]:
        """Manifests of the source images of copies still SYNCING into ``region`` (chunk GC keeps them)."""
        sources = select(Image.sync_source).where(Image.region == region, Image.state == "SYNCING",
                                                  Image.sync_source.is_not(None))
        q = select(ImageDisk.manifest).where(ImageDisk.image_id.in_(sources), ImageDisk.manifest.is_not(None))
        return list(self.session.scalars(q))

    def set_cross_border(self, uin: str, allowed: bool) -> bool:
        account = self.session.get(Account, uin)
        if account is None:
            return False
        account.cross_border = allowed
        self.session.flush()
        return True

    # --- tags -----------------------------------------------------------------------------
    def set_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            tag = self.session.get(Tag, (resource_id, key))
            if tag is None:
                self.session.add(Tag(resource_id=resource_id, key=key, value=value))
            else:
                tag.value = value
        self.session.flush()

    def delete_tags(self, resource_id: str, keys: list[str]) -> None:
        if keys:
            self.session.execute(delete(Tag).where(Tag.resource_id == resource_id, Tag.key.in_(keys)))
            self.session.flush()

    def tags_of(self, resource_ids: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {rid: {} for rid in resource_ids}
        if resource_ids:
            for tag in self.session.scalars(select(Tag).where(Tag.resource_id.in_(resource_ids)).order_by(Tag.key)):
                out[tag.resource_id][tag.key] = tag.value
        return out

    # --- jobs -----------------------------------------------------------------------------
    def get_job(self, job_id: str) -> Job | None:
        return self.session.get(Job, job_id)

    def jobs_for(self, resource_id: str) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.resource_id == resource_id).order_by(Job.created_at)))

    def lease_job(self, kinds: list[str], owner: str, seconds: float) -> Job | None:
        """Take the oldest pending job, or a running one whose lease expired (its worker died)."""
        now = time.time()
        q = (
            select(Job)
            .where(Job.kind.in_(kinds))
            .where(or_(Job.state == "PENDING", and_(Job.state == "RUNNING", Job.lease_expires < now)))
            .order_by(Job.created_at, Job.job_id)
            .limit(1)
        )
        if not self.db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        job = self.session.scalar(q)
        if job is None:
            return None
        job.state = "RUNNING"
        job.lease_owner = owner
        job.lease_expires = now + seconds
        job.attempts += 1
        job.updated_at = utcnow()
        self.session.flush()
        return job

    def renew_lease(self, job_id: str, owner: str, seconds: float, **changes) -> bool:
        """Extend a lease (and record progress); False when the lease was lost."""
        values = dict(lease_expires=time.time() + seconds, updated_at=utcnow(), **changes)
        result = self.session.execute(
            update(Job).where(Job.job_id == job_id, Job.lease_owner == owner, Job.state == "RUNNING").values(**values)
        )
        return result.rowcount == 1

    def running_jobs(self) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.state == "RUNNING")))

    # --- instances ------------------------------------------------------------------------
    def get_instance(self, instance_id: str, *, for_update: bool = False) -> Instance | None:
        return self._get(Instance, instance_id, for_update)

    def instances_of(self, uin: str, region: str, ids: list[str] | None = None) -> list[Instance]:
        q = select(Instance).where(Instance.owner_uin == uin, Instance.region == region)
        if ids:
            q = q.where(Instance.instance_id.in_(ids))
        return list(self.session.scalars(q.order_by(Instance.created_at.desc(), Instance.instance_id)))

    def delete_instance(self, instance_id: str) -> None:
        self.session.execute(delete(InstanceKeyPair).where(InstanceKeyPair.instance_id == instance_id))
        self.session.execute(delete(Tag).where(Tag.resource_id == instance_id))
        self.session.execute(delete(Instance).where(Instance.instance_id == instance_id))
        self.session.execute(delete(IpAllocation).where(IpAllocation.resource_id == instance_id))  # its private IP

    # --- disks ------------------------------------------------------------------------------
    def get_disk(self, disk_id: str, *, for_update: bool = False) -> Disk | None:
        return self._get(Disk, disk_id, for_update)

    def disks_of_instance(self, instance_id: str) -> list[Disk]:
        return list(self.session.scalars(select(Disk).where(Disk.instance_id == instance_id).order_by(Disk.position)))

    def disks_of(self, uin: str, region: str, ids: list[str] | None = None) -> list[Disk]:
        q = select(Disk).where(Disk.owner_uin == uin, Disk.region == region)
        if ids:
            q = q.where(Disk.disk_id.in_(ids))
        return list(self.session.scalars(q.order_by(Disk.created_at.desc(), Disk.disk_id)))

    def disks_in_states(self, states: tuple[str, ...]) -> list[Disk]:
        return list(self.session.scalars(select(Disk).where(Disk.state.in_(states)).order_by(Disk.disk_id)))

    def delete_disk(self, disk_id: str) -> None:
        self.session.execute(delete(Tag).where(Tag.resource_id == disk_id))
        self.session.execute(delete(Disk).where(Disk.disk_id == disk_id))

    # --- snapshots ------------------------------------------------------------------------
    def get_snapshot(self, snapshot_id: str, *, for_update: bool = False) -> Snapshot | None:
        return self._get(Snapshot, snapshot_id, for_update)

    def snapshots_of(self, uin: str, region: str, ids: list[str] | None = None) -> list[Snapshot]:
        q = select(Snapshot).where(Snapshot.owner_uin == uin, Snapshot.region == region)
        if ids:
            q = q.where(Snapshot.snapshot_id.in_(ids))
        return list(self.session.scalars(q.order_by(Snapshot.created_at.desc(), Snapshot.snapshot_id)))

    def snapshot_manifests_in_region(self, region: str) -> list[str]:
        return list(self.session.scalars(select(Snapshot.manifest).where(
            Snapshot.region == region, Snapshot.manifest.is_not(None))))

    def images_by_ids(self, image_ids: list[str]) -> list[Image]:
        return list(self.session.scalars(select(Image).where(Image.image_id.in_(image_ids)))) if image_ids else []

    def images_of_snapshots(self, snapshot_ids: list[str]) -> dict[str, list[str]]:
        """``{snapshot_id: [image_id, ...]}`` for the images made of these snapshots."""
        out: dict[str, list[str]] = {}
        if snapshot_ids:
            q = select(ImageDisk.snapshot_id, ImageDisk.image_id).where(ImageDisk.snapshot_id.in_(snapshot_ids))
            for sid, image_id in self.session.execute(q.order_by(ImageDisk.image_id)):
                out.setdefault(sid, []).append(image_id)
        return out

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.session.execute(delete(Tag).where(Tag.resource_id == snapshot_id))
        self.session.execute(delete(Snapshot).where(Snapshot.snapshot_id == snapshot_id))

    # --- key pairs --------------------------------------------------------------------------
    def get_key_pair(self, key_id: str, *, for_update: bool = False) -> KeyPair | None:
        return self._get(KeyPair, key_id, for_update)

    def key_pairs_of(self, uin: str, ids: list[str] | None = None) -> list[KeyPair]:
        q = select(KeyPair).where(KeyPair.owner_uin == uin)
        if ids:
            q = q.where(KeyPair.key_id.in_(ids))
        return list(self.session.scalars(q.order_by(KeyPair.created_at.desc(), KeyPair.key_id)))

    def key_ids_of(self, instance_id: str) -> list[str]:
        return list(self.session.scalars(select(InstanceKeyPair.key_id).where(
            InstanceKeyPair.instance_id == instance_id).order_by(InstanceKeyPair.key_id)))

    def instances_with_key(self, key_id: str) -> list[str]:
        return list(self.session.scalars(select(InstanceKeyPair.instance_id).where(
            InstanceKeyPair.key_id == key_id).order_by(InstanceKeyPair.instance_id)))

    def set_instance_keys(self, instance_id: str, key_ids: list[str]) -> None:
        self.session.execute(delete(InstanceKeyPair).where(InstanceKeyPair.instance_id == instance_id))
        for key_id in dict.fromkeys(key_ids):
            self.session.add(InstanceKeyPair(instance_id=instance_id, key_id=key_id))
        self.session.flush()

    def delete_key_pair(self, key_id: str) -> None:
        self.session.execute(delete(Tag).where(Tag.resource_id == key_id))
        self.session.execute(delete(KeyPair).where(KeyPair.key_id == key_id))

    # --- client tokens ----------------------------------------------------------------------
    def get_client_token(self, uin: str, region: str, action: str, token: str) -> ClientToken | None:
        return self.session.get(ClientToken, (uin, region, action, token))

    def disks_using_base(self, kind: str, base_id: str) -> list[str]:
        return list(self.session.scalars(select(Disk.disk_id).where(Disk.base_kind == kind, Disk.base_id == base_id)))

    def disks_of_instances(self, instance_ids: list[str]) -> dict[str, list[Disk]]:
        out: dict[str, list[Disk]] = {}
        if instance_ids:
            q = select(Disk).where(Disk.instance_id.in_(instance_ids)).order_by(Disk.instance_id, Disk.position)
            for disk in self.session.scalars(q):
                out.setdefault(disk.instance_id, []).append(disk)
        return out

    def key_ids_of_instances(self, instance_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if instance_ids:
            q = select(InstanceKeyPair).where(InstanceKeyPair.instance_id.in_(instance_ids)).order_by(InstanceKeyPair.key_id)
            for link in self.session.scalars(q):
                out.setdefault(link.instance_id, []).append(link.key_id)
        return out

    # --- export buckets --------------------------------------------------------------------------
    def bucket_owner(self, name: str, claimant: str) -> str:
        """The account a bucket belongs to; a bucket seen for the first time becomes ``claimant``'s."""
        self.lock(f"bucket:{name}")
        row = self.session.get(CosBucket, name)
        if row is None:
            row = CosBucket(name=name, owner_uin=claimant, created_at=utcnow())
            self.session.add(row)
        return row.owner_uin

    # --- after the transaction (images) ----------------------------------------------------------
    def after_commit(self, callback) -> None:
        """Run ``callback()`` once this transaction has committed (never if it rolls back): the place
        for file-system work that must not run while the transaction holds its locks."""
        from sqlalchemy import event

        event.listen(self.session, "after_commit", lambda _session: callback(), once=True)
