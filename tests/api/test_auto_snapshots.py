"""Issue 24: auto-snapshot policies take snapshots at their times on the test clock and keep their
retention; each slot is taken once, across restarts too (cbs 2017-03-12, official SDK)."""

from __future__ import annotations

import time
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from localcvm.client import Endpoint, advance_clock
from tests.helpers import wait_until

from .create_image_util import disk_ids, launch
from .images_util import new_account
from .instances_util import call, wait_operation, wait_state
from .test_instances import _cbs, _cbs_call

EVERY_HOUR = [{"Hour": list(range(24))}]


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _advance(srv, duration: str) -> None:
    advance_clock(Endpoint(srv.scheme, "127.0.0.1", srv.port), srv.secret_id, srv.secret_key, duration)


def _policy_snapshots(cbs, disk_id) -> list:
    return [s for s in _cbs_call(cbs, "DescribeSnapshots", {"Filters": [{"Name": "disk-id", "Values": [disk_id]}],
                                                            "Limit": 100}).SnapshotSet if s.AutoSnapshotPolicyId]


def _settled(cbs, disk_id, count: int) -> list:
    def done():
        got = _policy_snapshots(cbs, disk_id)
        return got if len(got) == count and all(s.SnapshotState == "NORMAL" for s in got) else None

    return wait_until(done, timeout=60, interval=0.2, what=f"{count} NORMAL policy snapshots of {disk_id}")


