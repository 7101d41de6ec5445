"""The Inquiry* actions: what an action would cost, checked exactly as the action itself checks its
request (they call the action's own checks, which write nothing) and changing nothing.

Pay-as-you-go is quoted per hour (``ChargeUnit`` ``HOUR``: ``UnitPrice``, ``UnitPriceDiscount``),
prepaid per period (``OriginalPrice``, ``DiscountPrice``, ``Discount`` in percent). An instance's
hourly price is its type's, plus the Windows licence outside mainland China, plus a marketplace
image's provider fee, plus its system and data disks: the same figures the meter charges.
"""

from __future__ import annotations

from decimal import Decimal

from .. import errors
from ..disks import CreateDisksRequest
from ..disks.service import check_disk_size
from ..iam import Identity
from ..instances.requests import InternetRequest, RunRequest
from .prices import RegionPrices
from .views import ItemPrice, Quote

CENT = Decimal("0.01")
DISK_PERIODS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24, 36, 48, 60)


def _exact(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.00000001")).normalize()


def hourly(price: Decimal, unit: str = "HOUR") -> ItemPrice:
    price = _exact(price)
    return ItemPrice(charge_unit=unit, unit_price=price, unit_price_discount=price, discount=Decimal(100))


def prepaid(p: RegionPrices, per_hour: Decimal, months: int) -> ItemPrice:
    month_hours = Decimal(str(p.raw.get("prepaid", {}).get("month_hours", 360)))
    original = (per_hour * month_hours * months).quantize(CENT)
    pct = p.period_discount(months)
    return ItemPrice(charge_unit="MONTH", original=original, discounted=(original * pct / 100).quantize(CENT), discount=pct)


def bandwidth(p: RegionPrices, net: InternetRequest) -> ItemPrice | None:
    if net.charge_type == "BANDWIDTH_POSTPAID_BY_HOUR":
        return hourly(p.bandwidth_unit(net.charge_type) * net.max_bandwidth_out)
    if net.charge_type in ("", "TRAFFIC_POSTPAID_BY_HOUR"):
        return hourly(p.bandwidth_unit("TRAFFIC_POSTPAID_BY_HOUR"), "GB")
    return hourly(Decimal(0))


class InquiryOps:
    """The inquiry methods of ``BillingService``."""

    def quote_run(self, identity: Identity, region: str, req: RunRequest) -> Quote:
        """InquiryPriceRunInstances: the RunInstances checks (``plan_run``), then the price."""
        plan = self.instances.plan_run(identity, region, req)
        p = self.prices.for_region(region)
        per_hour = (p.instance_hour(plan.itype) + p.instance_extras_hour(plan.itype, plan.image)
                    + sum((p.disk_gib_hour(d.disk_type) * d.size_gib for d in plan.disks), Decimal(0))) * req.count
        if plan.charge == "PREPAID":
            return Quote(instance=prepaid(p, per_hour, req.prepaid_period or 1), bandwidth=bandwidth(p, req.internet))
        return Quote(instance=hourly(per_hour), bandwidth=bandwidth(p, req.internet))

    def quote_create_disks(self, identity: Identity, region: str, req: CreateDisksRequest,
                           period: int | None) -> ItemPrice:
        """InquiryPriceCreateDisks: the CreateDisks checks, then the price of ``DiskCount`` disks."""
        self.disks.check_create(region, req)
        check_disk_size(req.disk_type, req.disk_size or 0)
        p = self.prices.for_region(region)
        per_hour = p.disk_gib_hour(req.disk_type) * (req.disk_size or 0) * req.count
        if req.charge_type == "PREPAID":
            if period not in DISK_PERIODS:
                raise errors.InvalidParameterValue(f"DiskChargePrepaid.Period must be 1-12, 24, 36, 48 or 60, got {period}.")
            return prepaid(p, per_hour, period)
        return hourly(per_hour)
