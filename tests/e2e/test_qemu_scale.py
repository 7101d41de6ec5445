"""ResetInstancesType on real VMs (the core issue's acceptance 1): after the change and the next
start, the guest's /proc/cpuinfo and /proc/meminfo show the new type's vCPUs and memory (memory
scaled by LOCALCVM_QEMU_MEMORY_SCALE, as the operator set it), and back again."""

from __future__ import annotations

import pytest

from tests.api.instances_util import call, instance, wait_state
from tests.e2e.qemu_util import cvm, kill_vms, public_linux_image, qemu_server, run_one, ssh_to
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
PASSWORD = "Localcvm-e2e-2024"
SCALE = 0.0625  # 2 GiB -> 128 MiB, 4 GiB -> 256 MiB


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data", LOCALCVM_QEMU_MAX_VCPUS="2").start()
    yield srv
    srv.stop()
    kill_vms(srv)


def shape(ssh) -> tuple[int, int]:
    """(vCPUs, MemTotal in MiB) as the guest's kernel sees them."""
    cpus = int(ssh.run("grep -c ^processor /proc/cpuinfo"))
    mem_kib = int(ssh.run("awk '/^MemTotal/ {print $2}' /proc/meminfo"))
    return cpus, mem_kib // 1024


def retype(c, iid: str, itype: str) -> None:
    call(c, "StopInstances", {"InstanceIds": [iid]})
    wait_state(c, [iid], "STOPPED", timeout=120)
    call(c, "ResetInstancesType", {"InstanceIds": [iid], "InstanceType": itype})
    wait_until(lambda: (lambda i: i.InstanceType == itype and i.InstanceState == "RUNNING"
                        and i.LatestOperationState == "SUCCESS")(instance(c, iid)),
               timeout=180, interval=0.5, what=f"{iid} RUNNING as {itype}")


def test_a_new_instance_type_is_what_the_guest_gets(server, tmp_path):
    c = cvm(server)
    iid = run_one(c, public_linux_image(c), InstanceType="S5.SMALL2", LoginSettings={"Password": PASSWORD})
    cpus, mem = shape(ssh_to(c, iid, tmp_path, password=PASSWORD))
    assert cpus == 1 and 64 < mem <= 2048 * SCALE
    retype(c, iid, "S5.MEDIUM4")
    got = instance(c, iid)
    assert (got.CPU, got.Memory) == (2, 4)
    cpus2, mem2 = shape(ssh_to(c, iid, tmp_path, password=PASSWORD))
    assert cpus2 == 2 and 2048 * SCALE < mem2 <= 4096 * SCALE and mem2 > mem + 64
    retype(c, iid, "S5.SMALL2")
    assert shape(ssh_to(c, iid, tmp_path, password=PASSWORD))[0] == 1
