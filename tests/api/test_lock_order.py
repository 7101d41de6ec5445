"""Row-lock order on PostgreSQL: a call that locks an instance and its disks takes the instance first,
and rows of one kind in id order, so two concurrent calls cannot deadlock (a race fuzz found
DetachDisks locking the disk, then the instance, against AttachDisks doing the reverse: one of
them answered InternalError).

Each test holds a row lock in its own transaction, starts the call, waits until the server's
transaction waits for that lock, and checks which rows the call had taken before it: the row the
lock order puts after the held one must still be free.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from tencentcloud.cbs.v20170312 import models as cbs_models

from . import sdk
from .create_image_util import disk_ids, launch
from .images_util import new_account
from .instances_util import call, wait_state
from tests.helpers import wait_until

ZONE = "ap-guangzhou-3"


@pytest.fixture
def pg(server):
    if not server.database_url:
        pytest.skip("row locks and their order are PostgreSQL's; SQLite serialises writers")
    engine = sa.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


@contextmanager
def holding(engine, table: str, key_column: str, key: str):
    """A transaction that holds the row's lock until the block ends."""
    with engine.connect() as conn:
        tx = conn.begin()
        assert conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {key_column} = :k FOR UPDATE"), {"k": key}).first()
        try:
            yield conn
        finally:
            tx.rollback()


def lockable(conn, table: str, key_column: str, key: str) -> bool:
    """Whether the row's lock is free (taken and kept in ``conn``'s transaction if it is)."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(f"SELECT 1 FROM {table} WHERE {key_column} = :k FOR UPDATE NOWAIT"), {"k": key})
    except sa.exc.OperationalError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def waiting_for(engine, holder_pid: int) -> bool:
    """Whether another session waits for a lock the session ``holder_pid`` holds."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE :h = ANY(pg_blocking_pids(pid))"),
                            {"h": holder_pid}).scalar() > 0


class Background:
    """An SDK call on a thread: its answer or its error."""

    def __init__(self, fn):
        self.result, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(fn,))
        self.thread.start()

    def _run(self, fn):
        try:
            self.result = fn()
        except Exception as exc:  # the test asserts on it
            self.error = exc

    def join(self):
        self.thread.join(60)
        assert not self.thread.is_alive(), "the call hung"
        assert self.error is None, self.error
        return self.result


def cbs_call(client, action: str, body: dict):
    req = getattr(cbs_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def clients(server, name: str):
    created, client_for = new_account(server, name)
    return client_for(), sdk.cbs(server, secret_id=created["SecretId"], secret_key=created["SecretKey"])


def blocked(pg, holder_table, holder_key_column, holder_key, start, then_free):
    """Hold one row, start the call, and once it waits report whether ``then_free`` (table, column,
    key) was still unlocked; the call then completes."""
    with holding(pg, holder_table, holder_key_column, holder_key) as conn:
        holder = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        call_ = Background(start)
        wait_until(lambda: waiting_for(pg, holder), timeout=30, what="the call waiting for the held row")
        free = lockable(conn, *then_free)
    call_.join()
    return free


def test_detach_disks_locks_the_instance_before_the_disk(server, pg):
    c, cbs = clients(server, "lock-detach")
    (ins,) = launch(c, data_disks=(20,))
    disk = disk_ids(c, ins)[1]
    free = blocked(pg, "instances", "instance_id", ins,
                   lambda: cbs_call(cbs, "DetachDisks", {"DiskIds": [disk]}), ("disks", "disk_id", disk))
    assert free, "DetachDisks locked the disk before its instance"
    wait_until(lambda: cbs_call(cbs, "DescribeDisks", {"DiskIds": [disk]}).DiskSet[0].DiskState == "UNATTACHED",
               timeout=30, what="the disk detached")


def test_apply_snapshot_locks_the_instance_before_the_disk(server, pg):
    c, cbs = clients(server, "lock-apply")
    (ins,) = launch(c, data_disks=(20,))
    disk = disk_ids(c, ins)[1]
    snap = cbs_call(cbs, "CreateSnapshot", {"DiskId": disk}).SnapshotId
    wait_until(lambda: cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState
               == "NORMAL", timeout=60, what="the snapshot")
    call(c, "StopInstances", {"InstanceIds": [ins]})
    wait_state(c, [ins], "STOPPED")
    free = blocked(pg, "instances", "instance_id", ins,
                   lambda: cbs_call(cbs, "ApplySnapshot", {"DiskId": disk, "SnapshotId": snap}),
                   ("disks", "disk_id", disk))
    assert free, "ApplySnapshot locked the disk before its instance"
    wait_until(lambda: cbs_call(cbs, "DescribeDisks", {"DiskIds": [disk]}).DiskSet[0].DiskState == "ATTACHED",
               timeout=60, what="the rollback done")


def test_instances_are_locked_in_id_order(server, pg):
    c, _cbs = clients(server, "lock-many")
    low, high = sorted(launch(c, count=2))
    # named high first: the call must still take low's lock before high's
    free = blocked(pg, "instances", "instance_id", low,
                   lambda: call(c, "StopInstances", {"InstanceIds": [high, low]}), ("instances", "instance_id", high))
    assert free, "StopInstances locked the instances in the request's order"
    wait_state(c, [low, high], "STOPPED")


def test_disks_are_locked_in_id_order(server, pg):
    c, cbs = clients(server, "lock-disks")
    (ins,) = launch(c)
    made = cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": ZONE}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 20,
                                         "DiskChargeType": "POSTPAID_BY_HOUR", "DiskCount": 2}).DiskIdSet
    wait_until(lambda: all(d.DiskState == "UNATTACHED" for d in cbs_call(cbs, "DescribeDisks", {"DiskIds": made}).DiskSet),
               timeout=30, what="the disks")
    low, high = sorted(made)
    free = blocked(pg, "disks", "disk_id", low,
                   lambda: cbs_call(cbs, "AttachDisks", {"InstanceId": ins, "DiskIds": [high, low]}),
                   ("disks", "disk_id", high))
    assert free, "AttachDisks locked the disks in the request's order"
    wait_until(lambda: all(d.DiskState == "ATTACHED" for d in cbs_call(cbs, "DescribeDisks", {"DiskIds": made}).DiskSet),
               timeout=30, what="the disks attached")


