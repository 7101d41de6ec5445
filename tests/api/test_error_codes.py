"""The error code each action documents, for the situations an audit found answered otherwise.

Each case provokes the situation over HTTP with the official SDK and asserts the code the action's
documentation lists (data/error_codes.json, from the SDKs). The servers run in strict error mode,
so an undocumented code would come back as InternalError.
"""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from tencentcloud.cbs.v20170312 import cbs_client
from tencentcloud.cbs.v20170312 import models as cbs_models
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from . import sdk
from .create_image_util import disk_ids, launch
from .images_util import import_params, new_account, wait_image
from .instances_util import call, public_image, wait_state
from tests.helpers import wait_until

ZONE = "ap-guangzhou-3"


def code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def cbs_call(client, action: str, body: dict):
    req = getattr(cbs_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


@pytest.fixture
def account(server):
    """(account, its CVM client, its CBS client): a fresh account per test."""
    created, client_for = new_account(server, f"ec-{uuid.uuid4().hex[:8]}")
    cbs = cbs_client.CbsClient(sdk.cred(server, created["SecretId"], created["SecretKey"]), "ap-guangzhou",
                               sdk.profile(server))
    return created, client_for(), cbs


def test_unknown_region_is_unsupported_region_except_where_invalid_region_not_found_is_documented(server):
    atlantis = sdk.common(server, region="ap-atlantis")
    assert code(lambda: atlantis.call_json("DescribeInstances", {})) == "UnsupportedRegion"
    assert code(lambda: atlantis.call_json("RunInstances", {"ImageId": "img-12345678"})) == "UnsupportedRegion"
    assert code(lambda: sdk.common(server, "cbs", region="ap-atlantis").call_json("DescribeDisks", {})) == \
        "UnsupportedRegion"
    # DescribeImages, DescribeImportImageOs, DescribeZoneInstanceConfigInfos, SyncImages document it
    assert code(lambda: atlantis.call_json("DescribeImages", {})) == "InvalidRegion.NotFound"
    assert code(lambda: atlantis.call_json("DescribeZoneInstanceConfigInfos", {})) == "InvalidRegion.NotFound"


def test_key_pairs_at_launch_and_reinstall(account):
    _, c, _ = account
    run = {"Placement": {"Zone": ZONE}, "ImageId": public_image(c)}
    windows = public_image(c, "Windows Server 2022")
    key = call(c, "CreateKeyPair", {"KeyName": f"k{uuid.uuid4().hex[:6]}", "ProjectId": 0}).KeyPair.KeyId
    (ins,) = launch(c)
    cases = {
        "RunInstances": lambda login, image: call(c, "RunInstances", {**run, "ImageId": image, "LoginSettings": login}),
        "ResetInstance": lambda login, image: call(c, "ResetInstance", {"InstanceId": ins, "ImageId": image,
                                                                       "LoginSettings": login}),
    }
    for action, attempt in cases.items():
        assert code(lambda: attempt({"KeyIds": [key]}, windows)) == "UnsupportedOperation.KeyPairUnsupportedWindows", action
        assert code(lambda: attempt({"KeyIds": ["skey-zzzzzzzz"]}, run["ImageId"])) == \
            "InvalidParameterValue.KeyPairNotFound", action
        assert code(lambda: attempt({"KeyIds": ["key-1"]}, run["ImageId"])) == "InvalidKeyPairId.Malformed", action


def test_key_pair_names_answer_each_actions_documented_code(account):
    _, c, _ = account
    key = call(c, "CreateKeyPair", {"KeyName": "named_ok", "ProjectId": 0}).KeyPair.KeyId
    bad = {"img-vyk43nrm": "InvalidKeyPairNameIncludeIllegalChar", "k" * 26: "InvalidKeyPairNameTooLong",
           "": "InvalidKeyPairNameEmpty"}
    for name, specific in bad.items():
        assert code(lambda: call(c, "CreateKeyPair", {"KeyName": name, "ProjectId": 0})) == specific, name
        # ModifyKeyPairAttribute documents none of the name codes: InvalidParameterValue
        assert code(lambda: call(c, "ModifyKeyPairAttribute", {"KeyId": key, "KeyName": name})) == \
            "InvalidParameterValue", name
    assert call(c, "DescribeKeyPairs", {"KeyIds": [key]}).KeyPairSet[0].KeyName == "named_ok"


def test_run_instances_snapshot_sold_out_and_describe_limits(account):
    _, c, _ = account
    run = {"Placement": {"Zone": ZONE}, "ImageId": public_image(c)}
    assert code(lambda: call(c, "RunInstances", {**run, "DataDisks": [
        {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50, "SnapshotId": "snap-zzzzzzzz"}]})) == "InvalidParameter.SnapshotNotFound"
    # GN7 (x86, GPU) is sold in ap-guangzhou-3 and -4 only
    assert code(lambda: call(c, "RunInstances", {**run, "Placement": {"Zone": "ap-guangzhou-6"},
                                                 "InstanceType": "GN7.2XLARGE32"})) == "ResourcesSoldOut.SpecifiedInstanceType"
    for action in ("DescribeInstances", "DescribeImages", "DescribeKeyPairs"):
        assert code(lambda: call(c, action, {"Limit": 101})) == "InvalidParameterValue.LimitExceeded", action
    assert code(lambda: call(c, "DescribeInstances", {"Filters": [
        {"Name": "creation-start-time", "Values": ["yesterday"]}]})) == "InvalidParameterValue.InvalidTimeFormat"


def test_create_image_disks_and_malformed_instance_ids(account):
    _, c, cbs = account
    (src,) = launch(c, data_disks=(20,))
    (other,) = launch(c, data_disks=(20,), name="other")
    system, data = disk_ids(c, src)[0], disk_ids(c, src)[1]
    foreign = disk_ids(c, other)[1]
    assert code(lambda: call(c, "CreateImage", {"InstanceId": src, "ImageName": "sys", "DataDiskIds": [system]})) == \
        "InvalidParameter.DataDiskIdContainsRootDisk"
    assert code(lambda: call(c, "CreateImage", {"InstanceId": src, "ImageName": "foreign", "DataDiskIds": [foreign]})) == \
        "InvalidParameter.DataDiskNotBelongSpecifiedInstance"
    # CreateImage and AttachDisks document no InvalidInstanceId.Malformed
    assert code(lambda: call(c, "CreateImage", {"InstanceId": "i-123", "ImageName": "bad"})) == "InvalidInstanceId.NotFound"
    assert code(lambda: cbs_call(cbs, "AttachDisks", {"InstanceId": "i-123", "DiskIds": [data]})) == \
        "InvalidInstanceId.NotFound"
    # AttachDisks of an attached disk
    assert code(lambda: cbs_call(cbs, "AttachDisks", {"InstanceId": other, "DiskIds": [data]})) == \
        "ResourceUnavailable.Attached"


def test_resize_instance_disks(account):
    _, c, _ = account
    (src,) = launch(c, data_disks=(20,))
    (other,) = launch(c, data_disks=(20,), name="other")
    foreign = disk_ids(c, other)[1]
    assert code(lambda: call(c, "ResizeInstanceDisks", {"InstanceId": src, "ForceStop": True,
                                                         "DataDisks": [{"DiskId": foreign, "DiskSize": 40}]})) == \
        "UnsupportedOperation.InvalidDataDisk"
    assert code(lambda: call(c, "ResizeInstanceDisks", {"InstanceId": src, "ForceStop": True})) == \
        "MissingParameter.AtLeastOne"


def test_public_and_marketplace_images_where_a_custom_one_is_needed(account):
    _, c, _ = account
    public = public_image(c)
    market = call(c, "DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["MARKET_IMAGE"]}]}).ImageSet[0].ImageId
    assert code(lambda: call(c, "DeleteImages", {"ImageIds": [public]})) == "InvalidParameterValue.InvalidImageId"
    assert code(lambda: call(c, "SyncImages", {"ImageIds": [public], "DestinationRegions": ["ap-shanghai"]})) == \
        "InvalidParameterValue.InvalidImageId"
    assert code(lambda: call(c, "ModifyImageAttribute", {"ImageId": public, "ImageName": "mine"})) == \
        "InvalidImageId.NotFound"
    assert code(lambda: call(c, "ExportImages", {"BucketName": "exports", "ImageIds": [market]})) == \
        "UnsupportedOperation.MarketImageExportUnsupported"
    assert code(lambda: call(c, "ExportImages", {"BucketName": "exports", "ImageIds": [public]})) == \
        "UnsupportedOperation.PublicImageExportUnsupported"


def test_import_image_parameters(account):
    _, c, _ = account
    url = "http://127.0.0.1:9/disk.raw"
    assert code(lambda: call(c, "ImportImage", import_params(url, "boot", BootMode="Coreboot"))) == \
        "InvalidParameterValue.InvalidBootMode"
    assert code(lambda: call(c, "ImportImage", import_params(url, "lic", LicenseType="GPL"))) == \
        "InvalidParameterValue.InvalidLicenseType"
    assert code(lambda: call(c, "ImportImage", import_params("ftp://127.0.0.1/x.raw", "url"))) == \
        "InvalidParameter.InvalidParameterUrlError"


def test_cbs_codes(account):
    _, c, cbs = account
    (src,) = launch(c, data_disks=(20,))
    data = disk_ids(c, src)[1]
    snap = cbs_call(cbs, "CreateSnapshot", {"DiskId": data}).SnapshotId
    wait_until(lambda: cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState == "NORMAL",
               timeout=60, what="the snapshot")
    assert code(lambda: cbs_call(cbs, "CreateDisks", {
        "Placement": {"Zone": ZONE}, "DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_PREMIUM",
        "DiskSize": 10, "SnapshotId": snap})) == "InvalidParameter.DiskConfigNotSupported"
    # TerminateDisks documents no Attached code: the common ResourceInUse
    assert code(lambda: cbs_call(cbs, "TerminateDisks", {"DiskIds": [data]})) == "ResourceInUse"


def test_images_not_normal_and_instances_pending(make_server):
    srv = make_server(extra_env={"LOCALCVM_WORKERS": "0"})  # no workers: imports and launches stay put
    _, client_for = new_account(srv, "ec-pending")
    c = client_for()
    image = call(c, "ImportImage", import_params("http://127.0.0.1:9/disk.raw", "pending")).ImageId
    assert wait_image(c, image, states=("IMPORTING",)).ImageState == "IMPORTING"
    (ins,) = launch(c, wait=False)
    for action, body in {
        "RunInstances": {"Placement": {"Zone": ZONE}, "ImageId": image},
        "ResetInstance": {"InstanceId": ins, "ImageId": image},
        "ExportImages": {"BucketName": "exports", "ImageIds": [image]},
        "ModifyImageSharePermission": {"ImageId": image, "AccountIds": ["100000000001"], "Permission": "SHARE"},
    }.items():
        assert code(lambda: call(c, action, body)) == "InvalidParameterValue.InvalidImageState", action
    # the image actions that document InvalidImageId.IncorrectState keep it
    assert code(lambda: call(c, "DeleteImages", {"ImageIds": [image]})) == "InvalidImageId.IncorrectState"
    # ModifyInstancesAttribute documents UnsupportedOperation.InstanceStatePending
    assert code(lambda: call(c, "ModifyInstancesAttribute", {"InstanceIds": [ins], "InstanceName": "x"})) == \
        "UnsupportedOperation.InstanceStatePending"
    cbs = sdk.cbs(srv, secret_id=c.credential.secretId, secret_key=c.credential.secretKey)
    disk = cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": ZONE}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                         "DiskType": "CLOUD_PREMIUM", "DiskSize": 10}).DiskIdSet[0]
    # AttachDisks to an instance still PENDING: cbs documents no InstanceState codes, but ResourceBusy
    got = code(lambda: cbs_call(cbs, "AttachDisks", {"InstanceId": ins, "DiskIds": [disk]}))
    assert got == "ResourceBusy", got
    # DeleteSnapshots of a snapshot still being taken (no worker takes it): ResourceUnavailable.SnapshotCreating
    snap = cbs_call(cbs, "CreateSnapshot", {"DiskId": disk}).SnapshotId
    assert cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState == "CREATING"
    assert code(lambda: cbs_call(cbs, "DeleteSnapshots", {"SnapshotIds": [snap]})) == "ResourceUnavailable.SnapshotCreating"


def _set_disk_state(srv, disk_id: str, state: str) -> None:
    """What a ResizeDisk in flight leaves between its two transactions (its window is too short to hit)."""
    url = srv.database_url.replace("postgresql://", "postgresql+psycopg://", 1) if srv.database_url else \
        f"sqlite:///{srv.data_dir / 'localcvm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("UPDATE disks SET state = :s WHERE disk_id = :d"),
                            {"s": state, "d": disk_id}).rowcount == 1
    engine.dispose()


def test_create_image_of_a_disk_in_transition(make_server):
    """CreateImage documents ResourceInUse for a data disk that is not plainly attached."""
    srv = make_server()
    created, client_for = new_account(srv, "ec-busy-disk")
    c = client_for()
    (ins,) = launch(c, data_disks=(20,))
    data = disk_ids(c, ins)[1]
    cbs = sdk.cbs(srv, secret_id=created["SecretId"], secret_key=created["SecretKey"])
    _set_disk_state(srv, data, "EXPANDING")
    assert code(lambda: call(c, "CreateImage", {"InstanceId": ins, "ImageName": "busy", "DataDiskIds": [data]})) == \
        "ResourceInUse"
    _set_disk_state(srv, data, "ATTACHED")
    snap = cbs_call(cbs, "CreateSnapshot", {"DiskId": data}).SnapshotId
    wait_until(lambda: cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap]}).SnapshotSet[0].SnapshotState == "NORMAL",
               timeout=60, what="the snapshot")
    call(c, "StopInstances", {"InstanceIds": [ins]})
    wait_state(c, [ins], "STOPPED")
    srv.extra_env["LOCALCVM_WORKERS"] = "0"  # the rollback is queued and stays so
    srv.restart()
    c, cbs = client_for(), sdk.cbs(srv, secret_id=created["SecretId"], secret_key=created["SecretKey"])
    cbs_call(cbs, "ApplySnapshot", {"DiskId": data, "SnapshotId": snap})
    assert cbs_call(cbs, "DescribeDisks", {"DiskIds": [data]}).DiskSet[0].DiskState == "ROLLBACKING"
    # a rollback holds the instance's operation too: that answer comes first, as for any operation in progress
    assert code(lambda: call(c, "CreateImage", {"InstanceId": ins, "ImageName": "busy", "DataDiskIds": [data]})) == \
        "OperationDenied.InstanceOperationInProgress"


def test_too_many_filter_values_answer_each_products_code(account, server):
    """cvm documents InvalidFilterValue.LimitExceeded, vpc InvalidParameterValue.LimitExceeded (a fuzzed
    DescribeSecurityGroupPolicies found vpc answering the cvm code)."""
    from .vpc_util import vcall, vpc_for

    created, c, _cbs = account
    six = {"Filters": [{"Name": "instance-name", "Values": [f"n{i}" for i in range(6)]}]}
    assert code(lambda: call(c, "DescribeInstances", six)) == "InvalidFilterValue.LimitExceeded"
    vpc = vpc_for(server, created)
    assert code(lambda: vcall(vpc, "DescribeSecurityGroups", {"Filters": [
        {"Name": "security-group-name", "Values": [f"g{i}" for i in range(6)]}]})) == \
        "InvalidParameterValue.LimitExceeded"
