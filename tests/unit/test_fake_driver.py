"""The fake compute driver, on real disk files made by real qemu-img/qemu-io."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from localcvm.hypervisor import (
    ComputeDriver,
    DiskSpec,
    DriverError,
    FakeDriver,
    InvalidDisk,
    InvalidVmState,
    PowerState,
    VmAlreadyExists,
    VmInfo,
    VmNotFound,
    VmSpec,
)

MiB = 1 << 20
SIZE = 64 * MiB

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
    reason="qemu-img/qemu-io not installed (apt-get install qemu-utils)",
)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def make_disk(path: Path, size: int = SIZE, fmt: str = "qcow2", backing: Path | None = None) -> Path:
    args = ["qemu-img", "create", "-q", "-f", fmt]
    if backing is not None:
        args += ["-b", str(backing), "-F", "raw"]
    run(*args, str(path), str(size))
    return path


def virtual_size(path: Path, fmt: str = "qcow2") -> int:
    return json.loads(run("qemu-img", "info", "-f", fmt, "--output=json", str(path)))["virtual-size"]


def vm_spec(tmp_path: Path, instance_id: str = "ins-aaaa0001", data_disks: int = 0, **kw) -> VmSpec:
    disks = [DiskSpec(make_disk(tmp_path / f"{instance_id}-vda.qcow2"), "qcow2", SIZE, "system", "vda")]
    for n in range(data_disks):
        dev = "vd" + "bcdefgh"[n]
        disks.append(DiskSpec(make_disk(tmp_path / f"{instance_id}-{dev}.qcow2"), "qcow2", SIZE, "data", dev))
    return VmSpec(instance_id=instance_id, cpu=2, memory_mib=1024, disks=disks, **kw)


def leftovers(state_dir: Path, instance_id: str) -> list[str]:
    """Every file of the state dir that mentions ``instance_id``."""
    return sorted(p.name for p in state_dir.iterdir() if instance_id in p.name)


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "vms"


@pytest.fixture
def driver(state_dir) -> FakeDriver:
    return FakeDriver(state_dir)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------


def test_capability_flags_and_interface():
    assert issubclass(FakeDriver, ComputeDriver)
    assert FakeDriver.supports_console and FakeDriver.supports_live_snapshot
    assert FakeDriver.supports_hot_plug and FakeDriver.supports_online_resize
    assert PowerState.RUNNING == "running"  # services may compare with plain strings
    with pytest.raises(TypeError):
        ComputeDriver()  # abstract


def test_spec_validation(tmp_path):
    system = DiskSpec(tmp_path / "a.qcow2", "qcow2", SIZE, "system", "vda")
    data = DiskSpec(tmp_path / "b.qcow2", "qcow2", SIZE, "data", "vdb")
    assert isinstance(system.path, Path)
    with pytest.raises(ValueError, match="exactly one system disk"):
        VmSpec("ins-x", 1, 512, [data])
    with pytest.raises(ValueError, match="exactly one system disk"):
        VmSpec("ins-x", 1, 512, [system, system])
    with pytest.raises(ValueError, match="duplicate disk devices"):
        VmSpec("ins-x", 1, 512, [system, DiskSpec(tmp_path / "c", "raw", SIZE, "data", "vda")])
    with pytest.raises(ValueError, match="same disk file"):
        VmSpec("ins-x", 1, 512, [system, DiskSpec(tmp_path / "a.qcow2", "qcow2", SIZE, "data", "vdb")])
    for bad_id in ("../etc", "a/b", "", "ins.x"):
        with pytest.raises(ValueError, match="invalid instance id"):
            VmSpec(bad_id, 1, 512, [system])
    with pytest.raises(ValueError, match="cpu"):
        VmSpec("ins-x", 0, 512, [system])
    with pytest.raises(ValueError, match="ssh_port"):
        VmSpec("ins-x", 1, 512, [system], ssh_port=70000)
    with pytest.raises(ValueError, match="format"):
        DiskSpec(tmp_path / "a", "vmdk", SIZE, "data", "vdb")
    with pytest.raises(ValueError, match="role"):
        DiskSpec(tmp_path / "a", "raw", SIZE, "boot", "vdb")
    with pytest.raises(ValueError, match="size"):
        DiskSpec(tmp_path / "a", "raw", 0, "data", "vdb")
    with pytest.raises(ValueError, match="device"):
        DiskSpec(tmp_path / "a", "raw", SIZE, "data", "../vdb")


# --------------------------------------------------------------------------
# Life cycle
# --------------------------------------------------------------------------


def test_lifecycle(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path, data_disks=1, user_data=b"#!/bin/sh\necho hi\n", hostname="web-1")
    info = driver.spawn(spec)
    assert info.power_state == PowerState.RUNNING
    assert info.boot_count == 1 and info.started_at is not None and info.created_at is not None
    assert (info.cpu, info.memory_mib) == (2, 1024)
    assert [d.device for d in info.disks] == ["vda", "vdb"]
    assert info.disk("vda").role == "system" and info.disk("vdb").size_bytes == SIZE
    assert driver.info(spec.instance_id) == info
    assert [i.instance_id for i in driver.list()] == [spec.instance_id]

    console = driver.console_log(spec.instance_id)
    assert "Linux version" in console and "[vda]" in console and "[vdb]" in console
    assert f"{len(spec.user_data)} bytes of user-data" in console
    assert console.rstrip().endswith("web-1 login:")

    driver.power_off(spec.instance_id)  # soft: the guest prints its shutdown
    info = driver.info(spec.instance_id)
    assert info.power_state == PowerState.STOPPED and info.started_at is None
    console = driver.console_log(spec.instance_id)
    assert console.rstrip().endswith("reboot: Power down")
    driver.power_off(spec.instance_id, hard=True)  # stopped already: a no-op
    assert driver.console_log(spec.instance_id) == console
    assert driver.info(spec.instance_id) == info

    driver.power_on(spec.instance_id)
    info = driver.info(spec.instance_id)
    assert info.power_state == PowerState.RUNNING and info.boot_count == 2
    driver.power_on(spec.instance_id)  # running already: a no-op
    assert driver.info(spec.instance_id) == info
    # user-data runs on the first boot only
    assert driver.console_log(spec.instance_id).count("bytes of user-data") == 1

    driver.reboot(spec.instance_id)
    driver.reboot(spec.instance_id, hard=True)
    info = driver.info(spec.instance_id)
    assert info.power_state == PowerState.RUNNING and info.boot_count == 4
    assert driver.console_log(spec.instance_id).count("reboot: Restarting system") == 1  # a reset prints none

    driver.power_off(spec.instance_id, hard=True)
    assert driver.info(spec.instance_id).power_state == PowerState.STOPPED

    driver.destroy(spec.instance_id)
    gone = driver.info(spec.instance_id)
    assert gone.power_state == PowerState.ABSENT and not gone.exists
    assert driver.list() == []
    assert leftovers(state_dir, spec.instance_id) == []
    # the disk files belong to the caller: untouched
    assert all(d.path.exists() for d in spec.disks)


def test_destroy_is_idempotent(tmp_path, driver):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    driver.destroy(spec.instance_id)
    driver.destroy(spec.instance_id)  # gone already: still a success
    driver.destroy("ins-neverexisted")
    driver.destroy("../../etc/passwd")  # cannot exist, so it is gone
    # the id can be used again
    driver.spawn(spec)
    assert driver.info(spec.instance_id).boot_count == 1


def test_unknown_vm(tmp_path, driver):
    disk = DiskSpec(make_disk(tmp_path / "d.qcow2"), "qcow2", SIZE, "data", "vdb")
    assert driver.info("ins-nope0000") == VmInfo("ins-nope0000", PowerState.ABSENT)
    assert driver.info("../x").power_state == PowerState.ABSENT
    calls = [
        lambda: driver.power_on("ins-nope0000"),
        lambda: driver.power_off("ins-nope0000"),
        lambda: driver.reboot("ins-nope0000"),
        lambda: driver.console_log("ins-nope0000"),
        lambda: driver.attach_disk("ins-nope0000", disk),
        lambda: driver.detach_disk("ins-nope0000", "vdb"),
        lambda: _freeze(driver, "ins-nope0000", "vda"),
        lambda: driver.resize_disk("ins-nope0000", "vda", 2 * SIZE),
    ]
    for call in calls:
        with pytest.raises(VmNotFound, match="VM ins-nope0000 does not exist") as err:
            call()
        assert err.value.instance_id == "ins-nope0000"
        assert isinstance(err.value, DriverError)


def test_invalid_states(tmp_path, driver):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    with pytest.raises(VmAlreadyExists, match="already exists"):
        driver.spawn(spec)
    assert driver.info(spec.instance_id).boot_count == 1  # the existing VM is untouched

    driver.power_off(spec.instance_id)
    for hard in (False, True):
        with pytest.raises(InvalidVmState, match="is stopped") as err:
            driver.reboot(spec.instance_id, hard=hard)
        assert (err.value.state, err.value.operation) == ("stopped", "reboot")
    assert driver.info(spec.instance_id).power_state == PowerState.STOPPED


def test_paused_vm(tmp_path, driver, state_dir):
    """A paused VM (only a real hypervisor pauses one) resumes on power_on and stops on power_off."""
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    path = state_dir / f"{spec.instance_id}.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "power_state": "paused"}))
    driver.power_on(spec.instance_id)  # resume: no new boot
    info = driver.info(spec.instance_id)
    assert info.power_state == PowerState.RUNNING and info.boot_count == 1
    path.write_text(json.dumps({**state, "power_state": "paused"}))
    driver.power_off(spec.instance_id)
    assert driver.info(spec.instance_id).power_state == PowerState.STOPPED


def test_state_survives_restart(tmp_path, state_dir):
    first = FakeDriver(state_dir)
    a = vm_spec(tmp_path, "ins-aaaa0001", data_disks=1, ssh_port=2222)
    b = vm_spec(tmp_path, "ins-bbbb0002")
    first.spawn(a)
    first.spawn(b)
    first.power_off(b.instance_id)
    before = first.list()
    del first  # "the server crashed"

    second = FakeDriver(state_dir)
    after = second.list()
    assert after == before
    assert [(i.instance_id, i.power_state) for i in after] == [
        ("ins-aaaa0001", PowerState.RUNNING), ("ins-bbbb0002", PowerState.STOPPED)]
    assert after[0].ssh_port == 2222 and after[0].disk("vdb") is not None
    assert "login:" in second.console_log(a.instance_id)
    second.power_on(b.instance_id)
    assert FakeDriver(state_dir).info(b.instance_id).boot_count == 2


def test_state_files_are_clean_json(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path, user_data=b"\x00\xffbinary")
    driver.spawn(spec)
    driver.reboot(spec.instance_id)
    names = sorted(p.name for p in state_dir.iterdir())
    assert names == [".lock", f"{spec.instance_id}.console.log", f"{spec.instance_id}.json"]  # no temp files
    state = json.loads((state_dir / f"{spec.instance_id}.json").read_text())
    assert state["format"] == 1 and state["power_state"] == "running" and state["boot_count"] == 2


def test_startup_sweeps_crash_leftovers(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    # what a process killed mid-spawn / mid-write leaves behind
    (state_dir / "ins-crashed1.console.log").write_text("SeaBIOS\n")
    (state_dir / f".{spec.instance_id}.json.0123abcd.tmp").write_text("{")
    FakeDriver(state_dir)
    assert sorted(p.name for p in state_dir.iterdir()) == [
        ".lock", f"{spec.instance_id}.console.log", f"{spec.instance_id}.json"]


def test_corrupt_state_is_loud(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    (state_dir / f"{spec.instance_id}.json").write_text("{not json")
    with pytest.raises(DriverError, match="corrupt"):
        driver.info(spec.instance_id)


def test_console_is_deterministic(tmp_path):
    clock = FixedClock()
    logs = []
    for n in range(2):
        d = FakeDriver(tmp_path / f"vms{n}", clock=clock)
        spec = vm_spec(tmp_path / f"vms{n}", "ins-same0001")
        d.spawn(spec)
        clock.advance(10)
        d.power_off(spec.instance_id)
        logs.append(d.console_log(spec.instance_id))
        assert d.info(spec.instance_id).created_at == clock.now - timedelta(seconds=10)
    assert logs[0] == logs[1]
    assert "[   13.200000] systemd[1]: Stopping" in logs[0]  # 3.2 s of boot + 10 s of uptime


# --------------------------------------------------------------------------
# Disk checks at spawn (and nothing left behind)
# --------------------------------------------------------------------------


def test_spawn_checks_disks(tmp_path, driver, state_dir):
    good = make_disk(tmp_path / "good.qcow2")
    raw = tmp_path / "plain.raw"
    raw.write_bytes(b"\0" * SIZE)
    link = tmp_path / "link.qcow2"
    link.symlink_to(good)
    cases = {
        "does not exist": DiskSpec(tmp_path / "missing.qcow2", "qcow2", SIZE, "system", "vda"),
        "virtual size of": DiskSpec(good, "qcow2", 2 * SIZE, "system", "vda"),
        "declared raw but is a qcow2": DiskSpec(good, "raw", SIZE, "system", "vda"),
        "not a usable qcow2 image": DiskSpec(raw, "qcow2", SIZE, "system", "vda"),
        "symbolic link": DiskSpec(link, "qcow2", SIZE, "system", "vda"),
        "not a regular file": DiskSpec(tmp_path, "raw", SIZE, "system", "vda"),
    }
    for message, disk in cases.items():
        with pytest.raises(InvalidDisk, match=message) as err:
            driver.spawn(VmSpec("ins-bad00001", 1, 512, [disk]))
        assert err.value.device == "vda" and "ins-bad00001" in str(err.value)
        assert leftovers(state_dir, "ins-bad00001") == []
    # a raw disk of the right size is fine
    driver.spawn(VmSpec("ins-raw00001", 1, 512, [DiskSpec(raw, "raw", SIZE, "system", "vda")]))
    assert driver.info("ins-raw00001").power_state == PowerState.RUNNING


def test_a_disk_belongs_to_one_vm(tmp_path, driver, state_dir):
    a = vm_spec(tmp_path, "ins-aaaa0001", data_disks=1)
    driver.spawn(a)
    shared = a.disks[1]
    system = DiskSpec(make_disk(tmp_path / "b.qcow2"), "qcow2", SIZE, "system", "vda")
    with pytest.raises(InvalidDisk, match="attached to VM ins-aaaa0001"):
        driver.spawn(VmSpec("ins-bbbb0002", 1, 512, [system, shared]))
    assert leftovers(state_dir, "ins-bbbb0002") == []
    driver.spawn(VmSpec("ins-bbbb0002", 1, 512, [system]))
    with pytest.raises(InvalidDisk, match="attached to VM ins-aaaa0001"):
        driver.attach_disk("ins-bbbb0002", shared)
    driver.detach_disk(a.instance_id, "vdb")
    driver.attach_disk("ins-bbbb0002", shared)  # free now
    assert driver.info("ins-bbbb0002").disk("vdb").path == shared.path


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------


def test_failed_spawn_leaves_nothing(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path, data_disks=1)
    driver.inject("spawn", RuntimeError("host out of memory"))
    with pytest.raises(RuntimeError, match="host out of memory"):
        driver.spawn(spec)
    assert leftovers(state_dir, spec.instance_id) == []  # no state file, no console log
    assert driver.info(spec.instance_id).power_state == PowerState.ABSENT
    assert driver.list() == []
    assert all(d.path.exists() for d in spec.disks)  # the caller's disks stay
    # the fault fired once; a retry succeeds
    assert driver.spawn(spec).power_state == PowerState.RUNNING


def test_fault_injection_forms(tmp_path, driver):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    iid = spec.instance_id

    driver.inject("power_off", DriverError, times=2)  # a class: raised with a message
    for _ in range(2):
        with pytest.raises(DriverError, match="injected fault in power_off"):
            driver.power_off(iid)
        assert driver.info(iid).power_state == PowerState.RUNNING  # nothing changed
    driver.power_off(iid)
    assert driver.info(iid).power_state == PowerState.STOPPED

    seen = []
    driver.inject("power_on", lambda *args: seen.append(args), times=None)  # a callable that lets the call go on
    driver.power_on(iid)
    driver.power_on(iid)
    assert seen == [(iid,), (iid,)] and driver.info(iid).power_state == PowerState.RUNNING
    driver.clear_faults("power_on")
    driver.power_on(iid)
    assert len(seen) == 2

    def flaky(*args):
        raise TimeoutError("QMP did not answer")

    driver.inject("reboot", flaky)
    driver.inject("reboot", OSError("second fault"))  # queued after the first
    with pytest.raises(TimeoutError):
        driver.reboot(iid)
    with pytest.raises(OSError, match="second fault"):
        driver.reboot(iid)
    driver.reboot(iid)

    driver.inject("destroy", RuntimeError("busy"))
    with pytest.raises(RuntimeError):
        driver.destroy(iid)
    assert driver.info(iid).exists  # a failed destroy keeps the VM
    driver.destroy(iid)

    with pytest.raises(ValueError, match="cannot inject"):
        driver.inject("spwan", RuntimeError())
    with pytest.raises(ValueError, match="times"):
        driver.inject("spawn", RuntimeError(), times=0)


def test_faults_are_per_driver(tmp_path, state_dir):
    a, b = FakeDriver(state_dir), FakeDriver(state_dir)
    a.inject("list", RuntimeError("a only"))
    assert b.list() == []
    with pytest.raises(RuntimeError):
        a.list()


# --------------------------------------------------------------------------
# Disks: snapshot, attach/detach, resize
# --------------------------------------------------------------------------


def _freeze(driver, instance_id: str, device: str) -> None:
    with driver.frozen_disk(instance_id, device):
        pass


def test_frozen_disk_yields_the_disk_and_holds_it(tmp_path, driver):
    spec = vm_spec(tmp_path, data_disks=1)
    driver.spawn(spec)  # running: supports_live_snapshot
    with driver.frozen_disk(spec.instance_id, "vdb") as path:
        assert path == spec.disks[1].path
        # nothing can change the disk while it is frozen: another thread's resize waits
        done = threading.Event()
        worker = threading.Thread(target=lambda: (driver.resize_disk(spec.instance_id, "vdb", 2 * SIZE), done.set()))
        worker.start()
        assert not done.wait(0.3)
    worker.join(10)
    assert done.is_set()
    driver.power_off(spec.instance_id)
    with driver.frozen_disk(spec.instance_id, "vdb") as path:
        assert path == spec.disks[1].path


def test_frozen_disk_failures(tmp_path, driver):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    with pytest.raises(InvalidDisk, match="no disk at vdz"):
        with driver.frozen_disk(spec.instance_id, "vdz"):
            pass
    driver.inject("frozen_disk", RuntimeError("freeze failed"))
    with pytest.raises(RuntimeError):
        with driver.frozen_disk(spec.instance_id, "vda"):
            pass


def test_attach_detach(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    iid = spec.instance_id
    data = DiskSpec(make_disk(tmp_path / "data.qcow2", 2 * SIZE), "qcow2", 2 * SIZE, "data", "vdb")

    driver.attach_disk(iid, data)  # hot plug into a running VM
    assert driver.info(iid).disk("vdb") == data
    assert "[vdb] 262144 512-byte logical blocks" in driver.console_log(iid)
    driver.attach_disk(iid, data)  # a retried attach is a no-op
    assert [d.device for d in driver.info(iid).disks] == ["vda", "vdb"]

    other = DiskSpec(make_disk(tmp_path / "other.qcow2"), "qcow2", SIZE, "data", "vdb")
    with pytest.raises(InvalidDisk, match="device vdb of VM .* is in use"):
        driver.attach_disk(iid, other)
    with pytest.raises(InvalidDisk, match="already, as vdb"):
        driver.attach_disk(iid, DiskSpec(data.path, "qcow2", 2 * SIZE, "data", "vdc"))
    with pytest.raises(InvalidDisk, match="only data disks"):
        driver.attach_disk(iid, DiskSpec(other.path, "qcow2", SIZE, "system", "vdc"))
    with pytest.raises(InvalidDisk, match="virtual size"):
        driver.attach_disk(iid, DiskSpec(other.path, "qcow2", 3 * SIZE, "data", "vdc"))
    with pytest.raises(InvalidDisk, match="does not exist"):
        driver.attach_disk(iid, DiskSpec(tmp_path / "nope.qcow2", "qcow2", SIZE, "data", "vdc"))

    assert FakeDriver(state_dir).info(iid).disk("vdb") == data  # persisted

    with pytest.raises(InvalidDisk, match="system disk"):
        driver.detach_disk(iid, "vda")
    driver.detach_disk(iid, "vdb")
    assert driver.info(iid).disk("vdb") is None
    driver.detach_disk(iid, "vdb")  # detached already: a no-op
    assert data.path.exists()  # the caller's file stays
    driver.power_off(iid)
    driver.attach_disk(iid, other)  # cold plug into a stopped VM
    driver.power_on(iid)
    assert driver.info(iid).disk("vdb") == other


def test_capability_flags_are_honoured(tmp_path, state_dir):
    class Limited(FakeDriver):
        supports_hot_plug = False
        supports_live_snapshot = False
        supports_online_resize = False

    driver = Limited(state_dir)
    spec = vm_spec(tmp_path, data_disks=1)
    driver.spawn(spec)
    iid = spec.instance_id
    extra = DiskSpec(make_disk(tmp_path / "x.qcow2"), "qcow2", SIZE, "data", "vdc")
    refused = [
        lambda: _freeze(driver, iid, "vdb"),
        lambda: driver.resize_disk(iid, "vdb", 2 * SIZE),
        lambda: driver.attach_disk(iid, extra),
        lambda: driver.detach_disk(iid, "vdb"),
    ]
    for call in refused:
        with pytest.raises(InvalidVmState, match="stop it first"):
            call()
    driver.power_off(iid)
    for call in refused:
        call()


def test_resize_disk(tmp_path, driver, state_dir):
    spec = vm_spec(tmp_path, data_disks=1)
    driver.spawn(spec)
    iid = spec.instance_id
    driver.resize_disk(iid, "vdb", 3 * SIZE)  # online
    assert virtual_size(spec.disks[1].path) == 3 * SIZE
    assert driver.info(iid).disk("vdb").size_bytes == 3 * SIZE
    assert "detected capacity change" in driver.console_log(iid)
    driver.resize_disk(iid, "vdb", 3 * SIZE)  # same size: a no-op
    with pytest.raises(InvalidDisk, match="shrinking"):
        driver.resize_disk(iid, "vdb", SIZE)
    with pytest.raises(InvalidDisk, match="no disk at vdq"):
        driver.resize_disk(iid, "vdq", SIZE)
    with pytest.raises(ValueError):
        driver.resize_disk(iid, "vdb", 0)
    driver.power_off(iid)
    driver.resize_disk(iid, "vda", 2 * SIZE)  # offline
    assert virtual_size(spec.disks[0].path) == 2 * SIZE
    assert FakeDriver(state_dir).info(iid).disk("vda").size_bytes == 2 * SIZE


def test_power_on_reopens_disks(tmp_path, driver):
    spec = vm_spec(tmp_path, data_disks=1)
    driver.spawn(spec)
    iid = spec.instance_id
    driver.power_off(iid)
    # the service grew the disk file while the VM was off: the next boot sees it
    run("qemu-img", "resize", "-q", "-f", "qcow2", str(spec.disks[1].path), str(2 * SIZE))
    driver.power_on(iid)
    assert driver.info(iid).disk("vdb").size_bytes == 2 * SIZE
    driver.power_off(iid)
    spec.disks[1].path.unlink()
    with pytest.raises(InvalidDisk, match="vdb .* does not exist"):
        driver.power_on(iid)
    assert driver.info(iid).power_state == PowerState.STOPPED


# --------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------


def test_threads_do_not_lose_updates(tmp_path, driver):
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    errors = []

    def worker():
        try:
            for _ in range(15):
                driver.reboot(spec.instance_id, hard=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert driver.info(spec.instance_id).boot_count == 1 + 6 * 15  # every read-modify-write counted


def test_concurrent_spawns_of_one_id(tmp_path, driver):
    spec = vm_spec(tmp_path)
    results = []

    def attempt():
        try:
            driver.spawn(spec)
            results.append("ok")
        except VmAlreadyExists:
            results.append("exists")

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["exists"] * 4 + ["ok"]


def test_processes_do_not_lose_updates(tmp_path, driver, state_dir):
    """A second process on the same state dir (a separate `localcvm worker`) is locked out too."""
    spec = vm_spec(tmp_path)
    driver.spawn(spec)
    code = textwrap.dedent(f"""
        from localcvm.hypervisor import FakeDriver
        d = FakeDriver({str(state_dir)!r})
        for _ in range(25):
            d.reboot({spec.instance_id!r}, hard=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(25):
        driver.reboot(spec.instance_id, hard=True)
    assert child.wait(timeout=60) == 0
    assert driver.info(spec.instance_id).boot_count == 1 + 25 + 25
