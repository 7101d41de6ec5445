"""Issue 24: ApplySnapshot restores a disk's bytes; ModifySnapshotAttribute, ModifyDiskAttributes,
DescribeDiskConfigQuota, DescribeInstancesDiskNum (cbs 2017-03-12, official SDK)."""

from __future__ import annotations

import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from .create_image_util import MiB, disk_ids, launch, read_bytes, write_pattern
from .images_util import new_account
from .instances_util import call, instance, wait_operation, wait_state
from .test_instances import _cbs, _cbs_call
from .test_worker import output, start_worker


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _disk(cbs, disk_id):
    return _cbs_call(cbs, "DescribeDisks", {"DiskIds": [disk_id]}).DiskSet[0]


def _snapshot(cbs, disk_id, name="s") -> str:
    snap = _cbs_call(cbs, "CreateSnapshot", {"DiskId": disk_id, "SnapshotName": name}).SnapshotId
    wait_until(lambda: _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState
               == "NORMAL", timeout=60, interval=0.1, what=f"{snap} to be NORMAL")
    return snap


def _settled(cbs, disk_id, state):
    return wait_until(lambda: _disk(cbs, disk_id) if _disk(cbs, disk_id).DiskState == state else None,
                      timeout=60, interval=0.1, what=f"{disk_id} to be {state}")


def _new_disk(cbs, size=20) -> str:
    disk_id = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                             "DiskType": "CLOUD_PREMIUM", "DiskSize": size}).DiskIdSet[0]
    _settled(cbs, disk_id, "UNATTACHED")
    return disk_id


@pytest.fixture
def acct(server):
    created, client_for = new_account(server, f"rst-{uuid.uuid4().hex[:8]}")
    return created, client_for(), _cbs(server, created)


def test_apply_snapshot_restores_a_detached_disk_exactly(server, acct, tmp_path):
    _, c, cbs = acct
    disk_id = _new_disk(cbs)
    write_pattern(server, disk_id, 3 * MiB, MiB, 0x5A)
    snap = _snapshot(cbs, disk_id)
    write_pattern(server, disk_id, 3 * MiB, MiB, 0x11)  # changed after the snapshot
    write_pattern(server, disk_id, 9 * MiB, MiB, 0x22)  # written after the snapshot
    _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": snap, "DiskId": disk_id})
    _settled(cbs, disk_id, "UNATTACHED")
    assert read_bytes(server, disk_id, 3 * MiB, MiB, tmp_path) == bytes([0x5A]) * MiB
    assert read_bytes(server, disk_id, 9 * MiB, MiB, tmp_path) == bytes(MiB)
    # the restored disk is a disk like any other: written again, snapshotted again, rolled back again
    write_pattern(server, disk_id, 3 * MiB, MiB, 0x33)
    _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": snap, "DiskId": disk_id})
    _settled(cbs, disk_id, "UNATTACHED")
    assert read_bytes(server, disk_id, 3 * MiB, MiB, tmp_path) == bytes([0x5A]) * MiB


