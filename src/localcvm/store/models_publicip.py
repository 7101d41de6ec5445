"""Public IP addresses held by instances: one row per address, unique per data dir."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class PublicIp(Base):
    """An address of the operator's public range (``LOCALCVM_PUBLIC_IP_RANGE``) held by an instance."""

    __tablename__ = "public_ips"

    ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