def test_rows_named_in_any_order_are_locked_in_id_order(server, pg):
    """The same for the other calls that lock several rows of one table (here DeleteKeyPairs)."""
    c, _cbs = clients(server, "lock-keys")
    made = [call(c, "CreateKeyPair", {"KeyName": f"lockorder{i}", "ProjectId": 0}).KeyPair.KeyId for i in range(2)]
    low, high = sorted(made)
    free = blocked(pg, "key_pairs", "key_id", low,
                   lambda: call(c, "DeleteKeyPairs", {"KeyIds": [high, low]}), ("key_pairs", "key_id", high))
    assert free, "DeleteKeyPairs locked the key pairs in the request's order"
    assert call(c, "DescribeKeyPairs", {"KeyIds": made}).TotalCount == 0


def test_modify_security_groups_locks_the_groups_before_the_instance(server, pg):
    """AssociateSecurityGroups takes the account's security-group lock, then the instances';
    ModifyInstancesAttribute with SecurityGroupIds must take them in the same order."""
    created, client_for = new_account(server, "lock-groups")
    c = client_for()
    (ins,) = launch(c)
    group = call(c, "DescribeInstances", {"InstanceIds": [ins]}).InstanceSet[0].SecurityGroupIds[0]
    lock = f"network:{created['Uin']}:ap-guangzhou"  # the account's security-group lock (its row in locks)
    free = blocked(pg, "locks", "name", lock,
                   lambda: call(c, "ModifyInstancesAttribute", {"InstanceIds": [ins], "SecurityGroups": [group]}),
                   ("instances", "instance_id", ins))
    assert free, "ModifyInstancesAttribute locked the instance before the security groups"


def test_delete_snapshots_with_their_images_locks_the_images_first(server, pg):
    """DeleteImages with DeleteBindSnapshots locks an image, then its snapshots; DeleteSnapshots
    with DeleteBindImages must take them in the same order."""
    from .images_util import wait_image

    c, cbs = clients(server, "lock-bound")
    (ins,) = launch(c)
    snap = cbs_call(cbs, "CreateSnapshot", {"DiskId": disk_ids(c, ins)[0]}).SnapshotId
    wait_until(lambda: cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState
               == "NORMAL", timeout=60, what="the snapshot")
    image = call(c, "CreateImage", {"SnapshotIds": [snap], "ImageName": "lock-bound"}).ImageId
    assert wait_image(c, image).ImageState == "NORMAL"
    free = blocked(pg, "images", "image_id", image,
                   lambda: cbs_call(cbs, "DeleteSnapshots", {"SnapshotIds": [snap], "DeleteBindImages": True}),
                   ("snapshots", "snapshot_id", snap))
    assert free, "DeleteSnapshots locked the snapshot before the image made of it"
    assert call(c, "DescribeImages", {"ImageIds": [image]}).TotalCount == 0
