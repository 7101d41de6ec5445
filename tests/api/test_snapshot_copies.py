"""Issue 24: CopySnapshotCrossRegions is durable (kill -9 rounds), dedup'd, and the copy restores the
same bytes in its region (cbs 2017-03-12, official SDK)."""

from __future__ import annotations

import random
import signal
import subprocess
import uuid
from collections import defaultdict

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from . import sdk
from .create_image_util import MiB, launch, write_pattern
from .images_util import new_account
from .instances_util import instance
from .test_instances import _cbs, _cbs_call

REGIONS = ["ap-shanghai", "ap-beijing"]


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _snap(cbs, snapshot_id):
    got = _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snapshot_id]}).SnapshotSet
    return got[0] if got else None


def _normal(cbs, snapshot_id, timeout=120):
    return wait_until(lambda: (lambda s: s if s is not None and s.SnapshotState == "NORMAL" else None)(
        _snap(cbs, snapshot_id)), timeout=timeout, interval=0.2, what=f"{snapshot_id} to be NORMAL")


def _raw(server, region, disk_id, tmp_path) -> bytes:
    raw = tmp_path / f"{disk_id}.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw",
                    str(server.data_dir / "disks" / region / f"{disk_id}.qcow2"), str(raw)], check=True)
    try:
        return raw.read_bytes()
    finally:
        raw.unlink()


def _source(cbs, server) -> tuple[str, str]:
    disk = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                          "DiskType": "CLOUD_PREMIUM", "DiskSize": 10}).DiskIdSet[0]
    wait_until(lambda: _cbs_call(cbs, "DescribeDisks", {"DiskIds": [disk]}).DiskSet[0].DiskState == "UNATTACHED",
               timeout=30, what="the disk")
    for n in range(24):  # 24 distinct 1 MiB chunks
        write_pattern(server, disk, n * MiB, MiB, 0x10 + n)
    snap = _cbs_call(cbs, "CreateSnapshot", {"DiskId": disk}).SnapshotId
    _normal(cbs, snap)
    return disk, snap


