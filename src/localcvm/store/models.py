"""Tables. Every change to them comes with an Alembic migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, func
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


class ApiKey(Base):
    """An API key pair (SecretId/SecretKey) of an account."""

    __tablename__ = "api_keys"

    secret_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC verification needs the key itself, as in the real service.
    secret_key: Mapped[str] = mapped_column(String(128))
    uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
