"""Issue 5: instances, disks, snapshots and key pairs on the fake driver."""

from __future__ import annotations

import json
import uuid

import pytest
from tencentcloud.cbs.v20170312 import cbs_client
from tencentcloud.cbs.v20170312 import models as cbs_models
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from . import sdk
from .images_util import new_account
from .instances_util import call, instance, public_image, states, wait_operation, wait_state


def _code(fn) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value


def _cbs(server, created, region="ap-guangzhou"):
    return cbs_client.CbsClient(sdk.cred(server, created["SecretId"], created["SecretKey"]), region, sdk.profile(server))


def _cbs_call(client, action, body):
    req = getattr(cbs_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


@pytest.fixture
def account(server):
    created, client_for = new_account(server, f"ins-{uuid.uuid4().hex[:8]}")
    return created, client_for


def test_cloud_script_end_to_end(server, account):
    """Written as for the real cloud: key pair, 3 instances with a data disk, life cycle, snapshot, terminate."""
    created, client_for = account
    c = client_for()
    key = call(c, "CreateKeyPair", {"KeyName": "ci_key", "ProjectId": 0}).KeyPair
    assert key.KeyId.startswith("skey-") and "PRIVATE KEY" in key.PrivateKey and key.PublicKey.startswith("ssh-")
    image_id = public_image(c)
    run = call(c, "RunInstances", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id, "InstanceType": "S5.MEDIUM4",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
        "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 100}],
        "InstanceCount": 3, "InstanceName": "web", "LoginSettings": {"KeyIds": [key.KeyId]},
        "TagSpecification": [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "ci"}]}],
    })
    ids = run.InstanceIdSet
    assert len(ids) == 3 and all(i.startswith("ins-") for i in ids)
    wait_state(c, ids, "RUNNING")
    got = call(c, "DescribeInstances", {"InstanceIds": ids}).InstanceSet
    assert sorted(i.InstanceName for i in got) == ["web1", "web2", "web3"]
    for i in got:
        assert i.InstanceType == "S5.MEDIUM4" and i.CPU == 2 and i.Memory == 4
        assert i.Placement.Zone == "ap-guangzhou-3" and i.ImageId == image_id
        assert i.SystemDisk.DiskSize == 50 and i.SystemDisk.DiskType == "CLOUD_PREMIUM"
        assert len(i.DataDisks) == 1 and i.DataDisks[0].DiskSize == 100
        assert i.LoginSettings.KeyIds == [key.KeyId]
        assert i.LatestOperation == "RunInstances" and i.LatestOperationState == "SUCCESS"
        assert [(t.Key, t.Value) for t in i.Tags] == [("team", "ci")]
        assert i.PrivateIpAddresses and i.Uuid
    assert call(c, "DescribeInstances", {"Filters": [{"Name": "tag:team", "Values": ["ci"]}]}).TotalCount == 3
    # the disks are real qcow2 overlays over the image's base
    disk_files = list((server.data_dir / "disks" / "ap-guangzhou").glob("*.qcow2"))
    assert {f.stem for f in disk_files} >= {got[0].SystemDisk.DiskId, got[0].DataDisks[0].DiskId}

    one = ids[0]
    call(c, "StopInstances", {"InstanceIds": [one]})
    assert states(c, [one])[one] in ("STOPPING", "STOPPED")
    wait_state(c, [one], "STOPPED")
    call(c, "StartInstances", {"InstanceIds": [one]})
    wait_state(c, [one], "RUNNING")
    call(c, "RebootInstances", {"InstanceIds": [one]})
    wait_operation(c, one)
    assert instance(c, one).LatestOperation == "RebootInstances"
    wait_state(c, [one], "RUNNING")
    # resize the data disk (stopped)
    call(c, "StopInstances", {"InstanceIds": [one]})
    wait_state(c, [one], "STOPPED")
    data_disk = instance(c, one).DataDisks[0].DiskId
    call(c, "ResizeInstanceDisks", {"InstanceId": one, "DataDisks": [{"DiskId": data_disk, "DiskSize": 200}]})
    wait_until(lambda: instance(c, one).DataDisks[0].DiskSize == 200, timeout=30, what="the resize")
    # snapshot the data disk with CBS
    cbs = _cbs(server, created)
    snap_id = _cbs_call(cbs, "CreateSnapshot", {"DiskId": data_disk, "SnapshotName": "backup"}).SnapshotId

    def snap_state():
        s = _cbs_call(cbs, "DescribeSnapshots", {"SnapshotIds": [snap_id]}).SnapshotSet[0]
        return s if s.SnapshotState == "NORMAL" else None

    snap = wait_until(snap_state, timeout=60, what="the snapshot")
    assert snap.DiskId == data_disk and snap.DiskSize == 200 and snap.Percent == 100
    # terminate all three
    call(c, "TerminateInstances", {"InstanceIds": ids})
    wait_until(lambda: call(c, "DescribeInstances", {"InstanceIds": ids}).TotalCount == 0, timeout=60,
               what="the instances to go")
    assert not any((server.data_dir / "disks" / "ap-guangzhou" / f"{d}.qcow2").exists()
                   for d in [got[0].SystemDisk.DiskId, data_disk])


