"""ImportImage with ImportImageDataDiskList: a whole-machine image from a system disk and data disks.

The imported image carries its data disks as a captured one does (DescribeImages' SnapshotSet), and
an instance launched from it gets one data disk per imported disk, with the imported bytes.
"""

from __future__ import annotations

import signal
import uuid

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from .create_image_util import disk_file, disk_ids
from .images_util import convert, describe, image_of, import_image, make_raw, new_account, same_disk, wait_image, wait_scratch_cleared
from .instances_util import call, wait_state
from .share_util import code_of

ZONE = "ap-guangzhou-3"


def _serve(files, tmp_path, seed: int, size_mib: int, fmt: str):
    """A disk of known bytes in ``fmt`` on the file server: (its URL, the raw original)."""
    raw = make_raw(tmp_path / f"d{seed}.raw", size_mib, seed=seed)
    served = raw if fmt == "raw" else convert(raw, tmp_path / f"d{seed}.{fmt}", fmt)
    name = f"{uuid.uuid4().hex[:6]}-{served.name}"
    files.add(name, served)
    return name, raw


def test_import_with_data_disks_launches_with_them(server, files, tmp_path):
    _, client_for = new_account(server, f"idd-{uuid.uuid4().hex[:6]}")
    c = client_for()
    system, sys_raw = _serve(files, tmp_path, 1, 24, "raw")
    data1, raw1 = _serve(files, tmp_path, 2, 12, "qcow2")
    data2, raw2 = _serve(files, tmp_path, 3, 16, "vmdk")
    image_id = import_image(c, files.url(system), "whole-machine", ImportImageDataDiskList=[
        {"ImageUrl": files.url(data1)}, {"ImageUrl": files.url(data2)}])
    img = wait_image(c, image_id)
    assert img.ImageState == "NORMAL", img
    usage = [(s.DiskUsage, s.DiskSize) for s in img.SnapshotSet]
    assert usage == [("SYSTEM_DISK", 1), ("DATA_DISK", 1), ("DATA_DISK", 1)], usage
    ins = call(c, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image_id,
                                   "InstanceType": "S5.MEDIUM4"}).InstanceIdSet[0]
    wait_state(c, [ins], "RUNNING")
    got = call(c, "DescribeInstances", {"InstanceIds": [ins]}).InstanceSet[0]
    # a data disk below the type's 10 GB minimum is launched at the minimum
    assert [(d.DiskType, d.DiskSize) for d in got.DataDisks] == [("CLOUD_PREMIUM", 10), ("CLOUD_PREMIUM", 10)]
    system_disk, d1, d2 = disk_ids(c, ins)
    assert same_disk(sys_raw, "raw", disk_file(server, system_disk), "qcow2")
    assert same_disk(raw1, "raw", disk_file(server, d1), "qcow2")
    assert same_disk(raw2, "raw", disk_file(server, d2), "qcow2")
    assert not same_disk(raw1, "raw", disk_file(server, d2), "qcow2")  # the order is the list's


def test_bad_data_disk_urls_are_refused_and_create_nothing(server, files):
    _, client_for = new_account(server, f"idd-{uuid.uuid4().hex[:6]}")
    c = client_for()
    url = files.url("whatever.raw")
    for bad in ("ftp://127.0.0.1/x.raw", "http://user:pw@127.0.0.1/x.raw", "not a url"):
        try:
            import_image(c, url, "bad", ImportImageDataDiskList=[{"ImageUrl": url}, {"ImageUrl": bad}])
        except TencentCloudSDKException as exc:
            assert exc.code == "InvalidParameter.InvalidParameterUrlError", exc
            assert "ImportImageDataDiskList.1.ImageUrl" in exc.message, exc.message
        else:
            raise AssertionError(f"{bad} was accepted")
    too_many = [{"ImageUrl": url}] * 21
    assert code_of(lambda: import_image(c, url, "many", ImportImageDataDiskList=too_many)) == "InvalidParameterValue"
    assert describe(c, filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 0


def test_a_missing_data_disk_fails_the_import(server, files, tmp_path):
    _, client_for = new_account(server, f"idd-{uuid.uuid4().hex[:6]}")
    c = client_for()
    system, _ = _serve(files, tmp_path, 4, 8, "raw")
    image_id = import_image(c, files.url(system), "half", ImportImageDataDiskList=[
        {"ImageUrl": files.url("no-such-disk.qcow2")}])
    assert wait_image(c, image_id).ImageState == "IMPORTFAILED"
    # a failed image is deletable and frees its quota slot
    call(c, "DeleteImages", {"ImageIds": [image_id]})
    assert image_of(c, image_id) is None


def test_import_with_data_disks_survives_kill_9(make_server, files, tmp_path):
    srv = make_server()
    _, client_for = new_account(srv, "idd-crash")
    c = client_for()
    system, sys_raw = _serve(files, tmp_path, 5, 16, "raw")
    data, data_raw = _serve(files, tmp_path, 6, 48, "raw")
    image_id = import_image(c, files.url(system), "crashy", ImportImageDataDiskList=[
        {"ImageUrl": files.url(data, "slow")}])
    # the system disk is done (half the progress) and the data disk's download is under way
    wait_until(lambda: (image_of(c, image_id).SyncPercent or 0) >= 55, timeout=60, what="import progress")
    srv.stop(signal.SIGKILL)
    srv.start()
    assert wait_image(c, image_id, timeout=120).ImageState == "NORMAL"
    ins = call(c, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image_id}).InstanceIdSet[0]
    wait_state(c, [ins], "RUNNING")
    system_disk, data_disk = disk_ids(c, ins)
    assert same_disk(sys_raw, "raw", disk_file(srv, system_disk), "qcow2")
    assert same_disk(data_raw, "raw", disk_file(srv, data_disk), "qcow2")
    wait_scratch_cleared(srv)
