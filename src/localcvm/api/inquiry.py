"""The price inquiries of cvm and cbs (2017-03-12) and CBS's DescribeSnapshotOverview."""

from __future__ import annotations

from ..services.billing import ItemPrice
from ..services.disks import CreateDisksRequest
from .instances import reset_request, resize_request, run_request
from .routes import CallContext, action


def item_price(price: ItemPrice | None) -> dict | None:
    """cvm's ``ItemPrice`` (floats; only the members that apply)."""
    if price is None:
        return None
    out = {"ChargeUnit": price.charge_unit}
    for name, value in (("UnitPrice", price.unit_price), ("UnitPriceDiscount", price.unit_price_discount),
                        ("OriginalPrice", price.original), ("DiscountPrice", price.discounted),
                        ("Discount", price.discount)):
        if value is not None:
            out[name] = float(value)
    return out


def cbs_price(price: ItemPrice) -> dict:
    """cbs's ``Price``: every member present (the ``*High`` strings carry the exact figure)."""
    def num(value):
        return float(value) if value is not None else 0.0

    def text(value):
        return f"{value:f}" if value is not None else "0"

    return {
        "ChargeUnit": price.charge_unit, "UnitPrice": num(price.unit_price), "UnitPriceHigh": text(price.unit_price),
        "UnitPriceDiscount": num(price.unit_price_discount), "UnitPriceDiscountHigh": text(price.unit_price_discount),
        "OriginalPrice": num(price.original), "OriginalPriceHigh": text(price.original),
        "DiscountPrice": num(price.discounted), "DiscountPriceHigh": text(price.discounted),
    }


@action("cvm", "InquiryPriceRunInstances")
def inquiry_price_run_instances(ctx: CallContext, p: dict) -> dict:
    quote = ctx.services.billing.quote_run(ctx.identity, ctx.region, run_request(p))
    price = {"InstancePrice": item_price(quote.instance)}
    if quote.bandwidth is not None:
        price["BandwidthPrice"] = item_price(quote.bandwidth)
    return {"Price": price}


@action("cvm", "InquiryPriceResetInstance")
def inquiry_price_reset_instance(ctx: CallContext, p: dict) -> dict:
    price = ctx.services.billing.quote_reset(ctx.identity, ctx.region, reset_request(p))
    return {"Price": {"InstancePrice": item_price(price)}}


@action("cvm", "InquiryPriceResizeInstanceDisks")
def inquiry_price_resize_instance_disks(ctx: CallContext, p: dict) -> dict:
    price = ctx.services.billing.quote_resize_disks(ctx.identity, ctx.region, resize_request(p))
    return {"Price": {"InstancePrice": item_price(price)}}


@action("cvm", "InquiryPriceResetInstancesType")
def inquiry_price_reset_instances_type(ctx: CallContext, p: dict) -> dict:
    price = ctx.services.billing.quote_reset_type(ctx.identity, ctx.region, p["InstanceIds"], p["InstanceType"])
    return {"Price": {"InstancePrice": item_price(price)}}


@action("cvm", "InquiryPriceTerminateInstances")
def inquiry_price_terminate_instances(ctx: CallContext, p: dict) -> dict:
    refunds = ctx.services.billing.quote_terminate(ctx.identity, ctx.region, p["InstanceIds"])
    return {"InstanceRefundsSet": [{"InstanceId": i, "Refunds": float(r), "PriceDetail": ""} for i, r in refunds]}


@action("cvm", "InquiryPriceRenewInstances")
def inquiry_price_renew_instances(ctx: CallContext, p: dict) -> dict:
    period = (p.get("InstanceChargePrepaid") or {}).get("Period")
    price = ctx.services.billing.quote_renew(ctx.identity, ctx.region, p["InstanceIds"], period)
    return {"Price": {"InstancePrice": item_price(price)}}


@action("cvm", "InquiryPriceModifyInstancesChargeType")
def inquiry_price_modify_instances_charge_type(ctx: CallContext, p: dict) -> dict:
    period = (p.get("InstanceChargePrepaid") or {}).get("Period")
    price = ctx.services.billing.quote_charge_type(ctx.identity, ctx.region, p["InstanceIds"], p["InstanceChargeType"],
                                                   period)
    return {"Price": {"InstancePrice": item_price(price)}}


@action("cbs", "InquiryPriceResizeDisk")
def inquiry_price_resize_disk(ctx: CallContext, p: dict) -> dict:
    ids = list(p.get("DiskIds") or ([p["DiskId"]] if p.get("DiskId") else []))
    price = ctx.services.billing.quote_resize_disk(ctx.identity, ctx.region, ids, p["DiskSize"])
    return {"DiskPrice": {**cbs_price(price), "DetailPrices": []}}


@action("cbs", "InquiryPriceRenewDisks")
def inquiry_price_renew_disks(ctx: CallContext, p: dict) -> dict:
    periods = [d["Period"] for d in p.get("DiskChargePrepaids") or []]
    price = ctx.services.billing.quote_renew_disks(ctx.identity, ctx.region, p["DiskIds"], periods)
    return {"DiskPrice": {**cbs_price(price), "DetailPrices": []}}


@action("cbs", "InquiryPriceCreateDisks")
def inquiry_price_create_disks(ctx: CallContext, p: dict) -> dict:
    req = CreateDisksRequest(zone=(p.get("Placement") or {}).get("Zone") or _first_zone(ctx), disk_type=p["DiskType"],
                             charge_type=p["DiskChargeType"], disk_size=p["DiskSize"], count=p.get("DiskCount", 1))
    period = (p.get("DiskChargePrepaid") or {}).get("Period")
    return {"DiskPrice": cbs_price(ctx.services.billing.quote_create_disks(ctx.identity, ctx.region, req, period))}


def _first_zone(ctx: CallContext) -> str:
    """InquiryPriceCreateDisks names no zone: prices are per region."""
    return ctx.services.regions.get(ctx.region, product="cbs").zones[0].zone


@action("cbs", "DescribeSnapshotOverview")
def describe_snapshot_overview(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.billing.snapshot_overview(ctx.identity, ctx.region)
    return {"TotalNums": v.total_nums, "TotalSize": float(v.total_gib), "FreeQuota": float(v.free_gib),
            "RealTradeSize": float(v.billed_gib)}
