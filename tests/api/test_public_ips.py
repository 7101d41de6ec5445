"""Public IP addresses (both drivers): from the operator's loopback range, unique per data dir, released
at terminate; DescribeInstanceVncUrl on the simulated driver."""

from __future__ import annotations

import concurrent.futures
import ipaddress

from tests.api import sdk
from tests.api.instances_util import call, instance, public_image, wait_state
from tests.api.share_util import code_of
from tests.helpers import wait_until


def _run(c, count: int, public: bool = True) -> list[str]:
    body = {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c), "InstanceCount": count}
    if public:
        body["InternetAccessible"] = {"PublicIpAssigned": True, "InternetMaxBandwidthOut": 1}
    return call(c, "RunInstances", body).InstanceIdSet


def test_public_ips_are_unique_in_the_range_and_released(make_server):
    srv = make_server(extra_env={"LOCALCVM_PUBLIC_IP_RANGE": "127.55.0.0/29"})  # 6 usable addresses
    c = sdk.cvm(srv)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = [i for batch in pool.map(lambda n: _run(c, n), [2, 2, 1]) for i in batch]
    wait_state(c, ids, "RUNNING")
    ips = [instance(c, i).PublicIpAddresses[0] for i in ids]
    assert len(set(ips)) == 5
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("127.55.0.0/29") for ip in ips)
    (private,) = _run(c, 1, public=False)
    assert instance(c, private).PublicIpAddresses is None
    (last,) = _run(c, 1)
    assert code_of(lambda: _run(c, 1)) == "LimitExceeded"  # the range is used up (RunInstances documents no EipNumLimit)
    assert call(c, "DescribeInstances", {"Limit": 100}).TotalCount == 7  # the refused launch made nothing
    call(c, "TerminateInstances", {"InstanceIds": [ids[0]]})
    wait_until(lambda: instance(c, ids[0]) is None, what="the instance to go")
    (again,) = _run(c, 1)
    assert instance(c, again).PublicIpAddresses == [ips[0]]  # the released address is handed out again
    wait_state(c, [last, again], "RUNNING")


def test_vnc_url_needs_a_driver_with_a_display(server):
    c = sdk.cvm(server)
    (ins,) = _run(c, 1)
    wait_state(c, [ins], "RUNNING")
    assert code_of(lambda: call(c, "DescribeInstanceVncUrl", {"InstanceId": ins})) == "UnsupportedOperation"
    assert code_of(lambda: call(c, "DescribeInstanceVncUrl", {"InstanceId": "ins-zzzzzzzz"})) == \
        "InvalidInstanceId.NotFound"


def test_a_public_range_outside_loopback_is_refused(tmp_path):
    import subprocess
    import sys

    from tests.helpers import Server

    env = Server(tmp_path / "data", extra_env={"LOCALCVM_PUBLIC_IP_RANGE": "10.1.0.0/16"}).env()
    proc = subprocess.run([sys.executable, "-m", "localcvm", "serve", "--port", "0"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "must lie inside 127.0.0.0/8" in proc.stderr
