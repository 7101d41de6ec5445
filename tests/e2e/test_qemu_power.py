"""Real VMs (the QEMU driver), acceptance 2, 3 and 5: power operations seen inside the guest, a data
disk and its online resize, UserData and password logins; no stray process or overlay afterwards."""

from __future__ import annotations

import json

import pytest

from tencentcloud.cbs.v20170312 import cbs_client

from tests.api import sdk
from tests.api.instances_util import call, instance, wait_state
from tests.e2e.qemu_util import (
    boot_id, console, cvm, kill_vms, overlays, public_linux_image, qemu_pid, qemu_pids_of, qemu_server, run_one,
    ssh_to, user_data, websocket_answers,
)
from tests.api.share_util import code_of
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
GIB = 1024**3
PASSWORD = "Localcvm-e2e-2024"


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data").start()
    yield srv
    srv.stop()
    kill_vms(srv)


def disk_bytes(ssh, name: str) -> int:
    return int(ssh.run(f"cat /sys/block/{name}/size")) * 512


def test_power_disks_password_and_user_data(server, tmp_path):
    c = cvm(server)
    ins = run_one(c, public_linux_image(c), LoginSettings={"Password": PASSWORD},
                  DataDisks=[{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20}],
                  UserData=user_data("#!/bin/sh\necho ran > /root/ud\n"))
    ssh = ssh_to(c, ins, tmp_path, password=PASSWORD)  # no key pair: the launch password logs in
    assert ssh.run("cat /root/ud") == "ran"
    # the VNC console: a websocket on 127.0.0.1 that speaks RFB
    url = call(c, "DescribeInstanceVncUrl", {"InstanceId": ins}).InstanceVncUrl
    assert websocket_answers(url)
    # the data disk given at launch: a virtio disk of its size; ResizeInstanceDisks grows it online
    assert disk_bytes(ssh, "vdb") == 20 * GIB
    data_disk = instance(c, ins).DataDisks[0].DiskId
    call(c, "ResizeInstanceDisks", {"InstanceId": ins, "ResizeOnline": True,
                                    "DataDisks": [{"DiskId": data_disk, "DiskSize": 30}]})
    wait_until(lambda: disk_bytes(ssh, "vdb") == 30 * GIB, timeout=60, interval=0.5, what="the guest to see 30 GiB")
    wait_until(lambda: instance(c, ins).DataDisks[0].DiskSize == 30, timeout=30, what="DiskSize 30")

    # a CBS disk hot-plugged into the running guest, and out again
    cbs = cbs_client.CbsClient(sdk.cred(server), "ap-guangzhou", sdk.profile(server))
    (vol,) = cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                            "DiskType": "CLOUD_PREMIUM", "DiskSize": 12, "DiskName": "hot"}).DiskIdSet
    cbs_call(cbs, "AttachDisks", {"InstanceId": ins, "DiskIds": [vol]})
    wait_until(lambda: 12 * GIB in _guest_disk_sizes(ssh), timeout=60, interval=0.5, what="the hot-plugged disk")
    cbs_call(cbs, "DetachDisks", {"DiskIds": [vol]})
    wait_until(lambda: 12 * GIB not in _guest_disk_sizes(ssh), timeout=60, interval=0.5, what="the disk to go")
    cbs_call(cbs, "TerminateDisks", {"DiskIds": [vol]})

    # a soft stop is an ACPI power-down the guest performs; start boots it again
    first_boot, pid = boot_id(ssh), qemu_pid(server, ins)
    call(c, "StopInstances", {"InstanceIds": [ins], "StopType": "SOFT"})
    wait_state(c, [ins], "STOPPED", timeout=90)
    assert qemu_pid(server, ins) is None and not _alive(pid)
    assert "power button, shutting down" in console(server, ins)
    call(c, "StartInstances", {"InstanceIds": [ins]})
    wait_state(c, [ins], "RUNNING", timeout=90)
    ssh.wait()
    second_boot = boot_id(ssh)
    assert second_boot != first_boot and disk_bytes(ssh, "vdb") == 30 * GIB
    assert ssh.run("cat /root/ud") == "ran"  # the disk kept its contents; user data ran once per instance

    # soft and hard reboots: a new boot each time, the same instance
    call(c, "RebootInstances", {"InstanceIds": [ins]})
    wait_until(lambda: _boot_changed(ssh, second_boot), timeout=120, interval=1, what="a soft reboot")
    wait_state(c, [ins], "RUNNING", timeout=60)
    third_boot = boot_id(ssh)
    call(c, "RebootInstances", {"InstanceIds": [ins], "StopType": "HARD"})
    wait_until(lambda: _boot_changed(ssh, third_boot), timeout=120, interval=1, what="a hard reboot")
    assert console(server, ins).count("localcvm-guest: boot ") >= 4

    # ResetInstancesPassword (the real API needs the instance stopped) takes effect at the next start
    call(c, "StopInstances", {"InstanceIds": [ins], "StopType": "HARD"})
    wait_state(c, [ins], "STOPPED", timeout=60)
    assert code_of(lambda: call(c, "DescribeInstanceVncUrl", {"InstanceId": ins})) == \
        "UnsupportedOperation.InstanceStateStopped"
    call(c, "ResetInstancesPassword", {"InstanceIds": [ins], "Password": PASSWORD + "x"})
    call(c, "StartInstances", {"InstanceIds": [ins]})
    wait_state(c, [ins], "RUNNING", timeout=90)
    ssh2 = ssh_to(c, ins, tmp_path, password=PASSWORD + "x")
    assert ssh.run("true", check=False) == "" and ssh2.run("echo ok") == "ok"

    # a guest that powers itself off shows STOPPED
    ssh2.run("poweroff", check=False)
    wait_state(c, [ins], "STOPPED", timeout=90)
    assert qemu_pid(server, ins) is None

    call(c, "TerminateInstances", {"InstanceIds": [ins]})
    wait_until(lambda: instance(c, ins) is None, timeout=90, what="the instance to go")
    assert qemu_pids_of(server) == [] and overlays(server) == []
    assert not (server.data_dir / "vms" / ins).exists()


def _guest_disk_sizes(ssh) -> list[int]:
    out = ssh.run("for d in /sys/block/vd*; do cat $d/size; done")
    return [int(n) * 512 for n in out.split()]


def cbs_call(client, action: str, body: dict):
    from tencentcloud.cbs.v20170312 import models

    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def _alive(pid: int | None) -> bool:
    """The process runs (a zombie nobody reaped yet does not: QEMU daemonizes away from us)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except (OSError, TypeError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _boot_changed(ssh, old: str) -> bool:
    return boot_id(ssh) != old
