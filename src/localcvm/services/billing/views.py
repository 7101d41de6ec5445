"""What the billing and inquiry services return (decoded values, no ORM rows, no wire dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class ItemPrice:
    """A price as the inquiry actions quote it: hourly (``unit_price`` per ``charge_unit``) for
    pay-as-you-go, ``original``/``discounted`` for a prepaid period (``discount`` in percent)."""

    charge_unit: str = ""
    unit_price: Decimal | None = None
    unit_price_discount: Decimal | None = None
    original: Decimal | None = None
    discounted: Decimal | None = None
    discount: Decimal | None = None


@dataclass(frozen=True)
class Quote:
    instance: ItemPrice | None = None
    bandwidth: ItemPrice | None = None


@dataclass(frozen=True)
class Summary:
    """One group of a bill summary (a product or a region)."""

    key: str
    name: str
    cost: Decimal
    ratio: Decimal


@dataclass(frozen=True)
class Component:
    item: str
    code: str
    name: str
    sku: str
    unit_price: Decimal
    price_unit: str
    quantity: Decimal
    hours: Decimal
    cost: Decimal


@dataclass(frozen=True)
class BillRow:
    """A resource's charges over a stretch (the month, for DescribeBillResourceSummary; one hour, for a
    DescribeBillDetail settlement)."""

    resource_id: str
    name: str
    product: str
    business_code: str
    business_name: str
    region: str
    region_name: str
    region_number: int
    zone: str
    pay_mode: str
    begin: datetime
    end: datetime
    cost: Decimal
    currency: str
    components: tuple[Component, ...] = ()
    config: str = ""
    bill_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Balance:
    uin: str
    owed: Decimal  # everything accrued so far: localcvm takes no payments
    currency: str
