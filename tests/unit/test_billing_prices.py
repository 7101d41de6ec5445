"""The price list: merging (default, international, one region), currencies, the licence rule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from localcvm.services.billing.prices import PriceList
from localcvm.services.images.catalogue import ImageView
from localcvm.services.instances.types import TYPES
from localcvm.services.regions import RegionCatalogue

REGIONS = RegionCatalogue.load()
S5 = TYPES["S5.MEDIUM4"]


def test_builtin_prices_and_the_windows_licence():
    prices = PriceList.load(REGIONS)
    gz, sg = prices.for_region("ap-guangzhou"), prices.for_region("ap-singapore")
    assert gz.instance_hour(S5) == sg.instance_hour(S5) == Decimal("0.18")
    assert gz.licence_core_hour("Windows") == 0 and sg.licence_core_hour("Windows") == Decimal("0.046")
    assert sg.licence_core_hour("Linux") == 0
    assert gz.disk_gib_hour("CLOUD_PREMIUM") == Decimal("0.0005")
    assert gz.snapshot_gib_hour() * 720 == Decimal("0.12")
    assert gz.period_discount(12) == 83 and gz.period_discount(3) == 100


def test_usd_site_and_an_operator_file(tmp_path):
    usd = PriceList.load(REGIONS, currency="USD").for_region("ap-guangzhou")
    assert usd.instance_hour(S5) == Decimal("0.18") * Decimal("0.14") and usd.currency == "USD"
    raw = json.loads(json.dumps(PriceList.load(REGIONS).raw))
    raw["regions"] = {"ap-shanghai": {"instance_types": {"S5.MEDIUM4": 0.5}, "disk_gib_hour": {"CLOUD_SSD": 0.002}}}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(raw))
    sh = PriceList.load(REGIONS, path).for_region("ap-shanghai")
    assert sh.instance_hour(S5) == Decimal("0.5") and sh.disk_gib_hour("CLOUD_SSD") == Decimal("0.002")
    assert sh.disk_gib_hour("CLOUD_PREMIUM") == Decimal("0.0005")  # the rest stays the default's
    with pytest.raises(ValueError):
        PriceList.load(REGIONS, currency="EUR")


def test_marketplace_images_cost_their_provider_price():
    gz = PriceList.load(REGIONS).for_region("ap-guangzhou")
    common = dict(name="x", description="", os_name="", platform="", os_type="Linux", architecture="x86_64",
                  size_gib=20, state="NORMAL", created_at=None)
    market = ImageView(image_id="img-ypzmw5c6", image_type="MARKET_IMAGE", source="MARKET", price_hourly=0.12,
                       **common)
    custom = ImageView(image_id="img-aaaaaaaa", image_type="PRIVATE_IMAGE", source="CREATE_IMAGE",
                       price_hourly=0.5, **common)
    assert gz.image_hour(market) == Decimal("0.12") and gz.image_hour(custom) == 0
