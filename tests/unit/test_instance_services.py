"""The instance and disk services in process: no disk or driver I/O while a transaction is open
(while a launch builds its base and while AttachDisks waits for the driver, no database connection
is held, and another account's write requests complete); the driver's capability flags decide what
runs live; the views they return carry no ORM rows."""

from __future__ import annotations

from tests.unit.services_util import new_identity

import dataclasses
import threading

import pytest

from localcvm.jobs.queue import lease
from localcvm.services.core import Services
from localcvm.services.disks import CreateDisksRequest
from localcvm.services.iam import Identity
from localcvm.hypervisor.fake import FakeDriver
from localcvm.services import errors
from localcvm.services.instances.requests import ResizeRequest, RunRequest
from localcvm.store.models import Base

ZONE = "ap-guangzhou-3"
REGION = "ap-guangzhou"
DEADLINE = 10.0


def _image(services: Services) -> str:
    return next(v.image_id for v in services.images.public if v.os_name.startswith("Ubuntu Server 22.04 LTS 64"))


def _within_deadline(fn) -> object:
    """``fn()`` run in a thread; its result, or a failure when it has not returned in time."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(DEADLINE)
    assert not t.is_alive(), f"another account's write did not complete within {DEADLINE} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _other_accounts_writes(services: Services, other: Identity) -> None:
    key = _within_deadline(lambda: services.keypairs.create(other, f"k{threading.get_ident() % 10000}", 0, {}))
    assert key.key_id.startswith("skey-")
    disks = _within_deadline(lambda: services.disks.create(other, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10)))
    assert len(disks) == 1


def _blocked(services: Services, release: threading.Event, seen: dict, name: str, call):
    """A wrapper of ``call`` that records the connections checked out when the I/O starts and waits."""
    def wrapper(*args, **kwargs):
        seen[name] = services.db.engine.pool.checkedout()
        seen[f"{name}-entered"].set()
        assert release.wait(DEADLINE * 3)
        return call(*args, **kwargs) if call is not None else None

    seen[f"{name}-entered"] = threading.Event()
    return wrapper


def _launch(services: Services, owner: Identity, release: threading.Event | None = None, seen: dict | None = None):
    ids = services.instances.run(owner, REGION, "req-1", RunRequest(zone=ZONE, image_id=_image(services)))
    handle = lease(services.db, ["instance_launch"], "test")
    assert handle is not None and handle.view.resource_id == ids[0]
    return ids[0], threading.Thread(target=services.instances.run_launch, args=(handle,), daemon=True)


def test_launch_builds_its_base_outside_any_transaction(services):
    owner, other = new_identity(services, "owner"), new_identity(services, "other")
    release, seen = threading.Event(), {}
    services.volumes.ensure_base = _blocked(services, release, seen, "base", services.volumes.ensure_base)
    instance_id, job = _launch(services, owner)
    job.start()
    try:
        assert seen["base-entered"].wait(DEADLINE)
        assert seen["base"] == 0, "a database connection is held while the launch builds its base"
        _other_accounts_writes(services, other)
    finally:
        release.set()
        job.join(DEADLINE * 3)
    with services.db.read() as repo:
        assert repo.get_instance(instance_id).state == "RUNNING"


def test_attach_disks_calls_the_driver_outside_any_transaction(services):
    owner, other = new_identity(services, "owner"), new_identity(services, "other")
    instance_id, job = _launch(services, owner)
    job.run()
    disk_id = services.disks.create(owner, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10))[0]
    release, seen = threading.Event(), {}
    services.driver.inject("attach_disk", _blocked(services, release, seen, "attach", None))
    errors: list[BaseException] = []

    def attach():
        try:
            services.disks.attach(owner, REGION, "req-2", instance_id, [disk_id])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=attach, daemon=True)
    t.start()
    try:
        assert seen["attach-entered"].wait(DEADLINE)
        assert seen["attach"] == 0, "a database connection is held while the driver attaches the disk"
        _other_accounts_writes(services, other)
    finally:
        release.set()
        t.join(DEADLINE * 3)
    assert not errors
    total, views = services.disks.describe(owner, REGION, ids=[disk_id], filters=None, offset=None, limit=None)
    assert total == 1 and (views[0].state, views[0].instance_id) == ("ATTACHED", instance_id)


class ColdDriver(FakeDriver):
    """A hypervisor that can do nothing to a running VM's disks."""

    supports_hot_plug = False
    supports_live_snapshot = False
    supports_online_resize = False


def _running(services: Services, owner: Identity) -> str:
    instance_id, job = _launch(services, owner)
    job.run()
    return instance_id


def test_services_follow_the_drivers_capability_flags(services):
    cold = ColdDriver(services.settings.data_dir / "vms")
    services.instances.driver = services.disks.driver = cold
    owner = new_identity(services, "owner")
    instance_id = _running(services, owner)
    disk_id = services.disks.create(owner, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10))[0]
    with pytest.raises(errors.ApiError) as err:  # no hot plug: refused before anything changes
        services.disks.attach(owner, REGION, "req-a", instance_id, [disk_id])
    assert err.value.code == "UnsupportedOperation.InstanceStateRunning"
    with services.db.read() as repo:
        system_id = repo.disks_of_instance(instance_id)[0].disk_id
    with pytest.raises(errors.ApiError) as err:
        services.disks.create_snapshot(owner, REGION, system_id)
    assert err.value.code == "UnsupportedOperation.InstanceStateRunning"
    # no online resize: the resize job stops the VM, grows the disk through the driver, starts it again
    boots = cold.info(instance_id).boot_count
    services.instances.resize_disks(owner, REGION, "req-r", ResizeRequest(instance_id, system_disk_size=60,
                                                                          resize_online=True))
    handle = lease(services.db, ["instance_resize"], "test")
    services.instances.run_resize(handle)
    info = cold.info(instance_id)
    assert info.power_state == "running" and info.boot_count == boots + 1
    assert info.disk("vda").size_bytes == 60 * 1024**3


