"""The billing product (billing 2018-07-09): bills of the caller's own account, by month."""

from __future__ import annotations

from ..services.billing import BillRow, Summary
from ..services.billing.bills import money, month_of_times
from .routes import CallContext, action

ZERO = "0.00000000"
PAY_MODE_NAMES = {"PREPAID": "包年包月"}


def _amounts(cost) -> dict:
    return {"RealTotalCost": money(cost), "TotalCost": money(cost), "CashPayAmount": money(cost),
            "VoucherPayAmount": ZERO, "IncentivePayAmount": ZERO, "TransferPayAmount": ZERO}


def _summary(s: Summary, month: str, by: str) -> dict:
    key = {"BusinessCode": s.key, "BusinessCodeName": s.name} if by == "product" else {"RegionId": s.key, "RegionName": s.name}
    return {**key, **_amounts(s.cost), "RealTotalCostRatio": f"{s.ratio:.2f}", "BillMonth": month}


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _row_common(r: BillRow, uin: str) -> dict:
    return {
        "BusinessCodeName": r.business_name, "ProductCodeName": r.business_name,
        "PayModeName": PAY_MODE_NAMES.get(r.pay_mode, "按量计费"), "ProjectName": "默认项目",
        "RegionName": r.region_name, "ZoneName": r.zone or "其他", "ResourceId": r.resource_id, "ResourceName": r.name,
        "ActionTypeName": "包年包月新购" if r.pay_mode == "PREPAID" else "按量计费小时结",
        "PayTime": _time(r.end), "FeeBeginTime": _time(r.begin), "FeeEndTime": _time(r.end),
        "PayerUin": uin, "OwnerUin": uin, "OperateUin": uin, "BusinessCode": r.business_code,
        "ProductCode": f"sp_{r.product}", "Tags": [],
    }


def resource_dict(r: BillRow, uin: str, month: str) -> dict:
    return {**_row_common(r, uin), **_amounts(r.cost), "ConfigDesc": r.config, "Discount": "1", "ReduceType": "折扣",
            "RegionId": r.region_number, "InstanceType": next((c.sku for c in r.components if c.item == "compute"), ""),
            "BillMonth": month, "OrderId": "", "ExtendField1": "", "ExtendField2": "", "ExtendField3": "",
            "ExtendField4": "", "ExtendField5": "", "OriginalCostWithRI": money(r.cost), "SPDeduction": ZERO,
            "OriginalCostWithSP": money(r.cost)}


def detail_dict(r: BillRow, uin: str, month: str) -> dict:
    components = [{
        "ComponentCodeName": c.name, "ItemCodeName": c.sku, "SinglePrice": f"{c.unit_price:f}",
        "SpecifiedPrice": f"{c.unit_price:f}", "PriceUnit": f"{r.currency}/{c.price_unit}", "UsedAmount": f"{c.quantity:f}",
        "UsedAmountUnit": c.price_unit, "RealTotalMeasure": f"{c.quantity:f}", "DeductedMeasure": "0",
        "TimeSpan": f"{c.hours.normalize():f}", "TimeUnitName": "小时", "Cost": money(c.cost), "Discount": "1",
        "ReduceType": "折扣", "RealCost": money(c.cost), "VoucherPayAmount": ZERO, "CashPayAmount": money(c.cost),
        "IncentivePayAmount": ZERO, "TransferPayAmount": ZERO, "ItemCode": f"{c.code}_{c.sku}", "ComponentCode": c.code,
        "ContractPrice": f"{c.unit_price:f}", "InstanceType": c.sku if c.item == "compute" else "",
        "OriginalCostWithRI": money(c.cost), "SPDeduction": ZERO, "OriginalCostWithSP": money(c.cost),
        "BlendedDiscount": "1.00000000",
    } for c in r.components]
    action_type = "prepay_purchase" if r.pay_mode == "PREPAID" else "postpay_deduct_h"
    return {**_row_common(r, uin), "BillId": r.bill_id, "ComponentSet": components, "ActionType": action_type,
            "RegionId": str(r.region_number), "ProjectId": 0, "PriceInfo": [], "Formula": "", "FormulaUrl": "",
            "BillDay": r.begin.strftime("%Y-%m-%d 00:00:00"), "BillMonth": month, "Id": r.bill_id,
            "RegionType": "mainland" if r.region_number < 9 or r.region_number == 45 else "overseas",
            "RegionTypeName": "", "OrderId": ""}


def _summary_call(ctx: CallContext, p: dict, by: str) -> dict:
    ctx.services.billing.check_payer(ctx.identity, p.get("PayerUin"))
    month = month_of_times(p["BeginTime"], p["EndTime"])
    grand, groups = ctx.services.billing.summary(ctx.identity, month, by)
    out = {"Ready": 1, "SummaryOverview": [_summary(s, month, by) for s in groups]}
    if by == "product":
        out["SummaryTotal"] = _amounts(grand)
    return out


@action("billing", "DescribeBillSummaryByProduct", regional=False)
def describe_bill_summary_by_product(ctx: CallContext, p: dict) -> dict:
    return _summary_call(ctx, p, "product")


@action("billing", "DescribeBillSummaryByRegion", regional=False)
def describe_bill_summary_by_region(ctx: CallContext, p: dict) -> dict:
    return _summary_call(ctx, p, "region")


@action("billing", "DescribeBillResourceSummary", regional=False)
def describe_bill_resource_summary(ctx: CallContext, p: dict) -> dict:
    billing = ctx.services.billing
    billing.check_payer(ctx.identity, p.get("PayerUin"))
    month = month_of_times(None, None, month=p["Month"])
    total, rows = billing.resource_summary(ctx.identity, month, offset=p["Offset"], limit=p["Limit"],
                                           resource_id=p.get("ResourceId"), business_code=p.get("BusinessCode"),
                                           pay_mode=p.get("PayMode"))
    return {"ResourceSummarySet": [resource_dict(r, ctx.identity.uin, month) for r in rows], "Total": total}


@action("billing", "DescribeBillDetail", regional=False)
def describe_bill_detail(ctx: CallContext, p: dict) -> dict:
    billing = ctx.services.billing
    billing.check_payer(ctx.identity, p.get("PayerUin"))
    month = month_of_times(p.get("BeginTime"), p.get("EndTime"), month=p.get("Month"))
    total, rows = billing.detail(ctx.identity, month, offset=p["Offset"], limit=p["Limit"],
                                 resource_id=p.get("ResourceId"), business_code=p.get("BusinessCode"),
                                 pay_mode=p.get("PayMode"))
    return {"DetailSet": [detail_dict(r, ctx.identity.uin, month) for r in rows], "Total": total, "Context": ""}


@action("billing", "DescribeAccountBalance", regional=False)
def describe_account_balance(ctx: CallContext, p: dict) -> dict:
    b = ctx.services.billing.balance(ctx.identity)
    cents = float((b.owed * 100).quantize(1))
    return {"Balance": -int(cents), "Uin": int(b.uin), "RealBalance": -cents, "CashAccountBalance": -cents,
            "IncomeIntoAccountBalance": 0.0, "PresentAccountBalance": 0.0, "FreezeAmount": 0.0, "OweAmount": cents,
            "IsAllowArrears": True, "IsCreditLimited": False, "CreditAmount": 0.0, "CreditBalance": 0.0,
            "RealCreditBalance": 0.0, "TempCredit": 0.0, "TempAmountInfoList": []}
