"""Tables. Every change to them comes with an Alembic migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, false, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A root account (the owner of resources), identified by its numeric Uin."""

    __tablename__ = "accounts"

    uin: Mapped[str] = mapped_column(String(20), primary_key=True)
    app_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    # An operator allowed this account to copy images between mainland China and elsewhere (SyncImages
    # across the border is refused otherwise)
    cross_border: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # bumped by every CAM change that can change what its sub-users may do: the policy check's
    # cache key, read with the key on every request (so no change is ever seen late)
    cam_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ApiKey(Base):
    """An API key pair (SecretId/SecretKey) of an account."""

    __tablename__ = "api_keys"

    secret_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC verification needs the key itself, as in the real service.
    secret_key: Mapped[str] = mapped_column(String(128))
    uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class Image(Base):
    """An image in one region: public, marketplace, or a custom image of an account."""

    __tablename__ = "images"

    image_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    # None for public and marketplace images
    owner_uin: Mapped[str | None] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # PUBLIC | MARKET | PRIVATE
    source: Mapped[str] = mapped_column(String(32))  # OFFICIAL | CREATE_IMAGE | EXTERNAL_IMPORT | MARKET
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(512), default="")
    os_name: Mapped[str] = mapped_column(String(128), default="")
    platform: Mapped[str] = mapped_column(String(64), default="")
    os_type: Mapped[str] = mapped_column(String(16), default="Linux")  # Linux | Windows
    architecture: Mapped[str] = mapped_column(String(16), default="x86_64")
    size_gib: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    sync_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cloudinit: Mapped[bool] = mapped_column(Boolean, default=True)
    license_type: Mapped[str] = mapped_column(String(16), default="TencentCloud")
    boot_mode: Mapped[str] = mapped_column(String(16), default="Legacy BIOS")
    family: Mapped[str] = mapped_column(String(64), default="")
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    creator: Mapped[str] = mapped_column(String(32), default="")
    price_hourly: Mapped[float] = mapped_column(Float, default=0.0)  # marketplace price, per hour
    provider: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(String(1024), default="")  # why IMPORTFAILED/CREATEFAILED
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # SyncImages: the image this one is a copy of, and its region (kept after the source is deleted)
    sync_source: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    sync_source_region: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ImageDisk(Base):
    """A disk of an image (index 0 = system disk) and its chunk manifest."""

    __tablename__ = "image_disks"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.image_id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[str] = mapped_column(String(16))
    virtual_size: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON; None until the disk is stored


class ImageShare(Base):
    """A custom image shared with another account (ModifyImageSharePermission): visible to it as SHARED_IMAGE, same region only."""

    __tablename__ = "image_shares"

    image_id: Mapped[str] = mapped_column(ForeignKey("images.image_id", ondelete="CASCADE"), primary_key=True)
    account_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Tag(Base):
    """A tag on any resource (image, instance, ...)."""

    __tablename__ = "tags"

    resource_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), default="")


class Job(Base):
    """Durable background work, leased by workers (import, create image, sync, export)."""

    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    resource_id: Mapped[str] = mapped_column(String(32), index=True)
    owner_uin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(16), index=True)  # PENDING | RUNNING | SUCCEEDED | FAILED
    progress: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint: Mapped[str] = mapped_column(Text, default="{}")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Lock(Base):
    """A row to lock (SELECT ... FOR UPDATE) around limits that must hold under concurrency."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)


class Instance(Base):
    """A CVM instance of an account in one zone."""

    __tablename__ = "instances"

    instance_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    zone: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int] = mapped_column(BigInteger, default=0)
    instance_type: Mapped[str] = mapped_column(String(32))
    cpu: Mapped[int] = mapped_column(Integer)
    memory_gib: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    hostname: Mapped[str] = mapped_column(String(64), default="")
    image_id: Mapped[str] = mapped_column(String(16))
    os_name: Mapped[str] = mapped_column(String(128), default="")
    os_type: Mapped[str] = mapped_column(String(16), default="Linux")
    license_type: Mapped[str] = mapped_column(String(16), default="TencentCloud")
    charge_type: Mapped[str] = mapped_column(String(32), default="POSTPAID_BY_HOUR")
    renew_flag: Mapped[str] = mapped_column(String(32), default="")
    expired_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    latest_operation: Mapped[str] = mapped_column(String(64), default="")
    latest_operation_state: Mapped[str] = mapped_column(String(16), default="")
    latest_operation_request_id: Mapped[str] = mapped_column(String(64), default="")
    latest_operation_error: Mapped[str] = mapped_column(String(512), default="")
    private_ip: Mapped[str] = mapped_column(String(45), default="")
    public_ip: Mapped[str] = mapped_column(String(45), default="")
    # InternetAccessible (PublicIpAssigned is whether public_ip is set)
    internet_charge_type: Mapped[str] = mapped_column(String(32), default="")
    internet_max_bandwidth_out: Mapped[int] = mapped_column(Integer, default=0)
    bandwidth_package_id: Mapped[str] = mapped_column(String(32), default="")
    security_group_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    keep_image_login: Mapped[bool] = mapped_column(Boolean, default=False)
    password_set: Mapped[bool] = mapped_column(Boolean, default=False)
    user_data: Mapped[str] = mapped_column(Text, default="")
    uuid: Mapped[str] = mapped_column(String(36))
    disable_api_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_mode: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Disk(Base):
    """A CBS cloud disk: the system disk of an instance, or a data disk."""

    __tablename__ = "disks"

    disk_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    zone: Mapped[str] = mapped_column(String(32))
    usage: Mapped[str] = mapped_column(String(16))  # SYSTEM_DISK | DATA_DISK
    disk_type: Mapped[str] = mapped_column(String(32))
    size_gib: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(16), index=True, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 = system disk; data disks 1..
    delete_with_instance: Mapped[bool] = mapped_column(Boolean, default=True)
    charge_type: Mapped[str] = mapped_column(String(32), default="POSTPAID_BY_HOUR")
    # where the bytes come from until the disk is written: an image disk or a snapshot
    base_kind: Mapped[str] = mapped_column(String(16), default="")  # image | snapshot | ""
    base_id: Mapped[str] = mapped_column(String(32), default="")
    base_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Snapshot(Base):
    """A CBS snapshot: a chunk manifest of a disk at a point in time."""

    __tablename__ = "snapshots"

    snapshot_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    zone: Mapped[str] = mapped_column(String(32), default="")
    disk_id: Mapped[str] = mapped_column(String(16), default="")
    usage: Mapped[str] = mapped_column(String(16), default="DATA_DISK")
    size_gib: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(32))  # CREATING | NORMAL | COPYING_FROM_REMOTE | ...
    percent: Mapped[int] = mapped_column(Integer, default=0)
    manifest: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class KeyPair(Base):
    __tablename__ = "key_pairs"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(String(256), default="")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class InstanceKeyPair(Base):
    __tablename__ = "instance_key_pairs"

    instance_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class ClientToken(Base):
    """Idempotency: the result of a call made with a ClientToken."""

    __tablename__ = "client_tokens"

    owner_uin: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CosBucket(Base):
    """An export bucket and the account it belongs to (a COS bucket belongs to one account: its
    name carries that account's AppId, ``name-APPID``)."""

    __tablename__ = "cos_buckets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
from . import models_network  # noqa: E402,F401
from . import models_cam  # noqa: E402,F401
from . import models_core  # noqa: E402,F401
from . import models_console  # noqa: E402,F401
from . import models_billing  # noqa: E402,F401
from . import models_publicip  # noqa: E402,F401
