"""CAM tables: sub-users of a root account, their API keys, user groups, custom policies (with
versions) and the attachments of policies to users and groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class CamUser(Base):
    """A sub-user: its own Uin, owned by a root account (what it creates belongs to the owner)."""

    __tablename__ = "cam_users"
    __table_args__ = (UniqueConstraint("owner_uin", "name", name="uq_cam_users_owner_name"),)

    uin: Mapped[str] = mapped_column(String(20), primary_key=True)
    uid: Mapped[int] = mapped_column(BigInteger, unique=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    remark: Mapped[str] = mapped_column(String(256), default="")
    console_login: Mapped[bool] = mapped_column(Boolean, default=False)
    # hashlib.scrypt: "scrypt$<salt hex>$<hash hex>"; "" when the user has no console password
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    need_reset_password: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str] = mapped_column(String(32), default="")
    country_code: Mapped[str] = mapped_column(String(8), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CamAccessKey(Base):
    """An API key pair of a sub-user (at most two per user, Active or Inactive)."""

    __tablename__ = "cam_access_keys"

    secret_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_key: Mapped[str] = mapped_column(String(128))
    user_uin: Mapped[str] = mapped_column(ForeignKey("cam_users.uin", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CamGroup(Base):
    __tablename__ = "cam_groups"
    __table_args__ = (UniqueConstraint("owner_uin", "name", name="uq_cam_groups_owner_name"),)

    group_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    remark: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CamGroupMember(Base):
    __tablename__ = "cam_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("cam_groups.group_id", ondelete="CASCADE"), primary_key=True)
    user_uin: Mapped[str] = mapped_column(ForeignKey("cam_users.uin", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CamPolicy(Base):
    """A custom policy; its documents are its versions (the default one is in force)."""

    __tablename__ = "cam_policies"
    __table_args__ = (UniqueConstraint("owner_uin", "name", name="uq_cam_policies_owner_name"),)

    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(300), default="")
    default_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class CamPolicyVersion(Base):
    __tablename__ = "cam_policy_versions"

    policy_id: Mapped[int] = mapped_column(ForeignKey("cam_policies.policy_id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    # bumped whenever the document changes in place (UpdatePolicy)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CamAttachment(Base):
    """A policy (custom or preset: preset ones have no cam_policies row) attached to a user or a group."""

    __tablename__ = "cam_attachments"

    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | group
    target: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)  # user Uin or group id
    created_at: Mapped[datetime] = mapped_column(DateTime)
