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
from ..instances import lifecycle
from ..instances.launch import PREPAID_PERIODS, instance_type_in
from ..instances.requests import InternetRequest, ResetRequest, ResizeRequest, RunRequest
from ..instances.types import TYPES
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


def instance_row_hour(p: RegionPrices, catalogue, row, *, itype=None, image=None, disk_sizes: dict | None = None,
                      disks=()) -> Decimal:
    """An existing instance's price per hour: its type (or ``itype``), its image's (or ``image``'s)
    licence and marketplace fee, its disks (at ``disk_sizes`` where given)."""
    itype = itype or TYPES[row.instance_type]
    image_id, os_type = (image.image_id, image.os_type) if image is not None else (row.image_id, row.os_type)
    view = catalogue.get(image_id) if image_id in catalogue else None
    total = p.instance_hour(itype) + p.licence_core_hour(os_type) * itype.cpu
    total += p.image_hour(view) if view is not None else Decimal(0)
    for d in disks:
        total += p.disk_gib_hour(d.disk_type) * (disk_sizes or {}).get(d.disk_id, d.size_gib)
    return total


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

    # --- inquiries about existing instances and disks ----------------------------------------------------
    def _instance_hour(self, p: RegionPrices, row, **kw) -> Decimal:
        return instance_row_hour(p, self.images.catalogue, row, **kw)

    def _priced(self, p: RegionPrices, per_hour: Decimal, charge_type: str, months: int = 1) -> ItemPrice:
        return prepaid(p, per_hour, months) if charge_type == "PREPAID" else hourly(per_hour)

    def quote_reset(self, identity: Identity, region: str, req: ResetRequest) -> ItemPrice:
        """InquiryPriceResetInstance: the instance's price once reset to the image (ResetInstance's checks)."""
        image, size, check = self.instances.check_reset(identity, region, req)
        with self.db.read() as repo:
            row = self.instances.own(repo, identity, region, req.instance_id)
            lifecycle.check_operation(row, "ResetInstance")
            check(repo, row)
            disks = repo.disks_of_instance(row.instance_id)
            per_hour = self._instance_hour(self.prices.for_region(region), row, image=image,
                                           disk_sizes={disks[0].disk_id: size}, disks=disks)
            return self._priced(self.prices.for_region(region), per_hour, row.charge_type)

    def quote_resize_disks(self, identity: Identity, region: str, req: ResizeRequest) -> ItemPrice:
        """InquiryPriceResizeInstanceDisks: the instance's price with the disks grown."""
        with self.db.read() as repo:
            row, disks, wanted = self.instances.check_resize(repo, identity, region, req, lock=False)
            p = self.prices.for_region(region)
            return self._priced(p, self._instance_hour(p, row, disk_sizes=wanted, disks=list(disks.values())),
                                row.charge_type)

    def quote_reset_type(self, identity: Identity, region: str, ids: list[str], type_name: str) -> ItemPrice:
        """InquiryPriceResetInstancesType: the instances' price with the new type."""
        r = self.regions.get(region)
        with self.db.read() as repo:
            rows = self.instances.own_many(repo, identity, region, ids)
            p, total, charge = self.prices.for_region(region), Decimal(0), "POSTPAID_BY_HOUR"
            for row in rows:
                itype = instance_type_in(type_name, row.zone, r.mainland)
                lifecycle.check_operation(row, "ResetInstancesType", lifecycle.LIVE)
                total += self._instance_hour(p, row, itype=itype, disks=repo.disks_of_instance(row.instance_id))
                charge = row.charge_type
            return self._priced(p, total, charge)

    def quote_terminate(self, identity: Identity, region: str, ids: list[str]) -> list[tuple[str, Decimal]]:
        """InquiryPriceTerminateInstances: what terminating refunds: nothing for pay-as-you-go (charged
        up to the moment it goes), the unused part of a prepaid period pro rata."""
        now = self.clock.now()
        with self.db.read() as repo:
            rows = self.instances.own_many(repo, identity, region, ids)
            p, out = self.prices.for_region(region), []
            for row in rows:
                lifecycle.check_operation(row, "TerminateInstances")
                refund = Decimal(0)
                if row.charge_type == "PREPAID" and row.expired_at and row.expired_at > now:
                    month = prepaid(p, self._instance_hour(p, row, disks=repo.disks_of_instance(row.instance_id)), 1)
                    left = Decimal(int((row.expired_at - now).total_seconds())) / (30 * 86400)
                    refund = (month.discounted * left).quantize(CENT)
                out.append((row.instance_id, refund))
            return out

    def quote_renew(self, identity: Identity, region: str, ids: list[str], period: int | None) -> ItemPrice:
        """InquiryPriceRenewInstances: a further prepaid period of prepaid instances."""
        if period not in PREPAID_PERIODS:
            raise errors.InvalidPeriod(f"InstanceChargePrepaid.Period must be 1-12, 24, 36, 48 or 60 months, got {period}.")
        with self.db.read() as repo:
            rows = self.instances.own_many(repo, identity, region, ids)
            p, total = self.prices.for_region(region), Decimal(0)
            for row in rows:
                if row.charge_type != "PREPAID":
                    raise errors.UnsupportedOperationInstanceChargeType(
                        f"`{row.instance_id}` is {row.charge_type}; only prepaid instances are renewed.")
                total += self._instance_hour(p, row, disks=repo.disks_of_instance(row.instance_id))
            return prepaid(p, total, period)

    def quote_charge_type(self, identity: Identity, region: str, ids: list[str], charge: str,
                          period: int | None) -> ItemPrice:
        """InquiryPriceModifyInstancesChargeType: the instances' price under the new charge type."""
        if charge not in ("PREPAID", "POSTPAID_BY_HOUR"):
            raise errors.InvalidParameterValue(f"InstanceChargeType must be PREPAID or POSTPAID_BY_HOUR, got `{charge}`.")
        if charge == "PREPAID" and period not in PREPAID_PERIODS:
            raise errors.InvalidPeriod(f"InstanceChargePrepaid.Period must be 1-12, 24, 36, 48 or 60 months, got {period}.")
        with self.db.read() as repo:
            rows = self.instances.own_many(repo, identity, region, ids)
            p, total = self.prices.for_region(region), Decimal(0)
            for row in rows:
                if row.charge_type == charge:
                    raise errors.UnsupportedOperationInstanceChargeType(f"`{row.instance_id}` is already {charge}.")
                total += self._instance_hour(p, row, disks=repo.disks_of_instance(row.instance_id))
            return self._priced(p, total, charge, period or 1)

    def quote_resize_disk(self, identity: Identity, region: str, disk_ids: list[str], size: int) -> ItemPrice:
        """InquiryPriceResizeDisk: the disks' price at the new size (ResizeDisk's checks)."""
        if not disk_ids:
            raise errors.MissingParameter("The request is missing the required parameter `DiskId` (or DiskIds).")
        with self.db.read() as repo:
            p, total, charge = self.prices.for_region(region), Decimal(0), "POSTPAID_BY_HOUR"
            for disk_id in dict.fromkeys(disk_ids):
                d = self.disks.check_resize(repo, identity, region, disk_id, size)
                total += p.disk_gib_hour(d.disk_type) * size
                charge = d.charge_type
            return self._priced(p, total, charge)

    def quote_renew_disks(self, identity: Identity, region: str, disk_ids: list[str], periods: list[int]) -> ItemPrice:
        """InquiryPriceRenewDisks: a further prepaid period of prepaid disks."""
        if periods and len(periods) != len(disk_ids):
            raise errors.InvalidParameterValue("Give one DiskChargePrepaids item per disk of DiskIds.")
        p, original, discounted = self.prices.for_region(region), Decimal(0), Decimal(0)
        with self.db.read() as repo:
            for i, disk_id in enumerate(disk_ids):
                period = periods[i] if periods else 1
                if period not in DISK_PERIODS:
                    raise errors.InvalidParameterValue(f"DiskChargePrepaids.{i}.Period must be 1-12, 24, 36, 48 or 60, got {period}.")
                d = self.disks.own(repo, identity, region, disk_id)
                if d.charge_type != "PREPAID":
                    raise errors.UnsupportedOperation(f"`{d.disk_id}` is {d.charge_type}; only prepaid disks are renewed.")
                price = prepaid(p, p.disk_gib_hour(d.disk_type) * d.size_gib, period)
                original, discounted = original + price.original, discounted + price.discounted
        return ItemPrice(charge_unit="MONTH", original=original, discounted=discounted)
