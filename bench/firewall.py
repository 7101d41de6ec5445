#!/usr/bin/env python3
"""The cost of the firewall's answer per new connection (NetworkService.connection_allowed), in
process on a server's data dir (SQLite), after the groups were set up through the API:

1. an instance in one group of 50 ingress rules, the match at the last rule (CIDR sources);
2. the same with the group's first rule naming another group of 20 instances as the source.

    python bench/firewall.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api import sdk  # noqa: E402
from tests.api.instances_util import call, public_image, wait_state  # noqa: E402
from tests.api.vpc_util import vcall, vpc_for  # noqa: E402
from tests.helpers import Server  # noqa: E402


def timed(fn, calls: int) -> tuple[float, float]:
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-fw-"))
    srv = Server(data_dir=tmp / "srv", extra_env={"LOCALCVM_REQUEST_LOG": "0"}).start()
    try:
        c = sdk.cvm(srv)
        v = vpc_for(srv, {"SecretId": srv.secret_id, "SecretKey": srv.secret_key})
        rules = [{"Protocol": "TCP", "Port": str(1000 + i), "CidrBlock": f"127.0.{i}.0/24", "Action": "ACCEPT"}
                 for i in range(50)]
        sg = vcall(v, "CreateSecurityGroupWithPolicies", {"GroupName": "bench", "GroupDescription": "b",
                                                          "SecurityGroupPolicySet": {"Ingress": rules}})
        sg_id = sg.SecurityGroup.SecurityGroupId
        peers = vcall(v, "CreateSecurityGroup", {"GroupName": "peers", "GroupDescription": "p"}).SecurityGroup
        image = public_image(c)
        (iid,) = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                          "SecurityGroupIds": [sg_id]}).InstanceIdSet
        others = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                          "InstanceCount": 20, "SecurityGroupIds": [peers.SecurityGroupId]}).InstanceIdSet
        wait_state(c, [iid, *others], "RUNNING", timeout=300)
        from localcvm.config import Settings
        from localcvm.services.core import Services

        svc = Services(Settings.load(data_dir=srv.data_dir, workers=0), migrate=False)
        assert svc.network.connection_allowed(iid, "127.0.49.7", "TCP", 1049)
        med, p99 = timed(lambda: svc.network.connection_allowed(iid, "127.0.49.7", "TCP", 1049), args.calls)
        print(f"connection_allowed, 50 CIDR rules, match at the last: {med:.0f} µs median, {p99:.0f} µs p99")
        vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sg_id, "SecurityGroupPolicySet": {"Ingress": [
            {"PolicyIndex": 0, "Protocol": "TCP", "Port": "5432", "SecurityGroupId": peers.SecurityGroupId,
             "Action": "ACCEPT"}]}})
        med, p99 = timed(lambda: svc.network.connection_allowed(iid, "127.0.49.7", "TCP", 1049), args.calls)
        print(f"connection_allowed, + a rule naming a group of 20 instances: {med:.0f} µs median, {p99:.0f} µs p99")
        svc.close()
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
