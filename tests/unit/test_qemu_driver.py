"""QemuDriver with real QEMU processes but no guest OS (blank disks: SeaBIOS finds nothing to boot),
so it runs in seconds: process life cycle, adoption by a second driver, a dead QEMU, QMP errors,
disk checks, online resize and hot plug at the QEMU level, destroy leaving nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from localcvm.hypervisor.driver import DiskSpec, DriverError, InvalidDisk, PowerState, VmAlreadyExists, VmSpec
from localcvm.hypervisor.qemu.accel import Accel
from localcvm.hypervisor.qemu.driver import QemuConfig, QemuDriver

pytestmark = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
MiB = 1024**2


def _disk(path, size=64 * MiB):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(size)], check=True)
    return path


def _driver(tmp_path) -> QemuDriver:
    return QemuDriver(tmp_path / "vms", QemuConfig(accel=Accel("tcg", "test"), stop_timeout=1, vnc=False))


def _spec(tmp_path, instance_id="ins-unit1", **extra) -> VmSpec:
    system = DiskSpec(_disk(tmp_path / f"{instance_id}-sys.qcow2"), "qcow2", 64 * MiB, "system", "vda")
    return VmSpec(instance_id, 1, 128, [system], private_ip="172.16.0.9", **extra)


@pytest.fixture()
def driver(tmp_path):
    d = _driver(tmp_path)
    yield d
    for vm in d.list():
        d.destroy(vm.instance_id)


def test_life_cycle_and_nothing_left(driver, tmp_path):
    spec = _spec(tmp_path)
    info = driver.spawn(spec)
    assert info.power_state == PowerState.RUNNING and info.boot_count == 1
    with pytest.raises(VmAlreadyExists):
        driver.spawn(spec)
    pid = int((driver.layout("ins-unit1").pid).read_text())
    assert driver.live_ids() == {"ins-unit1"}
    driver.power_off("ins-unit1")  # no guest answers the ACPI request: a hard stop after the timeout
    assert driver.info("ins-unit1").power_state == PowerState.STOPPED and not _alive(pid)
    driver.power_off("ins-unit1")  # a no-op when stopped
    with pytest.raises(DriverError):
        driver.reboot("ins-unit1")
    driver.power_on("ins-unit1")
    assert driver.info("ins-unit1").boot_count == 2
    driver.reboot("ins-unit1", hard=True)
    assert driver.info("ins-unit1").boot_count == 3
    pid = int((driver.layout("ins-unit1").pid).read_text())
    driver.destroy("ins-unit1")
    assert not _alive(pid) and not driver.layout("ins-unit1").dir.exists()
    assert driver.info("ins-unit1").power_state == PowerState.ABSENT
    driver.destroy("ins-unit1")  # gone already: fine


def test_a_second_driver_adopts_and_a_dead_qemu_is_stopped(driver, tmp_path):
    driver.spawn(_spec(tmp_path, "ins-adopt"))
    driver.spawn(_spec(tmp_path, "ins-dies"))
    pid = int(driver.layout("ins-adopt").pid.read_text())
    os.kill(int(driver.layout("ins-dies").pid.read_text()), signal.SIGKILL)
    again = _driver(tmp_path)  # what a restarted server does
    assert again.adopted == ["ins-adopt"]
    assert again.info("ins-adopt").power_state == PowerState.RUNNING
    assert int(again.layout("ins-adopt").pid.read_text()) == pid
    assert again.info("ins-dies").power_state == PowerState.STOPPED
    again.power_on("ins-dies")
    assert again.live_ids() == {"ins-adopt", "ins-dies"}


def test_disks_checked_resized_and_hot_plugged(driver, tmp_path):
    with pytest.raises(InvalidDisk):  # the declared size must be the file's
        driver.spawn(VmSpec("ins-bad", 1, 128, [DiskSpec(_disk(tmp_path / "b.qcow2"), "qcow2", MiB, "system", "vda")]))
    assert not driver.layout("ins-bad").dir.exists()  # a failed spawn leaves nothing
    driver.spawn(_spec(tmp_path, "ins-disks"))
    data = DiskSpec(_disk(tmp_path / "data.qcow2", 32 * MiB), "qcow2", 32 * MiB, "data", "vdb")
    driver.attach_disk("ins-disks", data)
    driver.attach_disk("ins-disks", data)  # the same again: a no-op
    driver.resize_disk("ins-disks", "vdb", 48 * MiB)
    assert driver.info("ins-disks").disk("vdb").size_bytes == 48 * MiB
    with pytest.raises(InvalidDisk):
        driver.resize_disk("ins-disks", "vdb", 16 * MiB)
    with pytest.raises(InvalidDisk):
        driver.detach_disk("ins-disks", "vda")
    with driver.frozen_disk("ins-disks", "vdb") as path:
        assert path == data.path and driver.info("ins-disks").power_state == PowerState.PAUSED
    assert driver.info("ins-disks").power_state == PowerState.RUNNING
    driver.power_off("ins-disks", hard=True)
    driver.detach_disk("ins-disks", "vdb")
    assert driver.info("ins-disks").disk("vdb") is None
    info = subprocess.run(["qemu-img", "info", "--output=json", str(data.path)], capture_output=True, text=True)
    assert '"virtual-size": 50331648' in info.stdout


def _alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
