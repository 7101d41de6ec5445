"""Bills: what the meter's segments cost over a calendar month, as the billing product shows it.

A billing cycle is a calendar month (UTC). A segment's cost in a period is its quantity × unit price
× the hours of it that fall in the period (to the second, as pay-as-you-go is metered). Detail rows
are hourly settlements ("按量计费小时结"): one per resource and clock hour, with a component per item.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from ...store.models_billing import UsageSegment
from .. import errors

HOUR = timedelta(hours=1)
# the billing product's names of each product and item (BusinessCode, component)
BUSINESS = {"cvm": ("p_cvm", "云服务器CVM"), "cbs": ("p_cbs", "云硬盘CBS")}
COMPONENTS = {
    "compute": ("v_cvm_compute", "运算组件", "HOUR"),
    "licence": ("v_cvm_os_license", "操作系统许可", "核·小时"),
    "marketplace": ("v_cvm_market_image", "镜像市场", "HOUR"),
    "bandwidth": ("v_cvm_bandwidth", "带宽", "Mbps·小时"),
    "system_disk": ("v_cvm_rootdisk", "系统盘", "GB·小时"),
    "disk": ("v_cbs_disk", "云硬盘", "GB·小时"),
    "snapshot": ("v_cbs_snapshot", "快照存储", "GB·小时"),
    "prepaid": ("v_cvm_prepaid", "包年包月", "月"),
}


@dataclass(frozen=True)
class Line:
    """One segment's use within a period (or within one hour of it)."""

    resource_id: str  # what the bill lists it under
    segment_resource: str
    name: str
    product: str
    item: str
    sku: str
    region: str
    zone: str
    pay_mode: str
    quantity: Decimal
    unit_price: Decimal
    currency: str
    begin: datetime
    end: datetime

    @property
    def hours(self) -> Decimal:
        return Decimal(int((self.end - self.begin).total_seconds())) / 3600

    @property
    def cost(self) -> Decimal:
        if self.pay_mode == "PREPAID":  # a purchase: ``quantity`` months at ``unit_price``, once
            return self.quantity * self.unit_price
        return self.quantity * self.unit_price * self.hours


def month_range(month: str) -> tuple[datetime, datetime]:
    """``yyyy-mm`` → [first instant, first instant of the next month)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise errors.InvalidParameterValue(f"Month must be yyyy-mm, got `{month}`.")
    begin = datetime(int(m.group(1)), int(m.group(2)), 1)
    end = datetime(begin.year + (begin.month == 12), begin.month % 12 + 1, 1)
    return begin, end


def month_of_times(begin: str | None, end: str | None, *, month: str | None = None) -> str:
    """The month a request means: BeginTime and EndTime together (``yyyy-mm`` or
    ``yyyy-mm-dd hh:ii:ss``, the same month: the API bills whole months and never across two), else Month."""
    if begin or end:
        if not (begin and end):
            raise errors.InvalidParameter("BeginTime and EndTime must be given together.")
        months = []
        for name, value in (("BeginTime", begin), ("EndTime", end)):
            m = re.fullmatch(r"(\d{4}-\d{2})(-\d{2} \d{2}:\d{2}:\d{2})?", value.strip())
            if not m:
                raise errors.InvalidParameterValue(f"{name} must be yyyy-mm or yyyy-mm-dd hh:ii:ss, got `{value}`.")
            if m.group(2):
                try:
                    datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    raise errors.InvalidParameterValue(f"{name} `{value}` is not a valid time.") from None
            months.append(m.group(1))
        if months[0] != months[1]:
            raise errors.InvalidParameter("BeginTime and EndTime must be in the same month: bills are monthly.")
        month_range(months[0])
        return months[0]
    if not month:
        raise errors.MissingParameter("The request is missing `Month` (or `BeginTime` and `EndTime`).")
    month_range(month)
    return month


def lines(session, owner_uin: str, begin: datetime, end: datetime, now: datetime) -> list[Line]:
    """Every segment of ``owner_uin`` that overlaps [begin, end), clipped to it and to ``now``."""
    q = (select(UsageSegment).where(UsageSegment.owner_uin == owner_uin, UsageSegment.started_at < end,
                                    or_(UsageSegment.ended_at.is_(None), UsageSegment.ended_at >= begin))
         .order_by(UsageSegment.started_at, UsageSegment.id))
    out = []
    for s in session.scalars(q):
        b = max(s.started_at, begin)
        e = min(s.ended_at or now, end, max(now, s.started_at))
        if s.pay_mode == "PREPAID":  # charged when bought
            if not begin <= s.started_at < end:
                continue
            b = e = s.started_at
        elif e <= b:
            continue
        out.append(Line(s.parent_id or s.resource_id, s.resource_id, s.resource_name, s.product, s.item, s.sku,
                        s.region, s.zone, s.pay_mode, Decimal(s.quantity), Decimal(s.unit_price), s.currency, b, e))
    return out


def hourly(items: list[Line]) -> list[Line]:
    """Split lines at clock hours (the hourly settlements of pay-as-you-go)."""
    out = []
    for line in items:
        if line.begin == line.end:  # a purchase
            out.append(line)
            continue
        start = line.begin
        while start < line.end:
            hour_end = min(start.replace(minute=0, second=0, microsecond=0) + HOUR, line.end)
            out.append(Line(**{**line.__dict__, "begin": start, "end": hour_end}))
            start = hour_end
    return out


def total(items) -> Decimal:
    return sum((i.cost for i in items), Decimal(0))


def money(value: Decimal) -> str:
    """Amounts as the billing API writes them: a decimal string with 8 places."""
    return f"{value.quantize(Decimal('0.00000001')):f}"


def group(items: list[Line], key) -> dict:
    out: dict = defaultdict(list)
    for i in items:
        out[key(i)].append(i)
    return dict(out)