def _walk(value, path="view"):
    assert not isinstance(value, Base), f"{path} is an ORM row"
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]")


def test_views_carry_no_orm_rows(services):
    owner = new_identity(services, "owner")
    instance_id = _running(services, owner)
    disk_id = services.disks.create(owner, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10))[0]
    services.disks.attach(owner, REGION, "req-a", instance_id, [disk_id])
    services.disks.create_snapshot(owner, REGION, disk_id, "s")
    services.keypairs.create(owner, "k", 0, {})
    seen = [
        services.instances.describe(owner, REGION, ids=None, filters=None, offset=None, limit=None)[1],
        services.disks.describe(owner, REGION, ids=None, filters=None, offset=None, limit=None)[1],
        services.disks.describe_snapshots(owner, REGION, ids=None, filters=None, offset=None, limit=None)[1],
        services.keypairs.describe(owner, None, None, None, None)[1],
    ]
    assert all(seen)
    _walk(seen)


def test_snapshot_of_an_attached_disk_reads_it_through_the_drivers_frozen_disk(services):
    owner = new_identity(services, "owner")
    instance_id = _running(services, owner)
    with services.db.read() as repo:
        system_id = repo.disks_of_instance(instance_id)[0].disk_id
    calls = []
    services.driver.inject("frozen_disk", lambda *args: calls.append(args))
    snapshot_id = services.disks.create_snapshot(owner, REGION, system_id, "s")
    services.disks.run_snapshot(lease(services.db, ["snapshot_create"], "test"))
    assert calls == [(instance_id, "vda")]
    total, views = services.disks.describe_snapshots(owner, REGION, ids=[snapshot_id], filters=None, offset=None,
                                                     limit=None)
    assert total == 1 and views[0].state == "NORMAL"


def test_an_attach_interrupted_between_its_transactions_is_settled_at_start_up(services):
    owner = new_identity(services, "owner")
    instance_id = _running(services, owner)
    made = services.disks.create(owner, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10, count=2))
    for disk_id in made:  # the process dies in the driver call: the first transaction is all there is
        services.driver.inject("attach_disk", SystemExit("killed"))
        with pytest.raises(SystemExit):
            services.disks.attach(owner, REGION, "req-a", instance_id, [disk_id])
        if disk_id == made[0]:  # (let the second attach start as if the first had been in another process)
            with services.db.write() as repo:
                repo.get_instance(instance_id).latest_operation_state = "SUCCESS"
    # the driver did attach the second disk before the crash
    with services.db.read() as repo:
        second = repo.get_disk(made[1])
        spec = services.instances.disk_spec(REGION, second.disk_id, second.size_gib, second.position)
    services.driver.attach_disk(instance_id, spec)
    assert services.disks.recover_interrupted() == 2
    total, views = services.disks.describe(owner, REGION, ids=made, filters=None, offset=None, limit=None)
    got = {v.disk_id: (v.state, v.instance_id) for v in views}
    assert got == {made[0]: ("UNATTACHED", None), made[1]: ("ATTACHED", instance_id)}
    view = services.instances.describe(owner, REGION, ids=[instance_id], filters=None, offset=None, limit=None)[1][0]
    assert view.latest_operation_state == "SUCCESS" and [d.disk_id for d in view.data_disks] == [made[1]]


def test_a_disk_detached_after_create_snapshot_is_still_captured(services):
    """CreateSnapshot was accepted while the disk was attached; by the time the job freezes it the
    disk has left the VM (a DetachDisks in between): the job reads the disk's placement again and
    captures it where it is, instead of failing and dropping the promised snapshot."""
    from localcvm.hypervisor.driver import InvalidDisk

    owner = new_identity(services, "owner")
    instance_id = _running(services, owner)
    disk_id = services.disks.create(owner, REGION, CreateDisksRequest(
        zone=ZONE, disk_type="CLOUD_PREMIUM", charge_type="POSTPAID_BY_HOUR", disk_size=10))[0]
    services.disks.attach(owner, REGION, "req-a", instance_id, [disk_id])
    snapshot_id = services.disks.create_snapshot(owner, REGION, disk_id, "s")

    def detached_meanwhile(*_args):
        with services.db.write() as repo:  # the database already shows the detach the driver did
            disk = repo.get_disk(disk_id)
            disk.state, disk.instance_id, disk.position = "UNATTACHED", None, 0
        raise InvalidDisk(f"VM {instance_id} has no disk at vdb", instance_id, "vdb")

    services.driver.inject("frozen_disk", detached_meanwhile, times=1)
    services.disks.run_snapshot(lease(services.db, ["snapshot_create"], "test"))
    total, views = services.disks.describe_snapshots(owner, REGION, ids=[snapshot_id], filters=None, offset=None,
                                                     limit=None)
    assert total == 1 and views[0].state == "NORMAL"