def test_apply_snapshot_to_attached_disks(server, acct, tmp_path):
    _, c, cbs = acct
    (iid,) = launch(c, data_disks=(20,))
    system, data = disk_ids(c, iid)
    write_pattern(server, data, 2 * MiB, MiB, 0x44)
    snap = _snapshot(cbs, data)
    write_pattern(server, data, 2 * MiB, MiB, 0x55)
    body = {"SnapshotId": snap, "DiskId": data}
    # ApplySnapshot documents InvalidInstance.NotSupported for an instance in the wrong state
    assert _code(lambda: _cbs_call(cbs, "ApplySnapshot", body)) == "InvalidInstance.NotSupported"
    assert _code(lambda: _cbs_call(cbs, "ApplySnapshot", {**body, "AutoStartInstance": True})) == "InvalidParameterValue"
    _cbs_call(cbs, "ApplySnapshot", {**body, "AutoStopInstance": True, "AutoStartInstance": True})
    got = wait_operation(c, iid)
    assert (got.LatestOperation, got.LatestOperationState, got.InstanceState) == ("ApplySnapshot", "SUCCESS", "RUNNING")
    assert _disk(cbs, data).DiskState == "ATTACHED"
    assert read_bytes(server, data, 2 * MiB, MiB, tmp_path) == bytes([0x44]) * MiB

    # the system disk of a stopped instance; it stays stopped
    sys_snap = _snapshot(cbs, system, "sys")  # (the fake driver snapshots running disks)
    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    before = read_bytes(server, system, 0, MiB, tmp_path)
    write_pattern(server, system, 0, MiB, 0x66)
    _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": sys_snap, "DiskId": system})
    got = wait_operation(c, iid)
    assert (got.LatestOperationState, got.InstanceState) == ("SUCCESS", "STOPPED")
    assert read_bytes(server, system, 0, MiB, tmp_path) == before
    call(c, "StartInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "RUNNING")

    # refusals: another disk's snapshot, another account's snapshot or disk
    other_disk = _new_disk(cbs)
    assert _code(lambda: _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": snap, "DiskId": other_disk})) == \
        "InvalidSnapshot.NotSupported"
    created2, _ = new_account(server, f"rst-{uuid.uuid4().hex[:8]}")
    cbs2 = _cbs(server, created2)
    assert _code(lambda: _cbs_call(cbs2, "ApplySnapshot", {"SnapshotId": snap, "DiskId": data})) == "InvalidDiskId.NotFound"
    their_disk = _new_disk(cbs2)
    assert _code(lambda: _cbs_call(cbs2, "ApplySnapshot", {"SnapshotId": snap, "DiskId": their_disk})) == \
        "InvalidSnapshotId.NotFound"

    assert {d.InstanceId: d.AttachedDiskCount for d in _cbs_call(cbs, "DescribeInstancesDiskNum", {
        "InstanceIds": [iid]}).AttachDetail} == {iid: 1}
    assert _code(lambda: _cbs_call(cbs2, "DescribeInstancesDiskNum", {"InstanceIds": [iid]})) == "InvalidParameterValue"


def test_apply_snapshot_busy_states(make_server, tmp_path):
    srv = make_server(extra_env={"LOCALCVM_WORKERS": "0"})
    created, _ = new_account(srv, f"rst-{uuid.uuid4().hex[:8]}")
    cbs = _cbs(srv, created)
    disk_id = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                             "DiskType": "CLOUD_PREMIUM", "DiskSize": 20}).DiskIdSet[0]
    pending = _cbs_call(cbs, "CreateSnapshot", {"DiskId": disk_id}).SnapshotId  # no worker: CREATING
    assert _code(lambda: _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": pending, "DiskId": disk_id})) == \
        "ResourceUnavailable.SnapshotCreating"
    worker = start_worker(srv, "--threads", "1")
    try:
        wait_until(lambda: _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [pending]}).SnapshotSet[0].SnapshotState
                   == "NORMAL", timeout=60, interval=0.1, what="the snapshot")
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0, output(worker)
    _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": pending, "DiskId": disk_id})
    assert _disk(cbs, disk_id).DiskState == "ROLLBACKING"
    assert _code(lambda: _cbs_call(cbs, "ApplySnapshot", {"SnapshotId": pending, "DiskId": disk_id})) == \
        "ResourceInUse.DiskRollbacking"
    # ModifyDiskAttributes documents no InvalidDisk.Busy: the common ResourceInUse
    assert _code(lambda: _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [disk_id], "DiskName": "x"})) == \
        "ResourceInUse"


