"""Security groups on real traffic (the VPC issue's acceptance 2): connections to a QEMU instance's
public address reach its SSH port only as its security groups' ingress rules allow — by source
address (a client bound to another 127.x.y.z stands for another network), first matching rule in
order, DROP above ACCEPT winning — and a rule change applies to the next connection, no restart."""

from __future__ import annotations

import socket

import pytest
from tencentcloud.vpc.v20170312 import vpc_client

from tests.api import sdk
from tests.api.instances_util import instance
from tests.api.vpc_util import vcall
from tests.e2e.qemu_util import cvm, kill_vms, public_linux_image, qemu_server, run_one
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
ALLOWED, OTHER = "127.0.9.9", "127.0.0.1"


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data").start()
    yield srv
    srv.stop()
    kill_vms(srv)


def banner(ip: str, source: str, port: int = 22) -> bytes | None:
    """The first bytes the guest's SSH server sends to a client bound to ``source``; None when the
    connection is refused or closed before anything arrives (the port proxy's DROP)."""
    try:
        with socket.create_connection((ip, port), timeout=5, source_address=(source, 0)) as s:
            s.settimeout(5)
            data = s.recv(64)
            return data or None
    except OSError:
        return None


def ingress(v, sid: str, rules: list[dict]) -> None:
    vcall(v, "ModifySecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Ingress": rules}})


def test_security_group_rules_decide_who_reaches_the_guest(server):
    c = cvm(server)
    v = vpc_client.VpcClient(sdk.cred(server), "ap-guangzhou", sdk.profile(server))
    sid = vcall(v, "CreateSecurityGroupWithPolicies", {
        "GroupName": "ssh-from-one", "GroupDescription": "ssh from one address", "SecurityGroupPolicySet": {"Ingress": [
            {"Protocol": "TCP", "Port": "22", "CidrBlock": f"{ALLOWED}/32", "Action": "ACCEPT"}]}}
    ).SecurityGroup.SecurityGroupId
    ins = run_one(c, public_linux_image(c), SecurityGroupIds=[sid], LoginSettings={"Password": "Localcvm-e2e-2024"})
    ip = instance(c, ins).PublicIpAddresses[0]
    # the allowed source reaches the guest's SSH server once it listens
    got = wait_until(lambda: banner(ip, ALLOWED), timeout=120, interval=0.5, what="the guest's SSH banner")
    assert got.startswith(b"SSH-")
    assert banner(ip, OTHER) is None  # another source: default deny on ingress

    # a rule change applies to the next connection, without restarting the instance
    ingress(v, sid, [{"Protocol": "TCP", "Port": "22", "CidrBlock": "127.0.0.0/8", "Action": "ACCEPT"}])
    assert (banner(ip, OTHER) or b"").startswith(b"SSH-")
    # the first matching rule decides: a DROP above an ACCEPT wins
    ingress(v, sid, [{"Protocol": "TCP", "Port": "22", "CidrBlock": f"{OTHER}/32", "Action": "DROP"},
                     {"Protocol": "TCP", "Port": "22", "CidrBlock": "127.0.0.0/8", "Action": "ACCEPT"}])
    assert banner(ip, OTHER) is None
    assert (banner(ip, ALLOWED) or b"").startswith(b"SSH-")
    # a rule for another port or protocol does not open SSH
    ingress(v, sid, [{"Protocol": "UDP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"},
                     {"Protocol": "TCP", "Port": "80", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}])
    assert banner(ip, ALLOWED) is None and banner(ip, OTHER) is None
    # the operator's answer for the same question agrees
    done = server.cli("network", "check", ins, ALLOWED, "TCP", "22", check=False)
    assert done.returncode == 1 and "denied" in done.stdout