def test_hourly_policy_keeps_its_retention_across_restarts(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1", "LOCALCVM_SNAPSHOT_SCHEDULER_INTERVAL": "0.2",
                                 "LOCALCVM_AUTO_SNAPSHOT_RETENTION_AMOUNT": "3"})
    created, client_for = new_account(srv, f"asp-{uuid.uuid4().hex[:8]}")
    c, cbs = client_for(), _cbs(srv, created)
    (iid,) = launch(c, data_disks=(20,))
    _system, data = disk_ids(c, iid)
    made = _cbs_call(cbs, "CreateAutoSnapshotPolicy", {"Policy": EVERY_HOUR, "AutoSnapshotPolicyName": "hourly",
                                                       "RetentionDays": 2})
    policy_id = made.AutoSnapshotPolicyId
    assert policy_id.startswith("asp-") and made.NextTriggerTime
    _cbs_call(cbs, "BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [data]})
    got = _cbs_call(cbs, "DescribeAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]}).AutoSnapshotPolicySet[0]
    assert (got.DiskIdSet, got.InstanceIdSet, got.RetentionDays, got.RetentionAmount, got.IsPermanent) == \
        ([data], [iid], 2, 3, False)
    assert _cbs_call(cbs, "DescribeDisks", {"DiskIds": [data]}).DiskSet[0].AutoSnapshotPolicyIds == [policy_id]
    time.sleep(1)  # a few scheduler passes: nothing is due yet
    assert _policy_snapshots(cbs, data) == []

    _advance(srv, "5h")  # five hourly slots: five snapshots, the two oldest pruned
    snaps = _settled(cbs, data, 3)
    assert {s.AutoSnapshotPolicyId for s in snaps} == {policy_id}
    assert all(not s.IsPermanent and s.DeadlineTime for s in snaps)
    kept = {s.SnapshotId for s in snaps}

    srv.restart()  # the slots already taken are not taken again
    time.sleep(1.5)
    assert {s.SnapshotId for s in _policy_snapshots(cbs, data)} == kept

    # a stopped instance's disk is not in use: no scheduled snapshot
    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    _advance(srv, "2h")
    time.sleep(1.5)
    assert {s.SnapshotId for s in _policy_snapshots(cbs, data)} == kept

    # RetentionDays: two days on, every snapshot of the policy has expired (none new: the instance is stopped)
    _advance(srv, "2d")
    wait_until(lambda: _policy_snapshots(cbs, data) == [], timeout=30, interval=0.2, what="the expired snapshots to go")

    # deactivated: nothing more, even once the instance runs
    _cbs_call(cbs, "ModifyAutoSnapshotPolicyAttribute", {"AutoSnapshotPolicyId": policy_id, "IsActivated": False})
    call(c, "StartInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "RUNNING")
    _advance(srv, "3h")
    time.sleep(1.5)
    assert _policy_snapshots(cbs, data) == []
    _cbs_call(cbs, "UnbindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "InstanceIds": [iid]})
    got = _cbs_call(cbs, "DescribeAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]}).AutoSnapshotPolicySet[0]
    assert (got.DiskIdSet, got.IsActivated) == ([], False)
    _cbs_call(cbs, "DeleteAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]})
    assert _cbs_call(cbs, "DescribeAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]}).TotalCount == 0


def test_policy_refusals(server):
    created, client_for = new_account(server, f"asp-{uuid.uuid4().hex[:8]}")
    cbs = _cbs(server, created)
    bad = {
        "InvalidParameterValue": [{"Policy": [{"Hour": [24]}]}, {"Policy": [{"Hour": [1], "DayOfWeek": [7]}]},
                                  {"Policy": EVERY_HOUR, "IsPermanent": True, "RetentionDays": 3},
                                  {"Policy": EVERY_HOUR, "AutoSnapshotPolicyName": "n" * 61}],
        "MissingParameter": [{"Policy": []}, {"Policy": [{"Hour": []}]}],
    }
    for code, bodies in bad.items():
        for body in bodies:
            assert _code(lambda: _cbs_call(cbs, "CreateAutoSnapshotPolicy", body)) == code, body
    dry = _cbs_call(cbs, "CreateAutoSnapshotPolicy", {"Policy": [{"Hour": [3], "DayOfWeek": [1]}], "DryRun": True})
    assert dry.NextTriggerTime and dry.AutoSnapshotPolicyId == ""
    assert _cbs_call(cbs, "DescribeAutoSnapshotPolicies", {}).TotalCount == 0
    policy_id = _cbs_call(cbs, "CreateAutoSnapshotPolicy", {"Policy": EVERY_HOUR, "IsPermanent": True}).AutoSnapshotPolicyId
    assert _code(lambda: _cbs_call(cbs, "ModifyAutoSnapshotPolicyAttribute", {
        "AutoSnapshotPolicyId": policy_id, "RetentionDays": 3})) == "InvalidParameter"
    disk = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                          "DiskType": "CLOUD_PREMIUM", "DiskSize": 20}).DiskIdSet[0]
    _cbs_call(cbs, "BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [disk]})
    assert _code(lambda: _cbs_call(cbs, "BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [disk]})) \
        == "InvalidDisk.AlreadyBound"
    assert _code(lambda: _cbs_call(cbs, "BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id,
                                                                   "DiskIds": ["disk-zzzzzzzz"]})) == "InvalidDiskId.NotFound"
    assert _code(lambda: _cbs_call(cbs, "UnbindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id})) == \
        "MissingParameter"
    created2, _ = new_account(server, f"asp-{uuid.uuid4().hex[:8]}")
    cbs2 = _cbs(server, created2)
    for attempt in (
        lambda: _cbs_call(cbs2, "BindAutoSnapshotPolicy", {"AutoSnapshotPolicyId": policy_id, "DiskIds": [disk]}),
        lambda: _cbs_call(cbs2, "DeleteAutoSnapshotPolicies", {"AutoSnapshotPolicyIds": [policy_id]}),
        lambda: _cbs_call(cbs2, "ModifyAutoSnapshotPolicyAttribute", {"AutoSnapshotPolicyId": policy_id,
                                                                      "IsActivated": False}),
    ):
        assert _code(attempt) == "InvalidAutoSnapshotPolicyId.NotFound"
    assert _cbs_call(cbs2, "DescribeAutoSnapshotPolicies", {}).TotalCount == 0
    named = _cbs_call(cbs, "DescribeAutoSnapshotPolicies", {"Filters": [
        {"Name": "auto-snapshot-policy-name", "Values": ["未命名"]}]})
    assert named.TotalCount == 1 and named.AutoSnapshotPolicySet[0].Policy[0].Hour == list(range(24))
    for n in range(29):
        _cbs_call(cbs, "CreateAutoSnapshotPolicy", {"Policy": EVERY_HOUR, "AutoSnapshotPolicyName": f"p{n}"})
    assert _code(lambda: _cbs_call(cbs, "CreateAutoSnapshotPolicy", {"Policy": EVERY_HOUR})) == \
        "LimitExceeded.AutoSnapshotPolicyOutOfQuota"