def test_snapshot_and_disk_attributes(server, acct):
    _, c, cbs = acct
    disk_id = _new_disk(cbs)
    snap = _snapshot(cbs, disk_id)
    _cbs_call(cbs, "ModifySnapshotAttribute", {"SnapshotId": snap, "SnapshotName": "nightly", "IsPermanent": False,
                                               "Deadline": "2031-05-01T08:00:00Z"})
    got = _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0]
    assert (got.SnapshotName, got.IsPermanent, got.DeadlineTime) == ("nightly", False, "2031-05-01 08:00:00")
    _cbs_call(cbs, "ModifySnapshotAttribute", {"SnapshotId": snap, "IsPermanent": True})
    got = _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0]
    assert (got.IsPermanent, got.DeadlineTime) == (True, "")
    for bad in ({"SnapshotName": "n" * 61}, {"IsPermanent": False, "Deadline": "2001-01-01T00:00:00Z"}):
        assert _code(lambda: _cbs_call(cbs, "ModifySnapshotAttribute", {"SnapshotId": snap, **bad})) == \
            "InvalidParameterValue"
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotAttribute", {"SnapshotId": "snap-zzzzzzzz", "SnapshotName": "x"})) \
        == "InvalidSnapshotId.NotFound"

    _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [disk_id], "DiskName": "logs", "ProjectId": 7,
                                            "DeleteWithInstance": False})
    got = _disk(cbs, disk_id)
    assert (got.DiskName, got.Placement.ProjectId) == ("logs", 7)
    assert [d.DiskId for d in _cbs_call(cbs, "DescribeDisks", {"Filters": [
        {"Name": "project-id", "Values": ["7"]}]}).DiskSet] == [disk_id]
    _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [disk_id], "DiskType": "CLOUD_SSD"})
    assert _disk(cbs, disk_id).DiskType == "CLOUD_SSD"
    assert _code(lambda: _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [disk_id], "DiskType": "CLOUD_PREMIUM"})) \
        == "InvalidDisk.NotSupported"
    other = _new_disk(cbs)
    assert _code(lambda: _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [disk_id, other], "DiskType": "CLOUD_SSD"})) \
        == "InvalidParameterValue"
    (iid,) = launch(c)
    system = instance(c, iid).SystemDisk.DiskId
    assert _code(lambda: _cbs_call(cbs, "ModifyDiskAttributes", {"DiskIds": [system], "ProjectId": 3})) == \
        "InvalidDisk.NotSupported"


def test_disk_config_quota(server, acct):
    _, _c, cbs = acct
    got = _cbs_call(cbs, "DescribeDiskConfigQuota", {"InquiryType": "INQUIRY_CBS_CONFIG", "Zones": ["ap-guangzhou-3"],
                                                     "DiskTypes": ["CLOUD_SSD"], "DiskUsage": "DATA_DISK",
                                                     "DiskChargeType": "POSTPAID_BY_HOUR"}).DiskConfigSet
    assert [(d.Zone, d.DiskType, d.DiskUsage, d.MinDiskSize, d.MaxDiskSize, d.Available) for d in got] == \
        [("ap-guangzhou-3", "CLOUD_SSD", "DATA_DISK", 20, 32000, True)]
    cvm = _cbs_call(cbs, "DescribeDiskConfigQuota", {"InquiryType": "INQUIRY_CVM_CONFIG", "Zones": ["ap-guangzhou-3"],
                                                     "InstanceFamilies": ["S5"], "DiskTypes": ["CLOUD_PREMIUM"],
                                                     "DiskUsage": "SYSTEM_DISK", "CPU": 2, "Memory": 4}).DiskConfigSet
    assert {d.InstanceFamily for d in cvm} == {"S5"} and all(d.MinDiskSize == 20 for d in cvm)
    assert _code(lambda: _cbs_call(cbs, "DescribeDiskConfigQuota", {"InquiryType": "NOPE"})) == "InvalidParameterValue"
    assert _code(lambda: _cbs_call(cbs, "DescribeDiskConfigQuota", {"InquiryType": "INQUIRY_CBS_CONFIG",
                                                                    "Zones": ["ap-beijing-1"]})) == "InvalidParameterValue"