def test_client_token_is_idempotent(server, account):
    _created, client_for = account
    c = client_for()
    body = {"Placement": {"Zone": "ap-guangzhou-4"}, "ImageId": public_image(c), "InstanceCount": 2,
            "ClientToken": f"token-{uuid.uuid4().hex}"}
    first = call(c, "RunInstances", body).InstanceIdSet
    second = call(c, "RunInstances", body).InstanceIdSet
    assert first == second
    assert call(c, "DescribeInstances", {"Limit": 100}).TotalCount == 2


def test_rules_refuse_and_change_nothing(server, account):
    _created, client_for = account
    c = client_for()
    image = public_image(c)
    windows = public_image(c, "Windows Server 2019")
    base = {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image}

    def run(**over):
        return call(c, "RunInstances", {**base, **over})

    assert _code(lambda: run(Placement={"Zone": "ap-shanghai-2"})).code == "InvalidZone.MismatchRegion"
    assert _code(lambda: run(SystemDisk={"DiskSize": 10})).code == "InvalidParameterValue.Range"
    assert _code(lambda: run(ImageId=windows, SystemDisk={"DiskSize": 40})).code == "InvalidParameterValue.Range"
    assert _code(lambda: run(ImageId="img-zzzzzzzz")).code == "InvalidImageId.NotFound"
    assert _code(lambda: run(InstanceType="S5.HUGE999")).code == "InvalidParameterValue.InstanceTypeNotFound"
    assert _code(lambda: run(InstanceType="SR1.MEDIUM4")).code in (
        "ResourcesSoldOut.SpecifiedInstanceType", "InvalidParameterValue.InvalidImageForGivenInstanceType")
    assert _code(lambda: run(InstanceCount=501)).code == "InvalidParameterValue.Range"  # the API allows 1-500
    assert _code(lambda: run(InstanceCount=0)).code == "InvalidParameterValue.Range"
    assert _code(lambda: run(InstanceCount=500, DryRun=True)).code == "DryRunOperation"
    key = call(c, "CreateKeyPair", {"KeyName": "k1", "ProjectId": 0}).KeyPair.KeyId
    assert _code(lambda: run(ImageId=windows, LoginSettings={"KeyIds": [key]})).code == \
        "UnsupportedOperation.KeyPairUnsupportedWindows"
    assert _code(lambda: run(LoginSettings={"KeyIds": ["skey-zzzzzzzz"]})).code == "InvalidParameterValue.KeyPairNotFound"
    assert _code(lambda: run(LoginSettings={"KeyIds": ["key-1"]})).code == "InvalidKeyPairId.Malformed"
    assert _code(lambda: run(DryRun=True)).code == "DryRunOperation"
    # another account's image is invisible
    _o, other_for = new_account(server, f"o-{uuid.uuid4().hex[:8]}")
    assert call(c, "DescribeInstances", {}).TotalCount == 0  # nothing was created by the refused calls
    ids = run().InstanceIdSet
    wait_state(c, ids, "RUNNING")
    one = ids[0]
    assert _code(lambda: call(c, "StartInstances", {"InstanceIds": [one]})).code == \
        "UnsupportedOperation.InstanceStateRunning"
    assert _code(lambda: call(other_for(), "StopInstances", {"InstanceIds": [one]})).code == "InvalidInstanceId.NotFound"
    assert _code(lambda: call(c, "StopInstances", {"InstanceIds": ["ins-zz"]})).code == "InvalidInstanceId.Malformed"
    call(c, "ModifyInstancesAttribute", {"InstanceIds": [one], "DisableApiTermination": True, "InstanceName": "kept"})
    assert _code(lambda: call(c, "TerminateInstances", {"InstanceIds": [one]})).code == \
        "UnsupportedOperation.InstancesProtected"
    assert states(c, [one])[one] == "RUNNING" and instance(c, one).InstanceName == "kept"
    assert _code(lambda: call(c, "DeleteKeyPairs", {"KeyIds": ["skey-zzzzzzzz"]})).code == "InvalidKeyPairId.NotFound"
    call(c, "ModifyInstancesAttribute", {"InstanceIds": [one], "DisableApiTermination": False})
    call(c, "TerminateInstances", {"InstanceIds": [one]})


