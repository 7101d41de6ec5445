"""Web console tables: root accounts' console passwords and server-side sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class ConsolePassword(Base):
    """A root account's console password, as an scrypt hash with its salt and cost parameters."""

    __tablename__ = "console_passwords"

    uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    digest: Mapped[bytes] = mapped_column(LargeBinary(64))
    cost_n: Mapped[int] = mapped_column(Integer)
    cost_r: Mapped[int] = mapped_column(Integer)
    cost_p: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ConsoleSession(Base):
    """A signed-in browser: the cookie carries the token, the table only its SHA-256."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(64), default="")  # "" for the root account
    secret_id: Mapped[str] = mapped_column(String(64), default="")  # the key signed in with, if any
    csrf_token: Mapped[str] = mapped_column(String(64))
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime, index=True)
