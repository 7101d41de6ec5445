"""Billing tables: the usage meter's segments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class UsageSegment(Base):
    """One billable item of one resource at one rate over a stretch of time: opened by the state change
    that starts the charge, closed (``ended_at``) by the one that stops or changes it, both in the
    same transaction as that change. ``quantity`` × ``unit_price`` is charged per hour."""

    __tablename__ = "usage_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_uin: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(32), default="")
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_name: Mapped[str] = mapped_column(String(128), default="")
    # the resource the bill lists it under when that is another (an instance, for its system disk)
    parent_id: Mapped[str] = mapped_column(String(64), default="")
    product: Mapped[str] = mapped_column(String(16))  # cvm | cbs
    item: Mapped[str] = mapped_column(String(32))  # compute | licence | marketplace | bandwidth | disk | snapshot
    sku: Mapped[str] = mapped_column(String(64))  # instance type, disk type, image ID, ...
    pay_mode: Mapped[str] = mapped_column(String(32), default="POSTPAID_BY_HOUR")
    quantity: Mapped[str] = mapped_column(String(40))  # a decimal, as text (exact on every database)
    unit_price: Mapped[str] = mapped_column(String(40))  # a decimal per unit-hour, in ``currency``
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
