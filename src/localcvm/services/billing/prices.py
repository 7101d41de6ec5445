"""The price list: what every billable item costs per hour (or per month, prepaid) in each region.

It is a data file an operator can replace (``LOCALCVM_PRICES_FILE``, the shape of
``data/prices.json``), as the region catalogue is. Prices are decimals, in the account's currency:
CNY on the mainland China site, USD on the international site (``LOCALCVM_BILLING_CURRENCY``). As in
the real service, a public Windows image is free in mainland China and carries a licence fee per
core-hour elsewhere; a marketplace image costs its provider's hourly price on top of the instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

from ..images import ImageView
from ..instances.types import InstanceType
from ..regions import RegionCatalogue

CURRENCIES = ("CNY", "USD")
HOURS_PER_MONTH = 720  # CBS snapshot storage is priced per GB-month of 30 days, charged hourly


@dataclass(frozen=True)
class RegionPrices:
    """The merged price list of one region, in one currency."""

    region: str
    mainland: bool
    currency: str
    raw: dict
    rate: Decimal

    def _d(self, value) -> Decimal:
        return (Decimal(str(value)) * self.rate).normalize()

    def instance_hour(self, itype: InstanceType) -> Decimal:
        explicit = self.raw.get("instance_types", {}).get(itype.instance_type)
        if explicit is not None:
            return self._d(explicit)
        fam = self.raw.get("instance_families", {}).get(itype.family, {})
        total = (Decimal(str(fam.get("cpu_hour", 0))) * itype.cpu
                 + Decimal(str(fam.get("memory_gib_hour", 0))) * itype.memory_gib
                 + Decimal(str(fam.get("gpu_hour", 0))) * itype.gpu)
        return self._d(total)

    def instance_month(self, itype: InstanceType) -> Decimal:
        """PREPAID: the monthly price of the type (before any period discount)."""
        return (self.instance_hour(itype) * Decimal(str(self.raw.get("prepaid", {}).get("month_hours", 360)))).quantize(Decimal("0.01"))

    def period_discount(self, months: int) -> Decimal:
        """The percentage of the original price a prepaid period pays (100: no discount)."""
        table = self.raw.get("prepaid", {}).get("period_discounts", {})
        return Decimal(str(table.get(str(months), 100)))

    def disk_gib_hour(self, disk_type: str) -> Decimal:
        return self._d(self.raw.get("disk_gib_hour", {}).get(disk_type, 0))

    def snapshot_gib_hour(self) -> Decimal:
        return self._d(self.raw.get("snapshot_gib_month", 0)) / HOURS_PER_MONTH

    def snapshot_gib_month(self) -> Decimal:
        return self._d(self.raw.get("snapshot_gib_month", 0))

    def bandwidth_unit(self, charge_type: str) -> Decimal:
        """Per Mbps-hour (BANDWIDTH_POSTPAID_BY_HOUR) or per GB (TRAFFIC_POSTPAID_BY_HOUR)."""
        return self._d(self.raw.get("bandwidth", {}).get(charge_type, 0))

    def licence_core_hour(self, os_type: str) -> Decimal:
        """The Windows licence per core-hour: nothing in mainland China or for any other OS."""
        if os_type != "Windows" or self.mainland:
            return Decimal(0)
        return self._d(self.raw.get("windows_licence_core_hour", 0))

    def image_hour(self, image: ImageView) -> Decimal:
        """A marketplace image's provider price per hour (nothing for every other image)."""
        if image.image_type != "MARKET_IMAGE":
            return Decimal(0)
        return self._d(image.price_hourly)

    def instance_extras_hour(self, itype: InstanceType, image: ImageView) -> Decimal:
        """What an image adds to an instance's hourly price: its licence and its provider's fee."""
        return self.licence_core_hour(image.os_type) * itype.cpu + self.image_hour(image)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class PriceList:
    """The loaded price file; ``for_region`` gives one region's prices in the configured currency."""

    def __init__(self, raw: dict, regions: RegionCatalogue, currency: str = "CNY"):
        if currency not in CURRENCIES:
            raise ValueError(f"LOCALCVM_BILLING_CURRENCY must be one of {', '.join(CURRENCIES)}, not `{currency}`")
        self.raw, self.regions, self.currency = raw, regions, currency
        self.rate = Decimal(str(raw.get("currency_rates", {}).get(currency, 1)))
        self._cache: dict[str, RegionPrices] = {}

    @classmethod
    def load(cls, regions: RegionCatalogue, path: str | Path | None = None, currency: str = "CNY") -> "PriceList":
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files("localcvm.data").joinpath("prices.json").read_text(encoding="utf-8")
        return cls(json.loads(text), regions, currency)

    def for_region(self, region: str) -> RegionPrices:
        cached = self._cache.get(region)
        if cached is not None:
            return cached
        r = self.regions.find(region)
        mainland = bool(r and r.mainland)
        merged = _merge(self.raw.get("default", {}), {} if mainland else self.raw.get("international", {}))
        merged = _merge(merged, self.raw.get("regions", {}).get(region, {}))
        prices = RegionPrices(region, mainland, self.currency, merged, self.rate)
        self._cache[region] = prices
        return prices