def test_key_pairs(server, account):
    _created, client_for = account
    c = client_for()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    imported = call(c, "ImportKeyPair", {"KeyName": "laptop", "ProjectId": 0, "PublicKey": pub}).KeyId
    assert _code(lambda: call(c, "ImportKeyPair", {"KeyName": "laptop", "ProjectId": 0, "PublicKey": pub})).code == \
        "InvalidKeyPairName.Duplicate"
    assert _code(lambda: call(c, "ImportKeyPair", {"KeyName": "other", "ProjectId": 0, "PublicKey": "ssh-rsa nope"})).code == \
        "InvalidPublicKey.Malformed"
    made = call(c, "CreateKeyPair", {"KeyName": "made", "ProjectId": 0}).KeyPair.KeyId
    listed = call(c, "DescribeKeyPairs", {})
    assert listed.TotalCount == 2 and all(k.PrivateKey is None for k in listed.KeyPairSet)
    assert call(c, "DescribeKeyPairs", {"Filters": [{"Name": "key-name", "Values": ["lap"]}]}).TotalCount == 1
    call(c, "ModifyKeyPairAttribute", {"KeyId": imported, "KeyName": "laptop2", "Description": "my laptop"})
    k = call(c, "DescribeKeyPairs", {"KeyIds": [imported]}).KeyPairSet[0]
    assert (k.KeyName, k.Description, k.PublicKey.split()[:2]) == ("laptop2", "my laptop", pub.split()[:2])
    ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c)}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    assert _code(lambda: call(c, "AssociateInstancesKeyPairs", {"InstanceIds": ids, "KeyIds": [made]})).code == \
        "UnsupportedOperation.InstanceStateRunning"
    call(c, "AssociateInstancesKeyPairs", {"InstanceIds": ids, "KeyIds": [made, imported], "ForceStop": True})
    assert sorted(instance(c, ids[0]).LoginSettings.KeyIds) == sorted([made, imported])
    assert call(c, "DescribeKeyPairs", {"KeyIds": [made]}).KeyPairSet[0].AssociatedInstanceIds == ids
    assert _code(lambda: call(c, "DeleteKeyPairs", {"KeyIds": [made]})).code == "UnsupportedOperation"
    call(c, "DisassociateInstancesKeyPairs", {"InstanceIds": ids, "KeyIds": [made], "ForceStop": True})
    call(c, "DeleteKeyPairs", {"KeyIds": [made]})
    assert call(c, "DescribeKeyPairs", {}).TotalCount == 1


def test_cbs_disks(server, account):
    created, client_for = account
    c = client_for()
    cbs = _cbs(server, created)
    disk_ids = _cbs_call(cbs, "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                              "DiskType": "CLOUD_PREMIUM", "DiskSize": 20, "DiskCount": 2,
                                              "DiskName": "vol"}).DiskIdSet
    assert len(disk_ids) == 2
    disks = _cbs_call(cbs, "DescribeDisks", {"DiskIds": disk_ids}).DiskSet
    assert {d.DiskState for d in disks} == {"UNATTACHED"} and {d.DiskSize for d in disks} == {20}
    ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c)}).InstanceIdSet
    wait_state(c, ids, "RUNNING")
    _cbs_call(cbs, "AttachDisks", {"InstanceId": ids[0], "DiskIds": disk_ids})
    assert {d.DiskState for d in _cbs_call(cbs, "DescribeDisks", {"DiskIds": disk_ids}).DiskSet} == {"ATTACHED"}
    assert len(instance(c, ids[0]).DataDisks) == 2
    # TerminateDisks documents no Attached code: the common ResourceInUse
    assert _code(lambda: _cbs_call(cbs, "TerminateDisks", {"DiskIds": disk_ids})).code == "ResourceInUse"
    _cbs_call(cbs, "ResizeDisk", {"DiskId": disk_ids[0], "DiskSize": 30})
    assert _code(lambda: _cbs_call(cbs, "ResizeDisk", {"DiskId": disk_ids[0], "DiskSize": 25})).code == "InvalidParameterValue"
    _cbs_call(cbs, "DetachDisks", {"DiskIds": disk_ids})
    # TerminateInstances frees the instance's own disks; detached data disks stay
    call(c, "TerminateInstances", {"InstanceIds": ids})
    wait_until(lambda: call(c, "DescribeInstances", {"InstanceIds": ids}).TotalCount == 0, timeout=60, what="terminate")
    assert _cbs_call(cbs, "DescribeDisks", {"DiskIds": disk_ids}).TotalCount == 2
    _cbs_call(cbs, "TerminateDisks", {"DiskIds": disk_ids})
    assert _cbs_call(cbs, "DescribeDisks", {"DiskIds": disk_ids}).TotalCount == 0


def test_instance_type_catalogue(server):
    c = sdk.cvm(server)
    configs = call(c, "DescribeInstanceTypeConfigs", {"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]})
    types = {t.InstanceType for t in configs.InstanceTypeConfigSet}
    assert "S5.MEDIUM4" in types and all(t.Zone == "ap-guangzhou-3" for t in configs.InstanceTypeConfigSet)
    infos = call(c, "DescribeZoneInstanceConfigInfos", {"Filters": [
        {"Name": "instance-family", "Values": ["S5"]}, {"Name": "instance-charge-type", "Values": ["POSTPAID_BY_HOUR"]}]})
    assert infos.InstanceTypeQuotaSet and all(i.InstanceFamily == "S5" for i in infos.InstanceTypeQuotaSet)
    assert all(i.Price.UnitPrice > 0 for i in infos.InstanceTypeQuotaSet)
