"""Defects an outside fuzz run found in the services (issue 16), reproduced over the SDK."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.helpers import wait_until

from .instances_util import call, public_image, wait_state
from .share_util import accounts, client, code_of, custom_image, zone_of


def _export(c, bucket: str, image_ids: list[str], **extra):
    return call(c, "ExportImages", {"BucketName": bucket, "ImageIds": image_ids, **extra})


def _export_jobs(server, image_id: str) -> list[dict]:
    import json

    report = json.loads(server.cli("images", "show", image_id).stdout)
    return [j for j in report["Jobs"] if j["Kind"] == "export_image"]


def test_concurrent_exports_of_one_image_all_complete(server, files, tmp_path):
    (a,) = accounts(server, 1, "exp")
    ca = client(server, a)
    image_id = custom_image(ca, files, tmp_path, "exported")
    bucket = f"exp-{uuid.uuid4().hex[:8]}"
    # one image named four times in one call is exported once
    got = _export(ca, bucket, [image_id] * 4)
    assert len(got.CosPaths) == 1
    errors: list[BaseException] = []

    def export() -> None:
        try:
            _export(ca, bucket, [image_id] * 4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=export) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    wait_until(lambda: all(j["State"] in ("SUCCEEDED", "FAILED") for j in _export_jobs(server, image_id)),
               timeout=180, what="every export job ended")
    jobs = _export_jobs(server, image_id)
    assert len(jobs) == 9 and all(j["State"] == "SUCCEEDED" for j in jobs), jobs
    out = server.data_dir / "cos" / bucket
    assert [p.name for p in out.iterdir()] == list(got.CosPaths)  # no temporary file left behind


def test_an_export_bucket_belongs_to_one_account(server, files, tmp_path):
    a, b = accounts(server, 2, "bucket")
    ca, cb = client(server, a), client(server, b)
    image_a = custom_image(ca, files, tmp_path, "mine")
    image_b = custom_image(cb, files, tmp_path, "theirs")
    bucket = f"owned-{uuid.uuid4().hex[:8]}"
    _export(ca, bucket, [image_a])
    assert code_of(lambda: _export(cb, bucket, [image_b])) == "InvalidParameterValue.InvalidBucketPermissionForExport"
    # a name carrying another account's AppId is that account's bucket
    assert code_of(lambda: _export(cb, f"x-{a['AppId']}", [image_b])) \
        == "InvalidParameterValue.InvalidBucketPermissionForExport"
    # a refused call creates nothing
    fresh = f"fresh-{uuid.uuid4().hex[:8]}"
    assert code_of(lambda: _export(cb, fresh, ["img-00000000"])) == "InvalidImageId.NotFound"
    assert not (server.data_dir / "cos" / fresh).exists()
    _export(cb, fresh, [image_b])  # and the bucket is still free for whoever exports to it first
    assert code_of(lambda: _export(ca, fresh, [image_a])) == "InvalidParameterValue.InvalidBucketPermissionForExport"


@pytest.mark.parametrize("action,body", [
    ("StartInstances", {"InstanceIds": []}),
    ("StopInstances", {"InstanceIds": []}),
    ("RebootInstances", {"InstanceIds": []}),
    ("TerminateInstances", {"InstanceIds": []}),
    ("DeleteKeyPairs", {"KeyIds": []}),
])
def test_empty_id_lists_are_refused(server, action, body):
    (a,) = accounts(server, 1, "empty")
    assert code_of(lambda: call(client(server, a), action, body)) == "MissingParameter"


@pytest.mark.parametrize("action,body", [("TerminateDisks", {"DiskIds": []}), ("DeleteSnapshots", {"SnapshotIds": []})])
def test_empty_cbs_id_lists_are_refused(server, action, body):
    from . import sdk

    (a,) = accounts(server, 1, "empty")
    cbs = sdk.common(server, "cbs", secret_id=a["SecretId"], secret_key=a["SecretKey"])
    with pytest.raises(Exception) as err:
        cbs.call_json(action, body)
    assert getattr(err.value, "code", None) == "MissingParameter"


def test_names_are_bounded_and_printable(server, files, tmp_path):
    from . import sdk

    (a,) = accounts(server, 1, "names")
    ca = client(server, a)
    cbs = sdk.common(server, "cbs", secret_id=a["SecretId"], secret_key=a["SecretKey"])
    zone = zone_of(ca)

    def cbs_code(action, body):
        try:
            cbs.call_json(action, body)
        except Exception as exc:  # noqa: BLE001 - the SDK's exception carries the code
            return getattr(exc, "code", repr(exc))
        raise AssertionError(f"{action} succeeded")

    disk = {"Placement": {"Zone": zone}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 20, "DiskChargeType": "POSTPAID_BY_HOUR"}
    assert cbs_code("CreateDisks", {**disk, "DiskName": "d" * 61}) == "InvalidParameterValue"
    assert cbs_code("CreateDisks", {**disk, "DiskName": "bad\nname"}) == "InvalidParameterValue"
    tagged = {**disk, "DiskName": "ok", "Tags": [{"Key": "k" * 128, "Value": "v"}]}
    assert cbs_code("CreateDisks", tagged) == "InvalidParameterValue"
    disk_id = cbs.call_json("CreateDisks", {**disk, "DiskName": "d" * 60})["Response"]["DiskIdSet"][0]
    assert cbs_code("CreateSnapshot", {"DiskId": disk_id, "SnapshotName": "s" * 61}) == "InvalidParameterValue"
    for bad in ("\u0000", "a\r\nb"):
        assert code_of(lambda bad=bad: call(ca, "ImportImage", {
            "ImageUrl": files.url("none.raw"), "ImageName": bad, "OsType": "CentOS", "OsVersion": "7",
            "Architecture": "x86_64"})) == "InvalidParameterValue"
    # nothing was made by the refused calls
    disks = cbs.call_json("DescribeDisks", {})["Response"]["DiskSet"]
    assert [d["DiskId"] for d in disks] == [disk_id]


def test_negative_paging_is_refused(server):
    (a,) = accounts(server, 1, "paging")
    ca = client(server, a)
    for action in ("DescribeInstances", "DescribeKeyPairs", "DescribeImages"):
        assert code_of(lambda action=action: call(ca, action, {"Offset": -1})).startswith("InvalidParameterValue")
        assert code_of(lambda action=action: call(ca, action, {"Limit": -1})).startswith("InvalidParameterValue")


def test_large_project_ids_are_stored_or_refused_never_internal_error(server):
    (a,) = accounts(server, 1, "proj")
    ca = client(server, a)
    zone, image = zone_of(ca), public_image(ca)
    big = 2**40  # beyond a 32-bit column, within the API's int64
    ids = call(ca, "RunInstances", {"Placement": {"Zone": zone, "ProjectId": big}, "ImageId": image,
                                    "InstanceType": "S5.MEDIUM4", "LoginSettings": {"Password": "Passw0rd!x"}}).InstanceIdSet
    wait_state(ca, ids, "RUNNING", timeout=60)
    got = call(ca, "DescribeInstances", {"InstanceIds": ids}).InstanceSet[0]
    assert got.Placement.ProjectId == big
    key = call(ca, "CreateKeyPair", {"KeyName": f"k{int(time.time())}", "ProjectId": big}).KeyPair
    assert key.ProjectId == big
