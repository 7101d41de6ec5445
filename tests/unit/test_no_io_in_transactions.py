"""No disk or driver I/O while a transaction is open: while a launch builds its base and while
AttachDisks waits for the driver, no database connection is held, and another account's write
requests complete."""

from __future__ import annotations

import threading

import pytest

from localcvm.config import Settings
from localcvm.jobs.queue import lease
from localcvm.services.core import Services
from localcvm.services.disks.service import CreateDisksRequest
from localcvm.services.iam import Identity
from localcvm.services.instances.requests import RunRequest

ZONE = "ap-guangzhou-3"
REGION = "ap-guangzhou"
DEADLINE = 10.0


@pytest.fixture
def services(tmp_path):
    s = Services(Settings.load(data_dir=tmp_path / "data", workers=0))
    yield s
    s.close()


def _identity(services: Services, name: str) -> Identity:
    c = services.accounts.create_account(name)
    return Identity(c.uin, c.app_id, c.name, c.secret_id)


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
    owner, other = _identity(services, "owner"), _identity(services, "other")
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
    owner, other = _identity(services, "owner"), _identity(services, "other")
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
