"""RunInstances against a host with a capacity (LOCALCVM_HOST_VCPUS / LOCALCVM_HOST_MEMORY_GIB).

RunInstances is asynchronous: a batch the host has room for only in part is accepted, and the
instances that do not fit end LAUNCH_FAILED (LatestOperationState FAILED) while the rest start;
a request the host has no room for at all is refused with ResourceInsufficient.SpecifiedInstanceType.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from .images_util import new_account
from .instances_util import call, public_image, states, wait_state

ZONE = "ap-guangzhou-3"
CPUS = {"LOCALCVM_HOST_VCPUS": "8"}
MEMORY = {"LOCALCVM_HOST_MEMORY_GIB": "16"}


def _run(c, count: int, itype: str = "S5.MEDIUM4") -> list[str]:
    return call(c, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": public_image(c), "InstanceType": itype,
                                    "InstanceCount": count}).InstanceIdSet


def _settled(c, ids) -> dict[str, str]:
    return wait_until(lambda: (lambda s: s if all(v not in ("PENDING", None) for v in s.values()) and
                               len(s) == len(ids) else None)(states(c, ids)), timeout=60, what="the launches")


def test_a_batch_beyond_the_host_launches_in_part(make_server):
    srv = make_server(extra_env=CPUS)
    _, client_for = new_account(srv, "cap-batch")
    c = client_for()
    ids = _run(c, 5)  # 5 x 2 vCPUs on a host of 8: four fit
    assert len(ids) == 5
    got = _settled(c, ids)
    assert [got[i] for i in ids] == ["RUNNING"] * 4 + ["LAUNCH_FAILED"], got
    failed = call(c, "DescribeInstances", {"InstanceIds": [ids[4]]}).InstanceSet[0]
    assert failed.LatestOperation == "RunInstances" and failed.LatestOperationState == "FAILED"
    assert "ResourceInsufficient.SpecifiedInstanceType" in failed.LatestOperationErrorMsg
    # the host is full: a request with no room for any instance is refused, and creates nothing
    with pytest.raises(TencentCloudSDKException) as err:
        _run(c, 1)
    assert err.value.code == "ResourceInsufficient.SpecifiedInstanceType"
    assert call(c, "DescribeInstances", {"Limit": 100}).TotalCount == 5
    call(c, "TerminateInstances", {"InstanceIds": [ids[4], ids[0]]})
    wait_until(lambda: ids[0] not in states(c, [ids[0]]), timeout=60, what="the terminations")
    assert _settled(c, new := _run(c, 1)) == {new[0]: "RUNNING"}  # a terminated instance frees its room


def test_concurrent_batches_never_overfill_the_host(make_server):
    srv = make_server(extra_env=MEMORY)
    _, client_for = new_account(srv, "cap-race")
    clients = [client_for() for _ in range(3)]
    def attempt(c) -> list[str]:
        try:
            return _run(c, 3)
        except TencentCloudSDKException as exc:  # a batch that came when the host was full
            assert exc.code == "ResourceInsufficient.SpecifiedInstanceType", exc
            return []

    with ThreadPoolExecutor(3) as pool:
        batches = list(pool.map(attempt, clients))
    ids = [i for b in batches for i in b]
    got = _settled(clients[0], ids)
    assert sorted(got.values()).count("RUNNING") == 4, got  # 9 x 4 GiB asked of 16 GiB: exactly four run
    wait_state(clients[0], [i for i in ids if got[i] == "RUNNING"], "RUNNING")


def test_no_capacity_set_means_no_limit(server):
    _, client_for = new_account(server, "cap-none")
    c = client_for()
    ids = _run(c, 6, "S5.LARGE8")
    assert set(_settled(c, ids).values()) == {"RUNNING"}


def test_a_type_change_must_fit_in_what_the_host_has_left(make_server):
    """ResetInstancesType to a larger type needs room for what it adds; a smaller one frees room."""
    srv = make_server(extra_env=CPUS)
    _, client_for = new_account(srv, "cap-retype")
    c = client_for()
    ids = _run(c, 4)  # 4 x 2 vCPUs: the host of 8 is full
    wait_state(c, ids, "RUNNING")
    with pytest.raises(TencentCloudSDKException) as err:
        call(c, "ResetInstancesType", {"InstanceIds": [ids[0]], "InstanceType": "S5.LARGE8", "ForceStop": True})
    assert err.value.code == "ResourceInsufficient.SpecifiedInstanceType"
    assert call(c, "DescribeInstances", {"InstanceIds": [ids[0]]}).InstanceSet[0].CPU == 2  # unchanged
    call(c, "ResetInstancesType", {"InstanceIds": [ids[1]], "InstanceType": "S5.SMALL2", "ForceStop": True})
    wait_until(lambda: (lambda i: i.CPU == 1 and i.InstanceState == "RUNNING" and i.LatestOperationState == "SUCCESS")(
        call(c, "DescribeInstances", {"InstanceIds": [ids[1]]}).InstanceSet[0]), timeout=60, what="the smaller type")
    with pytest.raises(TencentCloudSDKException) as err:  # 1 vCPU free, S5.LARGE8 adds 2
        call(c, "ResetInstancesType", {"InstanceIds": [ids[0]], "InstanceType": "S5.LARGE8", "ForceStop": True})
    assert err.value.code == "ResourceInsufficient.SpecifiedInstanceType"
    call(c, "ResetInstancesType", {"InstanceIds": [ids[0]], "InstanceType": "S5.MEDIUM8", "ForceStop": True})
    wait_until(lambda: call(c, "DescribeInstances", {"InstanceIds": [ids[0]]}).InstanceSet[0].LatestOperationState
               == "SUCCESS", timeout=60, what="the same-CPU type change")  # memory is unlimited here
