"""Issue 6: CreateImage from instances and snapshots, over HTTP with the official SDK."""

from __future__ import annotations

import os
import subprocess

from tencentcloud.cbs.v20170312 import models as cbs_models

from tests.helpers import wait_until

from . import sdk
from .create_image_util import (
    MiB, create_and_wait, create_image, disk_file, disk_ids, error_code, launch, read_bytes, same_disk_contents,
    write_bytes, write_pattern,
)
from .images_util import describe, dir_bytes, image_of, new_account, wait_image
from .instances_util import call, instance, public_image, wait_operation, wait_state


def cbs(server, secret_id, secret_key):
    from tencentcloud.cbs.v20170312 import cbs_client

    return cbs_client.CbsClient(sdk.cred(server, secret_id, secret_key), "ap-guangzhou", sdk.profile(server))


def cbs_call(client, action, body):
    import json

    req = getattr(cbs_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def snapshots(cbs_client, ids=None):
    import json

    body = {"Limit": 100}
    if ids:
        body["SnapshotIds"] = ids
    return json.loads(cbs_call(cbs_client, "DescribeSnapshots", body).to_json_string())["SnapshotSet"]


def custom_images(client):
    return describe(client, filters={"image-type": ["PRIVATE_IMAGE"]}, Limit=100).ImageSet


def test_image_from_instance_carries_system_and_data_disk_bytes(server, tmp_path):
    acct, client_for = new_account(server, "ci-bytes")
    c = client_for()
    cb = cbs(server, acct["SecretId"], acct["SecretKey"])
    (src,) = launch(c, data_disks=[20])
    system, data = disk_ids(c, src)
    payload_sys, payload_data = os.urandom(3 * MiB + 12345), os.urandom(2 * MiB)
    write_bytes(server, system, 10 * MiB + 4096, payload_sys, tmp_path)
    write_bytes(server, data, 7 * MiB, payload_data, tmp_path)
    write_pattern(server, system, 30 * 1024 * MiB, 64 * 1024, 0x5A)  # far beyond the image's own 20 GB

    image_id = create_image(c, InstanceId=src, ImageName="web-backup", ImageDescription="from a running server",
                            DataDiskIds=[data], TagSpecification=[{"ResourceType": "image",
                                                                   "Tags": [{"Key": "env", "Value": "ci"}]}])
    first = image_of(c, image_id)
    assert first.ImageState in ("CREATING", "NORMAL")
    assert first.ImageSource == "CREATE_IMAGE" and first.ImageType == "PRIVATE_IMAGE"
    img = wait_image(c, image_id)
    assert img.ImageState == "NORMAL", img.to_json_string()
    assert img.ImageCreator == acct["Uin"]
    assert img.ImageName == "web-backup" and img.ImageDescription == "from a running server"
    assert [(s.DiskUsage, s.DiskSize) for s in img.SnapshotSet] == [("SYSTEM_DISK", 50), ("DATA_DISK", 20)]
    assert img.ImageSize == 50 and img.OsName.startswith("Ubuntu")
    assert {t.Key: t.Value for t in img.Tags} == {"env": "ci"}
    # the snapshots are CBS snapshots bound to the image
    snaps = {s["SnapshotId"]: s for s in snapshots(cb)}
    for s in img.SnapshotSet:
        assert snaps[s.SnapshotId]["SnapshotState"] == "NORMAL"
        assert snaps[s.SnapshotId]["ImageCount"] == 1
        assert snaps[s.SnapshotId]["Images"] == [{"ImageId": image_id, "ImageName": "web-backup"}]
    assert snaps[img.SnapshotSet[0].SnapshotId]["DiskId"] == system
    # the source instance went through the operation and is still running
    src_row = wait_operation(c, src)
    assert src_row.LatestOperation == "CreateImage" and src_row.LatestOperationState == "SUCCESS"
    assert src_row.InstanceState == "RUNNING"

    # two instances from the image: both carry the bytes, byte for byte, on both disks
    clones = launch(c, image_id=image_id, name="clone", count=2)
    for clone in clones:
        c_system, *c_data = disk_ids(c, clone)
        assert len(c_data) == 1
        assert read_bytes(server, c_system, 10 * MiB + 4096, len(payload_sys), tmp_path) == payload_sys
        assert read_bytes(server, c_data[0], 7 * MiB, len(payload_data), tmp_path) == payload_data
        assert same_disk_contents(server, system, c_system)
        assert same_disk_contents(server, data, c_data[0])
    # writes after the capture do not leak into the image
    write_pattern(server, system, 10 * MiB + 4096, 4096, 0x11)
    (late,) = launch(c, image_id=image_id, name="late")
    assert read_bytes(server, disk_ids(c, late)[0], 10 * MiB + 4096, 4096, tmp_path) == payload_sys[:4096]


def test_capture_stores_only_the_changed_chunks(server, tmp_path):
    _acct, client_for = new_account(server, "ci-incr")
    c = client_for()
    (src,) = launch(c)
    (system,) = disk_ids(c, src)
    store = server.data_dir / "blobs" / "ap-guangzhou"
    # runs of whole MiB spread over the disk, inside and beyond the image's own size, and one
    # unaligned MiB (it touches two chunks: one extra MiB stored)
    runs = [(0, 10), (123, 7), (5000, 5), (12000, 2)]
    for at, mib in runs:
        write_bytes(server, system, at * MiB, os.urandom(mib * MiB), tmp_path)
    write_bytes(server, system, 700 * MiB + 12345, os.urandom(MiB), tmp_path)
    changed = (sum(m for _, m in runs) + 1) * MiB
    before = dir_bytes(store)
    img = create_and_wait(c, InstanceId=src, ImageName="incremental")
    assert img.ImageState == "NORMAL"
    grown = dir_bytes(store) - before
    assert changed <= grown <= changed * 1.10 + 256 * 1024, f"stored {grown} bytes for {changed} changed"
    # and the image is whole: an instance from it equals the source disk
    (clone,) = launch(c, image_id=img.ImageId, name="clone")
    assert same_disk_contents(server, system, disk_ids(c, clone)[0])


def test_image_from_snapshots_and_delete_binded_snapshots(server, tmp_path):
    acct, client_for = new_account(server, "ci-snap")
    c = client_for()
    cb = cbs(server, acct["SecretId"], acct["SecretKey"])
    (src,) = launch(c, data_disks=[10])
    system, data = disk_ids(c, src)
    payload = os.urandom(MiB)
    write_bytes(server, system, 3 * MiB, payload, tmp_path)
    write_bytes(server, data, 0, payload, tmp_path)
    snap_sys = cbs_call(cb, "CreateSnapshot", {"DiskId": system}).SnapshotId
    snap_data = cbs_call(cb, "CreateSnapshot", {"DiskId": data}).SnapshotId
    wait_until(lambda: all(s["SnapshotState"] == "NORMAL" for s in snapshots(cb, [snap_sys, snap_data])),
               timeout=60, what="snapshots")
    # the data disk snapshot alone is not enough
    assert error_code(create_image, c, SnapshotIds=[snap_data], ImageName="x") == "InvalidParameter.SystemSnapshotNotFound"
    img = create_and_wait(c, SnapshotIds=[snap_data, snap_sys], ImageName="from-snaps")
    assert img.ImageState == "NORMAL"
    assert [(s.SnapshotId, s.DiskUsage) for s in img.SnapshotSet] == [(snap_sys, "SYSTEM_DISK"), (snap_data, "DATA_DISK")]
    assert img.OsName.startswith("Ubuntu")  # the OS facts travel with the system disk snapshot
    (clone,) = launch(c, image_id=img.ImageId, name="clone")
    c_system, c_data = disk_ids(c, clone)
    assert read_bytes(server, c_system, 3 * MiB, MiB, tmp_path) == payload
    assert read_bytes(server, c_data, 0, MiB, tmp_path) == payload

    # a snapshot bound to an image cannot be deleted on its own
    assert error_code(cbs_call, cb, "DeleteSnapshots", {"SnapshotIds": [snap_sys]}) == \
        "UnsupportedOperation.SnapshotHasBindedImage"
    assert len(snapshots(cb, [snap_sys])) == 1
    # an image made from the instance, deleted without DeleteBindedSnap: its snapshots stay
    kept = create_and_wait(c, InstanceId=src, ImageName="keep-snaps")
    call(c, "DeleteImages", {"ImageIds": [kept.ImageId]})
    assert {s["SnapshotId"] for s in snapshots(cb)} >= {s.SnapshotId for s in kept.SnapshotSet}
    # DeleteBindedSnap removes the image's snapshots
    call(c, "DeleteImages", {"ImageIds": [img.ImageId], "DeleteBindedSnap": True})
    left = {s["SnapshotId"] for s in snapshots(cb)}
    assert snap_sys not in left and snap_data not in left
    assert image_of(c, img.ImageId) is None


def test_force_poweroff_stops_then_restarts_and_windows_sysprep_needs_it(server):
    _acct, client_for = new_account(server, "ci-power")
    c = client_for()
    (src,) = launch(c)
    img = create_and_wait(c, InstanceId=src, ImageName="forced", ForcePoweroff="true")
    assert img.ImageState == "NORMAL"
    row = wait_operation(c, src)
    assert row.LatestOperation == "CreateImage" and row.LatestOperationState == "SUCCESS"
    assert row.InstanceState == "RUNNING"
    # a stopped instance stays stopped
    call(c, "StopInstances", {"InstanceIds": [src]})
    wait_state(c, [src], "STOPPED")
    img2 = create_and_wait(c, InstanceId=src, ImageName="stopped", ForcePoweroff="true")
    assert img2.ImageState == "NORMAL"
    assert wait_operation(c, src).InstanceState == "STOPPED"
    # Windows: Sysprep on a running instance needs ForcePoweroff
    (win,) = launch(c, image_id=public_image(c, "Windows Server 2022"), name="win")
    count = len(custom_images(c))
    assert error_code(create_image, c, InstanceId=win, ImageName="w", Sysprep="true") == \
        "InvalidInstance.NotSupported"  # CreateImage documents no InstanceStateRunning
    assert len(custom_images(c)) == count
    img3 = create_and_wait(c, InstanceId=win, ImageName="w", Sysprep="true", ForcePoweroff="true")
    assert img3.ImageState == "NORMAL" and img3.Platform == "Windows"


def test_refused_create_image_calls_change_nothing(make_server):
    srv = make_server(extra_env={"LOCALCVM_IMAGE_QUOTA": "3"})
    acct, client_for = new_account(srv, "ci-refuse")
    other, other_for = new_account(srv, "ci-other")
    c, o = client_for(), other_for()
    cb = cbs(srv, acct["SecretId"], acct["SecretKey"])
    (src,) = launch(c, data_disks=[10])
    (foreign,) = launch(o, name="foreign")
    (foreign_disk,) = disk_ids(o, foreign)  # another account's disk is no data disk of `src`
    create_and_wait(c, InstanceId=src, ImageName="taken")

    def state():
        return (sorted((i.ImageId, i.ImageState) for i in custom_images(c)), sorted(s["SnapshotId"] for s in snapshots(cb)),
                call(c, "DescribeImageQuota", {}).ImageNumQuota)

    before = state()
    refused = [
        ("InvalidImageName.Duplicate", dict(InstanceId=src, ImageName="taken")),
        ("InvalidInstanceId.NotFound", dict(InstanceId=foreign, ImageName="theirs")),
        # CreateImage documents no InvalidInstanceId.Malformed
        ("InvalidInstanceId.NotFound", dict(InstanceId="i-123", ImageName="bad-id")),
        ("InvalidParameter", dict(InstanceId=src, SnapshotIds=["snap-12345678"], ImageName="both")),
        ("MissingParameter", dict(ImageName="neither")),
        ("InvalidParameter.DataDiskNotBelongSpecifiedInstance",
         dict(InstanceId=src, ImageName="not-its-disk", DataDiskIds=[foreign_disk])),
        ("InvalidParameter.SnapshotNotFound", dict(SnapshotIds=["snap-12345678"], ImageName="no-snap")),
        # CreateImage documents no SnapshotIdMalformed: a malformed ID names no snapshot
        ("InvalidParameter.SnapshotNotFound", dict(SnapshotIds=["snapshot-1"], ImageName="bad-snap")),
        ("DryRunOperation", dict(InstanceId=src, ImageName="dry", DryRun=True)),
    ]
    for code, body in refused:
        assert error_code(create_image, c, **body) == code, (code, body)
    assert state() == before
    # quota: 3 images in the region, in every state but deleted
    create_and_wait(c, InstanceId=src, ImageName="second")
    create_and_wait(c, InstanceId=src, ImageName="third")
    before = state()
    assert error_code(create_image, c, InstanceId=src, ImageName="fourth") == "ImageQuotaLimitExceeded"
    assert state() == before


def test_create_image_of_an_instance_still_launching_is_refused(make_server):
    srv = make_server(extra_env={"LOCALCVM_WORKERS": "0"})  # no workers: the launch stays PENDING
    acct, client_for = new_account(srv, "ci-pending")
    c = client_for()
    (src,) = launch(c, wait=False)
    assert instance(c, src).InstanceState == "PENDING"
    assert error_code(create_image, c, InstanceId=src, ImageName="early") == \
        "OperationDenied.InstanceOperationInProgress"  # CreateImage documents no InstanceStatePending
    assert custom_images(c) == []
    assert snapshots(cbs(srv, acct["SecretId"], acct["SecretKey"])) == []


def test_capture_of_a_blank_data_disk_and_a_disk_whose_image_is_gone(server, tmp_path):
    """Without a base manifest (blank disk; base image deleted) the whole data is read, and still right."""
    _acct, client_for = new_account(server, "ci-nobase")
    c = client_for()
    (src,) = launch(c)
    (system,) = disk_ids(c, src)
    payload = os.urandom(MiB)
    write_bytes(server, system, 5 * MiB, payload, tmp_path)
    first = create_and_wait(c, InstanceId=src, ImageName="gen1")
    (gen1,) = launch(c, image_id=first.ImageId, name="gen1", data_disks=[10])
    g_system, g_data = disk_ids(c, gen1)
    write_bytes(server, g_data, 9 * MiB, payload, tmp_path)
    call(c, "DeleteImages", {"ImageIds": [first.ImageId]})  # gen1's base image is gone; its base file stays
    assert disk_file(server, g_system).exists()
    second = create_and_wait(c, InstanceId=gen1, ImageName="gen2", DataDiskIds=[g_data])
    assert second.ImageState == "NORMAL"
    (gen2,) = launch(c, image_id=second.ImageId, name="gen2")
    n_system, n_data = disk_ids(c, gen2)
    assert read_bytes(server, n_system, 5 * MiB, MiB, tmp_path) == payload
    assert read_bytes(server, n_data, 9 * MiB, MiB, tmp_path) == payload
    assert same_disk_contents(server, system, n_system)


def test_time_scale_keeps_the_image_creating_then_a_copy_runs_in_another_region(make_server, tmp_path):
    """--time-scale stretches CreateImage (CREATING is observable); the captured image, data disk
    included, copies to another region (SyncImages) and starts there with the same bytes."""
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.002"})  # a capture takes 0.36-1.2 s
    _acct, client_for = new_account(srv, "ci-scale")
    c = client_for()
    (src,) = launch(c, data_disks=[10])
    system, data = disk_ids(c, src)
    payload = os.urandom(2 * MiB)
    write_bytes(srv, system, 40 * MiB, payload, tmp_path)
    write_bytes(srv, data, MiB, payload, tmp_path)
    image_id = create_image(c, InstanceId=src, ImageName="scaled", DataDiskIds=[data])
    seen = set()

    def done():
        state = image_of(c, image_id).ImageState
        seen.add(state)
        return state if state != "CREATING" else None

    assert wait_until(done, timeout=60, interval=0.05, what="the capture") == "NORMAL"
    assert "CREATING" in seen
    copy_id = call(c, "SyncImages", {"ImageIds": [image_id], "DestinationRegions": ["ap-shanghai"],
                                     "ImageSetRequired": True}).ImageSet[0].ImageId
    sh = client_for("ap-shanghai")
    copy = wait_image(sh, copy_id, states=("NORMAL", "CREATEFAILED"), timeout=120)
    assert copy.ImageState == "NORMAL" and copy.ImageName == "scaled"
    assert [s.DiskUsage for s in copy.SnapshotSet] == ["SYSTEM_DISK", "DATA_DISK"]
    ids = call(sh, "RunInstances", {"ImageId": copy_id, "InstanceType": "S5.MEDIUM4",
                                    "Placement": {"Zone": "ap-shanghai-2"}}).InstanceIdSet
    wait_state(sh, ids, "RUNNING")
    got = instance(sh, ids[0])
    disks = [got.SystemDisk.DiskId] + [d.DiskId for d in got.DataDisks]
    for disk_id, offset in zip(disks, (40 * MiB, MiB)):
        raw = tmp_path / f"{disk_id}.raw"
        path = srv.data_dir / "disks" / "ap-shanghai" / f"{disk_id}.qcow2"
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(raw)], check=True)
        with open(raw, "rb") as fh:
            fh.seek(offset)
            assert fh.read(len(payload)) == payload
        raw.unlink()
