"""The instance life cycle's one rule: no operation starts while another runs on the instance
(``OperationDenied.InstanceOperationInProgress``), and ResetInstance applies RunInstances' system
disk ranges. Jobs are held back by running the server without workers and starting a worker
process only when the test lets them run."""

from __future__ import annotations

import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from .images_util import new_account
from .instances_util import call, instance, public_image, wait_operation, wait_state
from .test_instances import _cbs, _cbs_call
from .test_worker import output, start_worker

BUSY = "OperationDenied.InstanceOperationInProgress"


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _stop_worker(proc) -> None:
    proc.terminate()
    assert proc.wait(timeout=30) == 0, output(proc)


def test_every_operation_refuses_while_another_runs(make_server):
    srv = make_server(extra_env={"LOCALCVM_WORKERS": "0"})
    created, client_for = new_account(srv, f"lc-{uuid.uuid4().hex[:8]}")
    c = client_for()
    cbs = _cbs(srv, created)
    key_id = call(c, "CreateKeyPair", {"KeyName": "lc", "ProjectId": 0}).KeyPair.KeyId
    disk_id = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                             "DiskType": "CLOUD_PREMIUM", "DiskSize": 20}).DiskIdSet[0]
    worker = start_worker(srv, "--threads", "1")
    try:
        ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c),
                                       "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20}]}).InstanceIdSet
        iid = ids[0]
        wait_state(c, ids, "RUNNING")
        call(c, "StopInstances", {"InstanceIds": ids})
        wait_state(c, ids, "STOPPED")
        wait_operation(c, iid)
    finally:
        _stop_worker(worker)
    data_disk = instance(c, iid).DataDisks[0].DiskId

    # no worker: the resize job waits in the queue, the instance is busy with it
    system_size = instance(c, iid).SystemDisk.DiskSize
    call(c, "ResizeInstanceDisks", {"InstanceId": iid, "SystemDisk": {"DiskSize": system_size + 10}})
    got = instance(c, iid)
    assert (got.LatestOperation, got.LatestOperationState) == ("ResizeInstanceDisks", "OPERATING")
    request_id = got.LatestOperationRequestId
    for _ in range(5):  # back-to-back resizes are refused, not queued behind it
        assert _code(lambda: call(c, "ResizeInstanceDisks", {
            "InstanceId": iid, "DataDisks": [{"DiskId": data_disk, "DiskSize": 40}]})) == BUSY
    refused = [
        lambda: call(c, "StartInstances", {"InstanceIds": [iid]}),
        lambda: call(c, "TerminateInstances", {"InstanceIds": [iid]}),
        lambda: call(c, "ResetInstance", {"InstanceId": iid}),
        lambda: call(c, "ResetInstancesPassword", {"InstanceIds": [iid], "Password": "N3w-Passw0rd"}),
        lambda: call(c, "AssociateInstancesKeyPairs", {"InstanceIds": [iid], "KeyIds": [key_id]}),
        lambda: call(c, "CreateImage", {"InstanceId": iid, "ImageName": "busy"}),
    ]
    for attempt in refused:
        assert _code(attempt) == BUSY
    for attempt in (  # CBS documents ResourceBusy for the same refusal
        lambda: _cbs_call(cbs, "AttachDisks", {"InstanceId": iid, "DiskIds": [disk_id]}),
        lambda: _cbs_call(cbs, "DetachDisks", {"DiskIds": [data_disk]}),
    ):
        assert _code(attempt) == "ResourceBusy"
    got = instance(c, iid)  # nothing replaced the running operation
    assert (got.LatestOperation, got.LatestOperationState, got.LatestOperationRequestId) == \
        ("ResizeInstanceDisks", "OPERATING", request_id)

    worker = start_worker(srv, "--threads", "1")
    try:
        got = wait_operation(c, iid)
        assert got.LatestOperationState == "SUCCESS", got.LatestOperationErrorMsg
        assert got.InstanceState == "STOPPED" and got.SystemDisk.DiskSize == system_size + 10
        # once it has finished, the next operation runs
        call(c, "ResizeInstanceDisks", {"InstanceId": iid, "DataDisks": [{"DiskId": data_disk, "DiskSize": 40}]})
        got = wait_operation(c, iid)
        assert got.LatestOperationState == "SUCCESS" and got.DataDisks[0].DiskSize == 40
        _cbs_call(cbs, "AttachDisks", {"InstanceId": iid, "DiskIds": [disk_id]})
        assert _cbs_call(cbs, "DescribeDisks", {"DiskIds": [disk_id]}).DiskSet[0].DiskState == "ATTACHED"
    finally:
        _stop_worker(worker)
    assert "Traceback" not in srv.log()


def test_reset_instance_applies_the_system_disk_ranges_of_run_instances(server):
    created, client_for = new_account(server, f"lr-{uuid.uuid4().hex[:8]}")
    c = client_for()
    image = public_image(c)
    ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    before = wait_operation(c, ids[0])
    run_code = _code(lambda: call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                                      "SystemDisk": {"DiskSize": 2147483648}}))
    assert run_code == "InvalidParameterValue.Range"
    for size in (2147483648, 1025):  # the same rule; ResetInstance documents no .Range, so the common code
        assert _code(lambda size=size: call(c, "ResetInstance", {"InstanceId": ids[0],
                                                                 "SystemDisk": {"DiskSize": size}})) == "InvalidParameterValue"
    after = instance(c, ids[0])  # refused before anything changed
    assert (after.InstanceState, after.LatestOperation, after.LatestOperationState) == \
        ("RUNNING", before.LatestOperation, before.LatestOperationState)
    assert after.SystemDisk.DiskSize == before.SystemDisk.DiskSize
