"""Real VMs (the QEMU driver), acceptance 4: the server killed with SIGKILL while two VMs run; the
restarted server adopts them (still reachable over SSH), a QEMU that died meanwhile shows STOPPED,
and nothing is leaked."""

from __future__ import annotations

import os
import signal

import pytest

from tests.api.instances_util import call, instance, states, wait_state
from tests.e2e.qemu_util import (
    boot_id, cvm, kill_vms, overlays, public_linux_image, qemu_pid, qemu_pids_of, qemu_server, run_one, ssh_to,
)
from tests.helpers import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data").start()
    yield srv
    srv.stop()
    kill_vms(srv)


def test_sigkilled_server_adopts_its_vms(server, tmp_path):
    c = cvm(server)
    key = call(c, "CreateKeyPair", {"KeyName": "restart", "ProjectId": 0}).KeyPair
    image = public_linux_image(c)
    a, b = (run_one(c, image, LoginSettings={"KeyIds": [key.KeyId]}) for _ in range(2))
    ssh_a = ssh_to(c, a, tmp_path, private_key=key.PrivateKey)
    ssh_b = ssh_to(c, b, tmp_path, private_key=key.PrivateKey)
    boots = {a: boot_id(ssh_a), b: boot_id(ssh_b)}
    pids = {a: qemu_pid(server, a), b: qemu_pid(server, b)}
    assert all(pids.values())

    server.stop(signal.SIGKILL)
    # while no server runs: the VMs go on; one QEMU dies
    assert qemu_pid(server, a) == pids[a] and qemu_pid(server, b) == pids[b]
    os.kill(pids[b], signal.SIGKILL)
    wait_until(lambda: qemu_pid(server, b) is None, timeout=20, what="b's QEMU to die")
    server.start()

    c = cvm(server)
    assert states(c, [a, b]) == {a: "RUNNING", b: "STOPPED"}
    assert qemu_pid(server, a) == pids[a]  # adopted, not started again
    assert boot_id(ssh_a.wait(timeout=30)) == boots[a]  # the same boot, reachable through the new proxy
    assert sorted(qemu_pids_of(server)) == [pids[a]]  # never two QEMUs for one instance

    call(c, "StartInstances", {"InstanceIds": [b]})
    wait_state(c, [b], "RUNNING", timeout=90)
    assert boot_id(ssh_b.wait()) != boots[b]

    call(c, "TerminateInstances", {"InstanceIds": [a]})
    wait_until(lambda: instance(c, a) is None, timeout=120, what="a to go")
    assert qemu_pids_of(server) == [qemu_pid(server, b)] and len(overlays(server)) == 1
    server.cli("reset")  # drops every resource: the running VM goes with it
    assert instance(c, b) is None
    assert qemu_pids_of(server) == [] and overlays(server) == []
    assert sorted(p.name for p in (server.data_dir / "vms").iterdir() if p.is_dir()) == []