def test_copies_survive_kill_9_and_restore_the_same_bytes(make_server, tmp_path):
    trace = tmp_path / "trace.log"
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.01", "LOCALCVM_WORKERS": "4",
                                 "LOCALCVM_SYNC_TRACE": str(trace)})
    created, _ = new_account(srv, f"cpy-{uuid.uuid4().hex[:8]}")
    cbs = _cbs(srv, created)
    disk, snap = _source(cbs, srv)
    made = _cbs_call(cbs, "CopySnapshotCrossRegions", {"SnapshotId": snap, "DestinationRegions": REGIONS}).SnapshotCopyResultSet
    copies = {m.DestinationRegion: m.SnapshotId for m in made}
    assert set(copies) == set(REGIONS) and {m.Code for m in made} == {"Success"}
    assert sorted(_snap(cbs, snap).CopyingToRegions) == sorted(REGIONS)
    first = _snap(_cbs(srv, created, REGIONS[0]), copies[REGIONS[0]])
    assert (first.SnapshotState, first.CopyFromRemote) == ("COPYING_FROM_REMOTE", True)
    assert _code(lambda: _cbs_call(cbs, "CopySnapshotCrossRegions", {"SnapshotId": snap, "DestinationRegions": [REGIONS[0]]})) \
        == "ResourceInUse.CopySnapshotConflict"

    rng = random.Random(24)
    for _ in range(5):
        wait_until(lambda: trace.exists(), timeout=30, what="the first chunk copy")
        try:  # not synchronisation: the kill point itself is what is random
            wait_until(lambda: False, timeout=rng.uniform(0.2, 1.0), interval=0.05, what="a random kill point")
        except TimeoutError:
            pass
        srv.stop(signal.SIGKILL)
        srv.start()
    for region, copy_id in copies.items():
        got = _normal(_cbs(srv, created, region), copy_id)
        assert (got.CopyFromRemote, got.DiskSize, got.Percent) == (True, 10, 100)
    assert _snap(cbs, snap).CopyingToRegions == []

    written: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in trace.read_text().splitlines():
        job, attempt, digest = line.split()
        written[job][int(attempt)].add(digest)
    for job, attempts in written.items():  # at most one chunk re-copied per restart
        order = sorted(attempts)
        for i, k in enumerate(order):
            later = set().union(*(attempts[j] for j in order[i + 1:])) if i + 1 < len(order) else set()
            assert len(attempts[k] & later) <= 1, (job, k)

    # a disk made from the copy in its region holds the source disk's bytes
    expected = _raw(srv, "ap-guangzhou", disk, tmp_path)
    sh = _cbs(srv, created, REGIONS[0])
    restored = _cbs_call(sh, "CreateDisks", {"Placement": {"Zone": "ap-shanghai-2"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                             "DiskType": "CLOUD_PREMIUM", "SnapshotId": copies[REGIONS[0]]}).DiskIdSet[0]
    wait_until(lambda: _cbs_call(sh, "DescribeDisks", {"DiskIds": [restored]}).DiskSet[0].DiskState == "UNATTACHED",
               timeout=60, what="the restored disk")
    assert _raw(srv, REGIONS[0], restored, tmp_path) == expected

    # a second copy to a region that has the chunks writes none (dedup)
    before = trace.read_text().count("\n")
    again = _cbs_call(cbs, "CopySnapshotCrossRegions", {"SnapshotId": snap, "DestinationRegions": [REGIONS[1]]})
    _normal(_cbs(srv, created, REGIONS[1]), again.SnapshotCopyResultSet[0].SnapshotId)
    assert trace.read_text().count("\n") == before


def test_copy_refusals(server):
    created, _ = new_account(server, f"cpy-{uuid.uuid4().hex[:8]}")
    cbs = _cbs(server, created)
    _disk, snap = _source(cbs, server)
    body = {"SnapshotId": snap, "DestinationRegions": ["ap-guangzhou"]}
    assert _code(lambda: _cbs_call(cbs, "CopySnapshotCrossRegions", body)) == "InvalidParameterValue"
    body["DestinationRegions"] = ["ap-nowhere"]
    assert _code(lambda: _cbs_call(cbs, "CopySnapshotCrossRegions", body)) == "InvalidParameterValue"
    created2, _ = new_account(server, f"cpy-{uuid.uuid4().hex[:8]}")
    assert _code(lambda: _cbs_call(_cbs(server, created2), "CopySnapshotCrossRegions", {
        "SnapshotId": snap, "DestinationRegions": ["ap-shanghai"]})) == "InvalidSnapshotId.NotFound"


def test_snapshot_sharing(server):
    owner, _ = new_account(server, f"shr-{uuid.uuid4().hex[:8]}")
    friend, _ = new_account(server, f"shr-{uuid.uuid4().hex[:8]}")
    stranger, _ = new_account(server, f"shr-{uuid.uuid4().hex[:8]}")
    cbs, fcbs, scbs = _cbs(server, owner), _cbs(server, friend), _cbs(server, stranger)
    _disk, snap = _source(cbs, server)
    share = {"SnapshotIds": [snap], "AccountIds": [friend["Uin"]], "Permission": "SHARE"}
    _cbs_call(cbs, "ModifySnapshotsSharePermission", share)
    got = _cbs_call(cbs, "DescribeSnapshotSharePermission", {"SnapshotId": snap}).SharePermissionSet
    assert [s.AccountId for s in got] == [friend["Uin"]] and got[0].CreatedTime
    assert _snap(cbs, snap).ShareReference == 1
    # the friend sees it as SHARED_SNAPSHOT and creates a disk from it; nothing else
    seen = _snap(fcbs, snap)
    assert seen is not None and seen.SnapshotType == "SHARED_SNAPSHOT"
    disk = _cbs_call(fcbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                           "DiskType": "CLOUD_PREMIUM", "SnapshotId": snap}).DiskIdSet[0]
    assert disk.startswith("disk-")
    for attempt in (lambda: _cbs_call(fcbs, "DeleteSnapshots", {"SnapshotIds": [snap]}),
                    lambda: _cbs_call(fcbs, "ModifySnapshotAttribute", {"SnapshotId": snap, "SnapshotName": "mine"}),
                    lambda: _cbs_call(fcbs, "ModifySnapshotsSharePermission", {**share, "AccountIds": [stranger["Uin"]]})):
        assert _code(attempt) == "InvalidSnapshotId.NotFound"
    # DescribeSnapshotSharePermission documents only InvalidParameter(Value): the common ResourceNotFound
    assert _code(lambda: _cbs_call(fcbs, "DescribeSnapshotSharePermission", {"SnapshotId": snap})) == "ResourceNotFound"
    assert _snap(scbs, snap) is None
    assert _code(lambda: _cbs_call(scbs, "CreateDisks", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_PREMIUM",
        "SnapshotId": snap})) == "InvalidSnapshotId.NotFound"
    # the rules of image sharing, with CBS's codes
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotsSharePermission", share)) == "InvalidParameter"  # already
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotsSharePermission", {**share, "AccountIds": [owner["Uin"]]})) \
        == "InvalidParameter"
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotsSharePermission", {**share, "AccountIds": ["999999999999"]})) \
        == "InvalidParameter"
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotsSharePermission", {**share, "Permission": "LEND"})) == \
        "InvalidParameterValue"
    # a system disk's snapshot is not shared
    c = sdk.cvm(server, "ap-guangzhou", secret_id=owner["SecretId"], secret_key=owner["SecretKey"])
    (iid,) = launch(c)
    system_snap = _cbs_call(cbs, "CreateSnapshot", {"DiskId": instance(c, iid).SystemDisk.DiskId}).SnapshotId
    _normal(cbs, system_snap)
    assert _code(lambda: _cbs_call(cbs, "ModifySnapshotsSharePermission", {**share, "SnapshotIds": [system_snap]})) \
        == "InvalidSnapshot.NotSupported"
    # cancelled: gone for the friend (the disk it made stays)
    _cbs_call(cbs, "ModifySnapshotsSharePermission", {**share, "Permission": "CANCEL"})
    assert _snap(fcbs, snap) is None
    assert _cbs_call(fcbs, "DescribeDisks", {"DiskIds": [disk]}).TotalCount == 1

