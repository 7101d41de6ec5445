"""Helpers for the billing tests: billing and CBS clients, the test clock, bill look-ups."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from tencentcloud.billing.v20180709 import billing_client
from tencentcloud.billing.v20180709 import models as billing_models
from tencentcloud.cbs.v20170312 import cbs_client
from tencentcloud.cbs.v20170312 import models as cbs_models
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from localcvm.client import Endpoint, advance_clock

from . import sdk


def billing(server, secret_id=None, secret_key=None):
    return billing_client.BillingClient(sdk.cred(server, secret_id, secret_key), "", sdk.profile(server))


def cbs(server, region="ap-guangzhou", secret_id=None, secret_key=None):
    return cbs_client.CbsClient(sdk.cred(server, secret_id, secret_key), region, sdk.profile(server))


def bcall(client, action: str, body: dict):
    req = getattr(billing_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def ccall(client, action: str, body: dict):
    req = getattr(cbs_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def code_of(fn) -> str:
    try:
        fn()
    except TencentCloudSDKException as exc:
        return exc.code
    raise AssertionError("the call succeeded")


def clock_now(server) -> datetime:
    got = advance_clock(Endpoint(server.scheme, "127.0.0.1", server.port), server.secret_id, server.secret_key, None)
    return datetime.strptime(got["Now"], "%Y-%m-%dT%H:%M:%SZ")


def advance(server, duration: str) -> None:
    got = advance_clock(Endpoint(server.scheme, "127.0.0.1", server.port), server.secret_id, server.secret_key, duration)
    assert "Error" not in got, got


def resources(client, months) -> dict[str, list]:
    """Every BillResourceSummary of the months, by resource."""
    out: dict[str, list] = {}
    for month in months:
        got = bcall(client, "DescribeBillResourceSummary", {"Offset": 0, "Limit": 1000, "Month": month})
        for r in got.ResourceSummarySet:
            out.setdefault(r.ResourceId, []).append(r)
    return out


def details(client, months, resource_id: str) -> list:
    rows = []
    for month in months:
        offset = 0
        while True:
            got = bcall(client, "DescribeBillDetail", {"Offset": offset, "Limit": 300, "Month": month,
                                                        "ResourceId": resource_id})
            rows.extend(got.DetailSet)
            offset += 300
            if offset >= got.Total:
                break
    return rows


def component_hours(rows, code: str) -> Decimal:
    return sum((Decimal(c.TimeSpan) for r in rows for c in r.ComponentSet if c.ComponentCode == code), Decimal(0))


def component_cost(rows, code: str | None = None) -> Decimal:
    return sum((Decimal(c.Cost) for r in rows for c in r.ComponentSet if code is None or c.ComponentCode == code),
               Decimal(0))
