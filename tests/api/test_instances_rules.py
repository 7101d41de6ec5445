"""Issue 5: more rules, reinstall, passwords, filters, and disk space on terminate."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from .images_util import dir_bytes, new_account
from .instances_util import call, instance, public_image, states, wait_operation, wait_state
from .test_instances import _cbs, _cbs_call


def _code(fn) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value


@pytest.fixture
def account(server):
    return new_account(server, f"rl-{uuid.uuid4().hex[:8]}")


def _run(c, **over):
    body = {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c)}
    body.update(over)
    ids = call(c, "RunInstances", body).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    return ids


def test_states_passwords_and_reinstall(server, account):
    _created, client_for = account
    c = client_for()
    assert _code(lambda: _run(c, LoginSettings={"Password": "short1A"})).code == "InvalidParameterValue.InvalidPassword"
    assert _code(lambda: _run(c, LoginSettings={"Password": "alllowercaseletters"})).code == \
        "InvalidParameterValue.InvalidPassword"
    win = public_image(c, "Windows Server 2022")
    assert _code(lambda: _run(c, ImageId=win, LoginSettings={"Password": "Abcdef12"})).code == \
        "InvalidParameterValue.InvalidPassword"  # Windows needs 12+
    assert _code(lambda: _run(c, HostName="-bad-")).code == "InvalidParameterValue.IllegalHostName"
    assert _code(lambda: _run(c, UserData="not base64!!")).code == "InvalidParameterValue.InvalidUserDataFormat"
    assert call(c, "DescribeInstances", {}).TotalCount == 0
    one = _run(c, LoginSettings={"Password": "Passw0rd!x"}, InstanceName="srv{R:7,F:3}", HostName="web-1")[0]
    got = instance(c, one)
    assert (got.InstanceName, got.HostName, got.DefaultLoginUser, got.DefaultLoginPort) == ("srv007", "web-1", "ubuntu", 22)
    # wrong-state operations name the state
    call(c, "StopInstances", {"InstanceIds": [one]})
    wait_state(c, [one], "STOPPED")
    assert _code(lambda: call(c, "StopInstances", {"InstanceIds": [one]})).code == "UnsupportedOperation.InstanceStateStopped"
    assert _code(lambda: call(c, "RebootInstances", {"InstanceIds": [one]})).code == "UnsupportedOperation.InstanceStateStopped"
    # password reset: the rules, and running instances need ForceStop
    assert _code(lambda: call(c, "ResetInstancesPassword", {"InstanceIds": [one], "Password": "weak"})).code == \
        "InvalidParameterValue.InvalidPassword"
    call(c, "ResetInstancesPassword", {"InstanceIds": [one], "Password": "N3w-Passw0rd"})
    call(c, "StartInstances", {"InstanceIds": [one]})
    wait_state(c, [one], "RUNNING")
    assert _code(lambda: call(c, "ResetInstancesPassword", {"InstanceIds": [one], "Password": "N3w-Passw0rd"})).code == \
        "UnsupportedOperation.InstanceStateRunning"
    # reinstall from another image; the system disk cannot be smaller than the image
    debian = public_image(c, "Debian 12")
    assert _code(lambda: call(c, "ResetInstance", {"InstanceId": one, "ImageId": debian, "SystemDisk": {"DiskSize": 20}})).code \
        == "InvalidParameterValue"  # ResetInstance documents no InvalidParameterValue.Range
    call(c, "ResetInstance", {"InstanceId": one, "ImageId": debian})
    done = wait_operation(c, one)
    assert done.LatestOperation == "ResetInstance" and done.LatestOperationState == "SUCCESS"
    assert done.ImageId == debian and done.OsName.startswith("Debian") and done.InstanceState == "RUNNING"
    assert done.DefaultLoginUser == "root"
    # ARM images need ARM instance types
    arm = public_image(c, "Ubuntu Server 22.04 LTS 64位 for ARM")
    assert _code(lambda: _run(c, ImageId=arm)).code == "InvalidParameterValue.InvalidImageForGivenInstanceType"
    arm_ids = _run(c, ImageId=arm, InstanceType="SR1.MEDIUM4", Placement={"Zone": "ap-guangzhou-6"})
    assert instance(c, arm_ids[0]).InstanceType == "SR1.MEDIUM4"


def test_filters_and_paging(server, account):
    _created, client_for = account
    c = client_for()
    a = _run(c, InstanceName="alpha", InstanceCount=3)
    b = _run(c, InstanceName="beta", Placement={"Zone": "ap-guangzhou-4"}, InstanceChargeType="PREPAID",
             InstanceChargePrepaid={"Period": 1})
    assert call(c, "DescribeInstances", {}).TotalCount == 4
    assert call(c, "DescribeInstances", {"Filters": [{"Name": "instance-name", "Values": ["alpha"]}]}).TotalCount == 3
    assert call(c, "DescribeInstances", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]}]}).TotalCount == 1
    prepaid = call(c, "DescribeInstances", {"Filters": [{"Name": "instance-charge-type", "Values": ["PREPAID"]}]})
    assert prepaid.TotalCount == 1 and prepaid.InstanceSet[0].ExpiredTime
    page = call(c, "DescribeInstances", {"Offset": 1, "Limit": 2})
    everything = call(c, "DescribeInstances", {"Limit": 100})
    assert page.TotalCount == 4 and [i.InstanceId for i in page.InstanceSet] == \
        [i.InstanceId for i in everything.InstanceSet[1:3]]
    assert _code(lambda: call(c, "DescribeInstances", {"Filters": [{"Name": "colour", "Values": ["x"]}]})).code == \
        "InvalidFilter"
    assert _code(lambda: call(c, "DescribeInstances", {"InstanceIds": a, "Filters": [
        {"Name": "zone", "Values": ["ap-guangzhou-3"]}]})).code == "InvalidParameter"
    status = call(c, "DescribeInstancesStatus", {"InstanceIds": a + b})
    assert {s.InstanceState for s in status.InstanceStatusSet} == {"RUNNING"}
    assert states(c, a + b) == {i: "RUNNING" for i in a + b}


def test_terminate_frees_disk_space_but_never_image_or_snapshot_chunks(make_server):
    srv = make_server()
    created, client_for = new_account(srv, "space")
    c = client_for()
    one = _run(c, DataDisks=[{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20}])[0]
    got = instance(c, one)
    disks = srv.data_dir / "disks" / "ap-guangzhou"
    blobs = srv.data_dir / "blobs" / "ap-guangzhou"
    data_path = disks / f"{got.DataDisks[0].DiskId}.qcow2"
    system_path = disks / f"{got.SystemDisk.DiskId}.qcow2"
    # the guest writes 24 MiB to each disk
    for path in (data_path, system_path):
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 8M 24M", str(path)], check=True, capture_output=True)
    used = dir_bytes(disks)
    assert used >= 48 * 1024 * 1024
    cbs = _cbs(srv, created)
    snap = _cbs_call(cbs, "CreateSnapshot", {"DiskId": got.DataDisks[0].DiskId}).SnapshotId
    wait_until(lambda: _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState == "NORMAL",
               timeout=60, what="snapshot")
    chunks_before = dir_bytes(blobs)
    call(c, "TerminateInstances", {"InstanceIds": [one]})
    wait_until(lambda: call(c, "DescribeInstances", {"InstanceIds": [one]}).TotalCount == 0, timeout=60, what="terminate")
    assert dir_bytes(disks) <= used - 48 * 1024 * 1024
    assert not data_path.exists() and not system_path.exists()
    out = srv.cli("images", "gc", "--grace", "0").stdout
    assert "removed 0 chunks" in out  # the snapshot and the public image still reference theirs
    assert dir_bytes(blobs) == chunks_before
    # a new disk from the snapshot carries the guest's bytes
    new_disk = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                              "DiskType": "CLOUD_PREMIUM", "SnapshotId": snap}).DiskIdSet[0]
    check = subprocess.run(["qemu-io", "-f", "qcow2", "-r", "-c", "read -P 0xab 8M 24M", str(disks / f"{new_disk}.qcow2")],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "Pattern verification failed" not in check.stdout, check.stdout
    # deleting the snapshot lets gc free its chunks
    _cbs_call(cbs, "DeleteSnapshots", {"SnapshotIds": [snap]})
    out = srv.cli("images", "gc", "--grace", "0").stdout
    assert "removed 1 chunks" in out, out  # six 4 MiB chunks of 0xab: one stored chunk
