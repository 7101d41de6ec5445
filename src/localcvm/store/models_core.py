"""Tables of launch templates, auto-snapshot policies and snapshot copies (issue 24)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class LaunchTemplate(Base):
    """An instance launch template of an account in a region; its versions hold the parameters."""

    __tablename__ = "launch_templates"

    template_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_uin: Mapped[str] = mapped_column(ForeignKey("accounts.uin", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    default_version: Mapped[int] = mapped_column(Integer, default=1)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LaunchTemplateVersion(Base):
    """One version of a launch template: the RunInstances parameters it holds (JSON)."""

    __tablename__ = "launch_template_versions"

    template_id: Mapped[str] = mapped_column(ForeignKey("launch_templates.template_id", ondelete="CASCADE"),
                                             primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String(256), default="")
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
