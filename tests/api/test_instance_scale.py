"""Issue 24: ResetInstancesType, DescribeInstancesModification, DescribeInstanceFamilyConfigs,
ModifyInstancesChargeType and ModifyInstancesProject over the official SDK."""

from __future__ import annotations

import json
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from .images_util import new_account
from .instances_util import call, instance, public_image, wait_operation, wait_state


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _vm(server, instance_id: str) -> dict:
    """What the fake driver's VM has (its state file): the CPU and memory it booted with."""
    return json.loads((server.data_dir / "vms" / f"{instance_id}.json").read_text())


def _launch(c, zone="ap-guangzhou-3", itype="S5.MEDIUM4") -> str:
    iid = call(c, "RunInstances", {"Placement": {"Zone": zone}, "ImageId": public_image(c),
                                   "InstanceType": itype}).InstanceIdSet[0]
    wait_state(c, [iid], "RUNNING")
    return iid


def _retype(c, iid, itype, force=False):
    return call(c, "ResetInstancesType", {"InstanceIds": [iid], "InstanceType": itype, "ForceStop": force})


def test_reset_instances_type_round_trip(server):
    _, client_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    c = client_for()
    iid = _launch(c)
    assert (_vm(server, iid)["cpu"], _vm(server, iid)["memory_mib"]) == (2, 4096)
    assert _code(lambda: _retype(c, iid, "S5.LARGE8")) == "UnsupportedOperation.InstanceStateRunning"

    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    _retype(c, iid, "S5.LARGE8")
    got = wait_operation(c, iid)
    # the API documents that the instance shows as running once the change is done
    assert (got.LatestOperation, got.LatestOperationState, got.InstanceState) == ("ResetInstancesType", "SUCCESS", "RUNNING")
    assert (got.InstanceType, got.CPU, got.Memory) == ("S5.LARGE8", 4, 8)
    vm = _vm(server, iid)
    assert (vm["cpu"], vm["memory_mib"], vm["power_state"]) == (4, 8192, "running")

    _retype(c, iid, "S5.MEDIUM4", force=True)  # from RUNNING with ForceStop
    got = wait_operation(c, iid)
    assert (got.LatestOperationState, got.InstanceState, got.InstanceType, got.CPU, got.Memory) == \
        ("SUCCESS", "RUNNING", "S5.MEDIUM4", 2, 4)
    assert (_vm(server, iid)["cpu"], _vm(server, iid)["memory_mib"]) == (2, 4096)

    # a plain Stop/Start keeps the current type
    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    call(c, "StartInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "RUNNING")
    assert (_vm(server, iid)["cpu"], _vm(server, iid)["memory_mib"]) == (2, 4096)


def test_reset_instances_type_refusals(server):
    created, client_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    c = client_for()
    iid = _launch(c)
    arm_zone = _launch(c, zone="ap-guangzhou-6")
    call(c, "StopInstances", {"InstanceIds": [iid, arm_zone]})
    wait_state(c, [iid, arm_zone], "STOPPED")
    wait_operation(c, iid)
    wait_operation(c, arm_zone)
    refusals = {
        "S5.MEDIUM4": "InvalidParameterValue",  # the type it has
        "s5.large8": "InvalidInstanceType.Malformed",
        "S5.HUGE999": "ResourceNotFound.InvalidZoneInstanceType",
        "SR1.MEDIUM4": "ResourceUnavailable.InstanceType",  # ARM, not sold in ap-guangzhou-3
        "GN7.2XLARGE32": "InvalidParameterValue.GPUInstanceFamily",
    }
    for itype, code in refusals.items():
        assert _code(lambda: _retype(c, iid, itype)) == code, itype
    assert _code(lambda: _retype(c, arm_zone, "SR1.MEDIUM4")) == "UnsupportedOperation.UnsupportedChangeInstanceFamilyToARM"
    assert _code(lambda: call(c, "ResetInstancesType", {"InstanceIds": [iid, arm_zone], "InstanceType": "S5.LARGE8"})) \
        == "InvalidParameterValue.LimitExceeded"
    other, other_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    assert _code(lambda: _retype(other_for(), iid, "S5.LARGE8")) == "InvalidInstanceId.NotFound"
    assert instance(c, iid).InstanceType == "S5.MEDIUM4" and instance(c, iid).InstanceState == "STOPPED"

    # an instance stopped without charging keeps its type
    call(c, "StartInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "RUNNING")
    call(c, "StopInstances", {"InstanceIds": [iid], "StoppedMode": "STOP_CHARGING"})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    assert _code(lambda: _retype(c, iid, "S5.LARGE8")) == "UnsupportedOperation.StoppedModeStopCharging"


def test_modification_and_family_configs(server):
    _, client_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    c = client_for()
    iid = _launch(c)
    got = call(c, "DescribeInstancesModification", {"InstanceIds": [iid]})
    types = {s.InstanceTypeConfig.InstanceType for s in got.InstanceTypeConfigStatusSet}
    assert got.TotalCount == len(types) and "S5.LARGE8" in types and "SA2.MEDIUM4" in types
    assert "S5.MEDIUM4" not in types and not any(t.startswith(("SR1.", "GN7.")) for t in types)
    assert all(s.Status == "SELL" and s.InstanceTypeConfig.Zone == "ap-guangzhou-3" for s in got.InstanceTypeConfigStatusSet)
    only_s5 = call(c, "DescribeInstancesModification", {"InstanceIds": [iid], "Filters": [
        {"Name": "instance-family", "Values": ["S5"]}]}).InstanceTypeConfigStatusSet
    assert only_s5 and {s.InstanceTypeConfig.InstanceFamily for s in only_s5} == {"S5"}
    other = _launch(c, zone="ap-guangzhou-6")
    assert _code(lambda: call(c, "DescribeInstancesModification", {"InstanceIds": [iid, other]})) == \
        "FailedOperation.ZoneInconsistent"
    assert _code(lambda: call(c, "DescribeInstancesModification", {"InstanceIds": ["ins-zzzzzzzz"]})) == \
        "InvalidInstanceId.NotFound"
    assert _code(lambda: call(c, "DescribeInstancesModification", {"InstanceIds": [iid], "Filters": [
        {"Name": "zone", "Values": ["x"]}]})) == "InvalidFilter"

    families = {f.InstanceFamily: f.InstanceFamilyName for f in
                call(c, "DescribeInstanceFamilyConfigs", {}).InstanceFamilyConfigSet}
    assert families["S5"] == "标准型S5" and "SR1" in families  # sold in ap-guangzhou-6
    intl = {f.InstanceFamily for f in call(client_for("ap-singapore"), "DescribeInstanceFamilyConfigs", {}).InstanceFamilyConfigSet}
    assert "S5" in intl and "S6" not in intl  # S6 is sold in the mainland only


def test_charge_type_and_project(server):
    _, client_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    c = client_for()
    iid = _launch(c)
    assert _code(lambda: call(c, "ModifyInstancesChargeType", {"InstanceIds": [iid], "InstanceChargeType": "PREPAID"})) \
        == "InvalidPeriod"
    assert _code(lambda: call(c, "ModifyInstancesChargeType", {"InstanceIds": [iid], "InstanceChargeType": "SPOTPAID"})) \
        == "InvalidParameterValue"
    call(c, "ModifyInstancesChargeType", {"InstanceIds": [iid], "InstanceChargeType": "PREPAID",
                                          "InstanceChargePrepaid": {"Period": 1, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"}})
    got = instance(c, iid)
    assert (got.InstanceChargeType, got.RenewFlag, got.LatestOperation, got.LatestOperationState) == \
        ("PREPAID", "NOTIFY_AND_AUTO_RENEW", "ModifyInstancesChargeType", "SUCCESS")
    assert got.ExpiredTime
    assert _code(lambda: call(c, "ModifyInstancesChargeType", {"InstanceIds": [iid], "InstanceChargeType": "PREPAID",
                                                               "InstanceChargePrepaid": {"Period": 1}})) \
        == "UnsupportedOperation.InstanceChargeType"
    call(c, "ModifyInstancesChargeType", {"InstanceIds": [iid], "InstanceChargeType": "POSTPAID_BY_HOUR"})
    got = instance(c, iid)
    assert got.InstanceChargeType == "POSTPAID_BY_HOUR" and not got.ExpiredTime

    call(c, "ModifyInstancesProject", {"InstanceIds": [iid], "ProjectId": 1234})
    got = instance(c, iid)
    assert (got.Placement.ProjectId, got.LatestOperation) == (1234, "ModifyInstancesProject")
    filtered = call(c, "DescribeInstances", {"Filters": [{"Name": "project-id", "Values": ["1234"]}]}).InstanceSet
    assert [i.InstanceId for i in filtered] == [iid]
    assert _code(lambda: call(c, "ModifyInstancesProject", {"InstanceIds": [iid], "ProjectId": -1})) == \
        "InvalidProjectId.NotFound"
    assert _code(lambda: call(c, "ModifyInstancesProject", {"InstanceIds": ["ins-zzzzzzzz"], "ProjectId": 1})) == \
        "InvalidInstanceId.NotFound"


def test_modify_instance_disk_type(server):
    _, client_for = new_account(server, f"scale-{uuid.uuid4().hex[:8]}")
    c = client_for()
    iid = _launch(c)
    body = {"InstanceId": iid, "SystemDisk": {"DiskType": "CLOUD_SSD"}}
    assert _code(lambda: call(c, "ModifyInstanceDiskType", body)) == "UnsupportedOperation.InstanceStateRunning"
    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED")
    wait_operation(c, iid)
    assert _code(lambda: call(c, "ModifyInstanceDiskType", {"InstanceId": iid})) == "MissingParameter"
    # only local disks convert, and localcvm's disks are all cloud disks
    assert _code(lambda: call(c, "ModifyInstanceDiskType", body)) == "InvalidParameter.InvalidInstanceNotSupported"
    assert _code(lambda: call(c, "ModifyInstanceDiskType", {**body, "InstanceId": "ins-zzzzzzzz"})) == \
        "InvalidInstanceId.NotFound"
