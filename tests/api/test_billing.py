"""Billing: the meter's charges over the test clock, read through the official billing SDK, equal to
what the inquiry quoted and unchanged by a SIGKILL of the server; bills are the caller's own."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta
from decimal import Decimal

from .billing_util import (advance, bcall, billing, cbs, ccall, clock_now, code_of, component_cost, component_hours,
                           details, resources)
from .images_util import new_account
from .instances_util import call, public_image, wait_state
from . import sdk
from tests.helpers import wait_until

BODY = {"InstanceType": "S5.MEDIUM4", "Placement": {"Zone": "ap-guangzhou-3"},
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50}}
# the built-in price list: S5 at 0.06 per vCPU-hour + 0.015 per GiB-hour, CLOUD_PREMIUM at 0.0005 per GB-hour
COMPUTE_HOUR = Decimal("0.18")
DISK_HOUR = Decimal("0.025")


def _months(*times) -> list[str]:
    return sorted({t.strftime("%Y-%m") for t in times})


def test_ten_hours_of_two_instances_bill_what_the_inquiry_quoted(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1"})
    c, b = sdk.cvm(srv), billing(srv)
    body = {**BODY, "ImageId": public_image(c)}
    quote = call(c, "InquiryPriceRunInstances", body).Price.InstancePrice
    assert quote.ChargeUnit == "HOUR" and Decimal(str(quote.UnitPrice)) == COMPUTE_HOUR + DISK_HOUR
    started, t0 = clock_now(srv), time.monotonic()
    ids = call(c, "RunInstances", {**body, "InstanceCount": 2}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    advance(srv, "5h")
    call(c, "StopInstances", {"InstanceIds": [ids[1]], "StoppedMode": "STOP_CHARGING"})
    wait_state(c, ids[1:], "STOPPED")
    srv.stop(signal.SIGKILL)  # a crash between the two halves changes nothing
    srv.start()
    advance(srv, "5h")
    months = _months(started, clock_now(srv))
    slack = Decimal(int(time.monotonic() - t0) + 2) / 3600  # real seconds the test took, in hours

    running, stopped = details(b, months, ids[0]), details(b, months, ids[1])
    assert 10 <= component_hours(running, "v_cvm_compute") <= 10 + slack
    assert 5 <= component_hours(stopped, "v_cvm_compute") <= 5 + slack
    for rows in (running, stopped):  # the system disk is charged while stopped too
        assert 10 <= component_hours(rows, "v_cvm_rootdisk") <= 10 + slack
        for row in rows:
            for comp in row.ComponentSet:
                want = {"v_cvm_compute": COMPUTE_HOUR, "v_cvm_rootdisk": Decimal("0.0005")}[comp.ComponentCode]
                assert Decimal(comp.SinglePrice) == want
                exact = Decimal(comp.SinglePrice) * Decimal(comp.UsedAmount) * Decimal(comp.TimeSpan)
                assert abs(Decimal(comp.Cost) - exact) < Decimal("0.00000001")
    total_running = component_cost(running)
    assert Decimal(str(quote.UnitPrice)) * 10 <= total_running <= Decimal(str(quote.UnitPrice)) * (10 + slack)
    summary = resources(b, months)
    # the same figure, up to the seconds the instance ran between the two reads
    assert abs(sum(Decimal(r.RealTotalCost) for r in summary[ids[0]]) - total_running) < Decimal("0.001")

    # the stopped instance's compute has ended: a kill -9 now neither repeats nor loses it
    before = component_hours(details(b, months, ids[1]), "v_cvm_compute")
    srv.stop(signal.SIGKILL)
    srv.start()
    assert component_hours(details(b, months, ids[1]), "v_cvm_compute") == before
    assert len({r.ResourceId for r in bcall(b, "DescribeBillResourceSummary",
                                           {"Offset": 0, "Limit": 100, "Month": months[-1]}).ResourceSummarySet}) == 2
    by_product = bcall(b, "DescribeBillSummaryByProduct", {"BeginTime": months[-1], "EndTime": months[-1]})
    assert [o.BusinessCode for o in by_product.SummaryOverview] == ["p_cvm"]
    by_region = bcall(b, "DescribeBillSummaryByRegion", {"BeginTime": months[-1], "EndTime": months[-1]})
    assert [o.RegionId for o in by_region.SummaryOverview] == ["ap-guangzhou"]
    assert bcall(b, "DescribeAccountBalance", {}).OweAmount > 0

    # the operator's report has the same figures
    uin = json.loads(srv.cli("accounts", "list", "--json").stdout)[0]["Uin"]
    report = json.loads(srv.cli("billing", "report", "--account", uin, "--month", months[-1], "--json").stdout)
    mine = {r["ResourceId"]: Decimal(r["Cost"]) for r in report["Resources"]}
    assert set(mine) == set(ids)
    listed = resources(b, months[-1:])
    for i in ids:  # the same up to the seconds of real time between the two reads (the instances still run)
        assert abs(mine[i] - sum(Decimal(r.RealTotalCost) for r in listed[i])) < Decimal("0.01")
    table = srv.cli("billing", "report", "--account", uin, "--month", months[-1]).stdout
    assert ids[0] in table and "TOTAL CNY" in table and "p_cvm" in table
    csv_text = srv.cli("billing", "report", "--account", uin, "--month", months[-1], "--csv").stdout
    assert csv_text.splitlines()[0].startswith("Product,Region,ResourceId") and len(csv_text.splitlines()) == 3
    assert srv.cli("billing", "report", "--account", "999", check=False).returncode != 0
    assert srv.cli("billing", "report", "--account", uin, "--month", "2026-13", check=False).returncode != 0


def test_bills_are_the_callers_own_and_validated(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1"})
    c, b = sdk.cvm(srv), billing(srv)
    ids = call(c, "RunInstances", {**BODY, "ImageId": public_image(c)}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    advance(srv, "2h")
    month = clock_now(srv).strftime("%Y-%m")
    other, _ = new_account(srv, "stranger")
    ob = billing(srv, other["SecretId"], other["SecretKey"])
    assert bcall(ob, "DescribeBillResourceSummary", {"Offset": 0, "Limit": 100, "Month": month}).Total == 0
    assert bcall(ob, "DescribeBillDetail", {"Offset": 0, "Limit": 100, "Month": month, "ResourceId": ids[0]}).Total == 0
    root_uin = json.loads(srv.cli("accounts", "list", "--json").stdout)[0]["Uin"]
    assert code_of(lambda: bcall(ob, "DescribeBillSummaryByProduct",
                                 {"BeginTime": month, "EndTime": month, "PayerUin": root_uin})) \
        == "AuthFailure.UnauthorizedOperation"
    assert bcall(b, "DescribeBillResourceSummary", {"Offset": 0, "Limit": 100, "Month": month}).Total == 1

    # a terminated instance (and the system disk that goes with it) stops charging
    call(c, "TerminateInstances", {"InstanceIds": ids})
    wait_until(lambda: not call(c, "DescribeInstances", {"InstanceIds": ids}).InstanceSet, timeout=60, what="terminated")
    advance(srv, "3h")
    rows = details(b, _months(clock_now(srv) - timedelta(hours=6), clock_now(srv)), ids[0])
    for code in ("v_cvm_compute", "v_cvm_rootdisk"):
        assert 2 <= component_hours(rows, code) < Decimal("2.05"), code


def _unit(c, body) -> Decimal:
    return Decimal(str(call(c, "InquiryPriceRunInstances", body).Price.InstancePrice.UnitPrice))


def test_inquiry_prices_images_as_the_price_list_says(server):
    """Windows costs a licence per core-hour outside mainland China only; a paid marketplace image
    adds its provider's hourly price; a free one adds nothing."""
    windows, linux = "img-7t4b5xrv", None
    for region, zone, licence in (("ap-singapore", "ap-singapore-1", Decimal("0.046") * 2),
                                  ("ap-guangzhou", "ap-guangzhou-3", Decimal(0))):
        c = sdk.cvm(server, region)
        linux = linux or public_image(c)
        body = {**BODY, "Placement": {"Zone": zone}}
        assert _unit(c, {**body, "ImageId": windows}) - _unit(c, {**body, "ImageId": linux}) == licence
    c = sdk.cvm(server)
    base = _unit(c, {**BODY, "ImageId": linux})
    assert _unit(c, {**BODY, "ImageId": "img-ypzmw5c6"}) - base == Decimal("0.12")  # GitLab CE, 0.12 per hour
    assert _unit(c, {**BODY, "ImageId": "img-hgwxr2g5"}) == base  # WordPress, free
    prepaid = call(c, "InquiryPriceRunInstances", {**BODY, "ImageId": linux, "InstanceChargeType": "PREPAID",
                                                   "InstanceChargePrepaid": {"Period": 12}}).Price.InstancePrice
    assert prepaid.Discount == 83 and prepaid.DiscountPrice < prepaid.OriginalPrice
    two = _unit(c, {**BODY, "ImageId": linux, "InstanceCount": 2})
    assert two == 2 * base


