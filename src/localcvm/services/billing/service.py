"""``BillingService``: the price list, the meter, snapshot overviews and bills of one server."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from ...config import Settings
from ...store.db import Database
from .. import errors
from ..iam import Identity
from ..regions import RegionCatalogue
from . import bills, overview
from .inquiry import InquiryOps
from .meter import Meter
from .prices import PriceList
from .views import Balance, BillRow, Component, Summary


class BillingService(InquiryOps):
    def __init__(self, settings: Settings, db: Database, regions: RegionCatalogue, clock, images, instances, disks):
        self.settings, self.db, self.regions, self.clock = settings, db, regions, clock
        self.images, self.instances, self.disks = images, instances, disks
        self.prices = PriceList.load(regions, settings.prices_file or None, settings.billing_currency.upper())
        self.meter = Meter(clock, self.prices, images.catalogue, settings.snapshot_free_gib)
        self.meter.install(db)

    # --- DescribeSnapshotOverview ----------------------------------------------------------------------
    def snapshot_overview(self, identity: Identity, region: str) -> overview.SnapshotOverview:
        r = self.regions.get(region, product="cbs")
        with self.db.read() as repo:
            return overview.overview(repo.session, identity.uin, region, r.mainland, self.settings.snapshot_free_gib)

    # --- bills -----------------------------------------------------------------------------------------
    def check_payer(self, identity: Identity, payer_uin: str | None) -> None:
        """Bills are the caller's own: naming another account's Uin is refused."""
        if payer_uin and payer_uin != identity.uin:
            raise errors.AuthFailureUnauthorizedOperation(f"The bills of account {payer_uin} are not yours to read.")

    def month_lines(self, uin: str, month: str) -> list[bills.Line]:
        begin, end = bills.month_range(month)
        with self.db.read() as repo:
            return bills.lines(repo.session, uin, begin, end, self.clock.now().replace(microsecond=0))

    def summary(self, identity: Identity, month: str, by: str) -> tuple[Decimal, list[Summary]]:
        """The month's total and its split ``by`` "product" or "region"."""
        items = self.month_lines(identity.uin, month)
        grand = bills.total(items)
        out = []
        for key, group in sorted(bills.group(items, (lambda i: i.product) if by == "product" else (lambda i: i.region)).items()):
            cost = bills.total(group)
            name = bills.BUSINESS[key][1] if by == "product" else self._region_name(key)
            code = bills.BUSINESS[key][0] if by == "product" else key
            out.append(Summary(code, name, cost, (cost * 100 / grand) if grand else Decimal(0)))
        return grand, out

    def resource_summary(self, identity: Identity, month: str, *, offset: int, limit: int,
                         resource_id: str | None = None, business_code: str | None = None,
                         pay_mode: str | None = None) -> tuple[int, list[BillRow]]:
        _page(offset, limit, 1000)
        items = self._filtered(self.month_lines(identity.uin, month), resource_id, business_code, pay_mode)
        rows = [self._row(rid, group) for rid, group in bills.group(items, lambda i: i.resource_id).items()]
        rows.sort(key=lambda r: (r.begin, r.resource_id))
        return len(rows), rows[offset:offset + limit]

    def detail(self, identity: Identity, month: str, *, offset: int, limit: int, resource_id: str | None = None,
               business_code: str | None = None, pay_mode: str | None = None) -> tuple[int, list[BillRow]]:
        """Hourly settlements: one row per resource and clock hour."""
        _page(offset, limit, 300)
        items = bills.hourly(self._filtered(self.month_lines(identity.uin, month), resource_id, business_code, pay_mode))
        groups = bills.group(items, lambda i: (i.begin.replace(minute=0, second=0, microsecond=0), i.resource_id))
        rows = [self._row(rid, group, hour=hour) for (hour, rid), group in sorted(groups.items())]
        return len(rows), rows[offset:offset + limit]

    def balance(self, identity: Identity) -> Balance:
        with self.db.read() as repo:
            items = bills.lines(repo.session, identity.uin, datetime(1970, 1, 1), datetime(9999, 1, 1), self.clock.now().replace(microsecond=0))
        return Balance(identity.uin, bills.total(items), self.prices.currency)

    def report(self, uin: str, month: str) -> list[BillRow]:
        """Every resource's month (``localcvm billing report``)."""
        bills.month_range(month)
        rows = [self._row(rid, g) for rid, g in bills.group(self.month_lines(uin, month), lambda i: i.resource_id).items()]
        return sorted(rows, key=lambda r: (r.product, r.region, r.resource_id))

    # --- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def _filtered(items, resource_id, business_code, pay_mode):
        if pay_mode and pay_mode not in ("prePay", "postPay"):
            raise errors.InvalidParameterValue(f"PayMode must be prePay or postPay, got `{pay_mode}`.")
        out = []
        for i in items:
            if resource_id and i.resource_id != resource_id:
                continue
            if business_code and bills.BUSINESS[i.product][0] != business_code:
                continue
            if pay_mode and (pay_mode == "prePay") != (i.pay_mode == "PREPAID"):
                continue
            out.append(i)
        return out

    def _region_name(self, region: str) -> str:
        r = self.regions.find(region)
        return r.name_zh if r else region

    def _region_number(self, region: str) -> int:
        r = self.regions.find(region)
        zone_ids = [int(z.zone_id) for z in r.zones if z.zone_id.isdigit()] if r else []
        return zone_ids[0] // 100000 if zone_ids else 0

    def _row(self, resource_id: str, items: list[bills.Line], hour: datetime | None = None) -> BillRow:
        first = next((i for i in items if i.segment_resource == resource_id), items[0])
        comps = []
        for (item, sku, price, qty), group in bills.group(items, lambda i: (i.item, i.sku, i.unit_price, i.quantity)).items():
            code, name, unit = bills.COMPONENTS[item]
            hours = sum((i.hours for i in group), Decimal(0))
            comps.append(Component(item, code, name, sku, price, unit, qty, hours, bills.total(group)))
        begin, end = min(i.begin for i in items), max(i.end for i in items)
        code, bname = bills.BUSINESS[first.product]
        config = ", ".join(sorted({f"{c.name} {c.sku}" for c in comps}))
        bill_id = hashlib.sha1(f"{resource_id}|{hour or begin}".encode()).hexdigest()[:20] if hour else ""
        return BillRow(resource_id, first.name, first.product, code, bname, first.region, self._region_name(first.region),
                       self._region_number(first.region), first.zone, first.pay_mode, begin, end, bills.total(items),
                       first.currency, tuple(comps), config, bill_id)


def _page(offset: int, limit: int, most: int) -> None:
    """Offset and Limit of the bill listings (DescribeBillDetail takes at most 300, DescribeBillResourceSummary 1000)."""
    if offset < 0:
        raise errors.InvalidParameterValue(f"Offset must not be negative, got {offset}.")
    if not 1 <= limit <= most:
        raise errors.InvalidParameterValue(f"Limit must be between 1 and {most}, got {limit}.")