def test_inquiry_validates_like_the_action_and_changes_nothing(server):
    c = sdk.cvm(server)
    image = public_image(c)
    bad_bodies = [
        {**BODY, "ImageId": image, "InstanceType": "s5 medium"},
        {**BODY, "ImageId": image, "InstanceType": "S5.HUGE99"},
        {**BODY, "ImageId": "img-00000000"},
        {**BODY, "ImageId": image, "Placement": {"Zone": "ap-shanghai-2"}},
        {**BODY, "ImageId": image, "InstanceChargeType": "PREPAID", "InstanceChargePrepaid": {"Period": 13}},
        {**BODY, "ImageId": image, "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 5}},
        {**BODY, "ImageId": image, "InstanceCount": 501},
    ]
    before = call(c, "DescribeInstances", {}).TotalCount
    for body in bad_bodies:
        inquiry = code_of(lambda: call(c, "InquiryPriceRunInstances", body))
        real = code_of(lambda: call(c, "RunInstances", body))
        assert inquiry == real, body
    assert code_of(lambda: call(c, "InquiryPriceRunInstances", {"ImageId": image})) == "MissingParameter"
    assert call(c, "DescribeInstances", {}).TotalCount == before
    cb = cbs(server)
    good = {"DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_SSD", "DiskSize": 100}
    price = ccall(cb, "InquiryPriceCreateDisks", good).DiskPrice
    assert price.ChargeUnit == "HOUR" and Decimal(price.UnitPriceHigh) == Decimal("0.14")
    for bad in ({**good, "DiskType": "CLOUD_FLOPPY"}, {**good, "DiskSize": 5}, {**good, "DiskChargeType": "FREE"},
                {**good, "DiskCount": 51}):
        assert code_of(lambda: ccall(cb, "InquiryPriceCreateDisks", bad)) == "InvalidParameterValue", bad
    assert code_of(lambda: ccall(cb, "InquiryPriceCreateDisks", {"DiskType": "CLOUD_SSD", "DiskSize": 100})) \
        == "MissingParameter"


def test_billing_parameters_get_the_real_error_codes(server):
    b = billing(server)
    month = "2026-01"
    cases = [
        ("DescribeBillResourceSummary", {"Offset": 0, "Limit": 10, "Month": "2026-13"}, "InvalidParameterValue"),
        ("DescribeBillResourceSummary", {"Offset": 0, "Limit": 10}, "MissingParameter"),
        ("DescribeBillResourceSummary", {"Offset": 0, "Limit": 1001, "Month": month}, "InvalidParameterValue"),
        ("DescribeBillDetail", {"Offset": 0, "Limit": 301, "Month": month}, "InvalidParameterValue"),
        ("DescribeBillDetail", {"Offset": 0, "Limit": 10}, "MissingParameter"),
        ("DescribeBillDetail", {"Offset": 0, "Limit": 10, "BeginTime": "2026-01-01 00:00:00"}, "InvalidParameter"),
        ("DescribeBillDetail", {"Offset": 0, "Limit": 10, "BeginTime": "2026-01-01 00:00:00",
                                "EndTime": "2026-02-01 00:00:00"}, "InvalidParameter"),
        ("DescribeBillDetail", {"Offset": 0, "Limit": 10, "Month": month, "PayMode": "free"}, "InvalidParameterValue"),
        ("DescribeBillSummaryByProduct", {"BeginTime": month}, "MissingParameter"),
        ("DescribeBillSummaryByRegion", {"BeginTime": "January", "EndTime": "January"}, "InvalidParameterValue"),
    ]
    for action, body, code in cases:
        assert code_of(lambda: bcall(b, action, body)) == code, (action, body)
    got = bcall(b, "DescribeBillDetail", {"Offset": 0, "Limit": 10, "BeginTime": "2026-01-01 00:00:00",
                                          "EndTime": "2026-01-31 23:59:59"})
    assert got.Total == 0


def _price(c, action, body) -> Decimal:
    return Decimal(str(call(c, action, body).Price.InstancePrice.UnitPrice))


def test_inquiries_about_an_instance_and_a_disk(server):
    c, cb = sdk.cvm(server), cbs(server)
    image = public_image(c)
    ids = call(c, "RunInstances", {**BODY, "ImageId": image}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    iid = ids[0]
    base = COMPUTE_HOUR + DISK_HOUR
    assert _price(c, "InquiryPriceResetInstance", {"InstanceId": iid, "ImageId": "img-ypzmw5c6"}) == base + Decimal("0.12")
    resize = {"InstanceId": iid, "SystemDisk": {"DiskSize": 60}}
    # RUNNING needs ForceStop, as the action says; each answers the code its own action documents
    assert code_of(lambda: call(c, "ResizeInstanceDisks", resize)) == "UnsupportedOperation.InstanceStateRunning"
    assert code_of(lambda: call(c, "InquiryPriceResizeInstanceDisks", resize)) == "InvalidInstance.NotSupported"
    assert _price(c, "InquiryPriceResizeInstanceDisks", {**resize, "ForceStop": True}) == COMPUTE_HOUR + Decimal("0.03")
    assert _price(c, "InquiryPriceResetInstancesType", {"InstanceIds": [iid], "InstanceType": "S5.LARGE8"}) \
        == Decimal("0.36") + DISK_HOUR
    assert code_of(lambda: call(c, "InquiryPriceResetInstancesType", {"InstanceIds": [iid], "InstanceType": "s5"})) \
        == "InvalidInstanceType.Malformed"
    assert call(c, "InquiryPriceTerminateInstances", {"InstanceIds": [iid]}).InstanceRefundsSet[0].Refunds == 0
    assert code_of(lambda: call(c, "InquiryPriceRenewInstances", {"InstanceIds": [iid], "InstanceChargePrepaid": {"Period": 1}})) \
        == "UnsupportedOperation"  # InquiryPriceRenewInstances documents no InstanceChargeType: the family
    to_prepaid = call(c, "InquiryPriceModifyInstancesChargeType", {
        "InstanceIds": [iid], "InstanceChargeType": "PREPAID", "InstanceChargePrepaid": {"Period": 12}}).Price.InstancePrice
    assert Decimal(str(to_prepaid.OriginalPrice)) == base * 360 * 12 and to_prepaid.Discount == 83
    missing = {"InstanceId": "ins-00000000"}
    assert code_of(lambda: call(c, "InquiryPriceResetInstance", missing)) == code_of(lambda: call(c, "ResetInstance", missing))

    disk = ccall(cb, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                     "DiskType": "CLOUD_SSD", "DiskSize": 100}).DiskIdSet[0]
    price = ccall(cb, "InquiryPriceResizeDisk", {"DiskId": disk, "DiskSize": 200}).DiskPrice
    assert Decimal(price.UnitPriceHigh) == Decimal("0.28")
    shrink = {"DiskId": disk, "DiskSize": 50}
    assert code_of(lambda: ccall(cb, "InquiryPriceResizeDisk", shrink)) == code_of(lambda: ccall(cb, "ResizeDisk", shrink))
    assert code_of(lambda: ccall(cb, "InquiryPriceRenewDisks", {"DiskIds": [disk]})) == "UnsupportedOperation"
    # nothing changed
    got = call(c, "DescribeInstances", {"InstanceIds": [iid]}).InstanceSet[0]
    assert (got.InstanceState, got.InstanceType, got.SystemDisk.DiskSize, got.ImageId) == \
        ("RUNNING", "S5.MEDIUM4", 50, image)
    assert ccall(cb, "DescribeDisks", {"DiskIds": [disk]}).DiskSet[0].DiskSize == 100


def test_a_prepaid_instance_is_charged_its_period_once(make_server):
    srv = make_server()
    c, b = sdk.cvm(srv), billing(srv)
    body = {**BODY, "ImageId": public_image(c), "InstanceChargeType": "PREPAID", "InstanceChargePrepaid": {"Period": 12}}
    quote = call(c, "InquiryPriceRunInstances", body).Price.InstancePrice
    ids = call(c, "RunInstances", body).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    srv.stop(signal.SIGKILL)
    srv.start()
    month = clock_now(srv).strftime("%Y-%m")
    rows = bcall(b, "DescribeBillResourceSummary", {"Offset": 0, "Limit": 100, "Month": month}).ResourceSummarySet
    assert [(r.ResourceId, r.PayModeName, r.ActionTypeName) for r in rows] == [(ids[0], "包年包月", "包年包月新购")]
    assert Decimal(rows[0].RealTotalCost) == Decimal(str(quote.DiscountPrice)) == \
        ((COMPUTE_HOUR + DISK_HOUR) * 360 * 12 * Decimal("0.83")).quantize(Decimal("0.01"))
    detail = bcall(b, "DescribeBillDetail", {"Offset": 0, "Limit": 100, "Month": month}).DetailSet
    assert [d.ActionType for d in detail] == ["prepay_purchase"]
