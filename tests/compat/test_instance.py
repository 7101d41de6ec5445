"""tencentcloud_instance: replays tencentcloud/services/cvm/resource_tc_instance.go (Create, Read,
Update, Delete, import by ID) with CvmService (service_tencentcloud_cvm.go), CbsService.DescribeDiskList
(services/cbs/service_tencentcloud_cbs.go), the tag service and VpcService's DescribeUsedIpAddress."""

from __future__ import annotations

import base64
import uuid

from tests.api import sdk
from tests.api.instances_util import call, public_image
from tests.helpers import wait_until

from . import provider as tf

ZONE = "ap-guangzhou-3"
USER_DATA = base64.b64encode(b"#!/bin/sh\necho terraform\n").decode()


def create(c, tc, tags: dict[str, str], key_id: str) -> str:
    """resourceTencentCloudInstanceCreate: RunInstances (ClientToken, tags in TagSpecification), wait
    for RUNNING, then for the tags to show through the tag API."""
    body = {
        "ImageId": public_image(c), "Placement": {"Zone": ZONE, "ProjectId": 0}, "InstanceName": "tf-instance",
        "InstanceType": "S5.MEDIUM4", "InstanceChargeType": "POSTPAID_BY_HOUR", "HostName": "tf-host",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
        "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20, "DeleteWithInstance": True}],
        "InternetAccessible": {"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 10,
                               "PublicIpAssigned": True},
        "LoginSettings": {"KeyIds": [key_id]}, "UserData": USER_DATA, "DisableApiTermination": False,
        "TagSpecification": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        "ClientToken": uuid.uuid4().hex,
    }
    (instance_id,) = call(c, "RunInstances", body).InstanceIdSet

    def running():
        i = tf.describe_instance_by_id(c, instance_id)
        assert i is None or i.InstanceState != "LAUNCH_FAILED", i.LatestOperationErrorMsg
        return i is not None and i.InstanceState == "RUNNING"

    wait_until(running, timeout=120, interval=0.2, what=f"{instance_id} to be RUNNING")
    wait_until(lambda: all(tf.describe_resource_tags(tc, "cvm", "instance", tf.REGION, instance_id).get(k) == v
                           for k, v in tags.items()), timeout=30, what="the tags")
    return instance_id


def read(c, tc, cb, instance_id: str) -> dict | None:
    """resourceTencentCloudInstanceRead: the fields it dereferences must be there (the Go provider
    would crash on a missing VirtualPrivateCloud, SystemDisk, InternetAccessible, LoginSettings, ...)."""
    instance = wait_until(lambda: [tf.describe_instance_by_id(c, instance_id)] if (
        (i := tf.describe_instance_by_id(c, instance_id)) is None or i.LatestOperationState != "OPERATING") else None,
        timeout=60, what="no operation in progress")[0]
    if instance is None or instance.InstanceState == "LAUNCH_FAILED":
        return None
    images = call(c, "DescribeImages", {})  # the provider lists images with no parameters at all
    assert images.TotalCount > 0
    state = {
        "image_id": instance.ImageId, "availability_zone": instance.Placement.Zone,
        "instance_name": instance.InstanceName, "instance_type": instance.InstanceType,
        "project_id": instance.Placement.ProjectId, "instance_charge_type": instance.InstanceChargeType,
        "internet_charge_type": instance.InternetAccessible.InternetChargeType,
        "internet_max_bandwidth_out": instance.InternetAccessible.InternetMaxBandwidthOut,
        "vpc_id": instance.VirtualPrivateCloud.VpcId, "subnet_id": instance.VirtualPrivateCloud.SubnetId,
        "security_groups": instance.SecurityGroupIds, "system_disk_type": instance.SystemDisk.DiskType,
        "system_disk_size": instance.SystemDisk.DiskSize, "system_disk_id": instance.SystemDisk.DiskId,
        "instance_status": instance.InstanceState, "create_time": instance.CreatedTime,
        "disable_api_termination": instance.DisableApiTermination, "cpu": instance.CPU, "memory": instance.Memory,
        "os_name": instance.OsName, "allocate_public_ip": len(instance.PublicIpAddresses or []) > 0,
        "tags": tf.describe_resource_tags(tc, "cvm", "instance", tf.REGION, instance_id),
        "private_ip": (instance.PrivateIpAddresses or [None])[0],
        "public_ip": (instance.PublicIpAddresses or [None])[0],
        "key_ids": instance.LoginSettings.KeyIds or [],
        "running_flag": instance.InstanceState != "STOPPED",
    }
    (system,) = tf.describe_disk_list(cb, [instance.SystemDisk.DiskId])
    assert system.DiskState != "EXPANDING"
    state["system_disk_name"] = system.DiskName
    data_ids = [d.DiskId for d in instance.DataDisks or []]
    disks = {d.DiskId: d for d in tf.describe_disk_list(cb, data_ids)}
    state["data_disks"] = [
        {"data_disk_id": d.DiskId, "data_disk_size": d.DiskSize, "data_disk_type": d.DiskType,
         "data_disk_name": disks[d.DiskId].DiskName, "delete_with_instance": d.DeleteWithInstance,
         "encrypt": d.Encrypt, "throughput_performance": d.ThroughputPerformance}
        for d in instance.DataDisks or []]
    for disk in state["data_disks"]:
        assert None not in (disk["encrypt"], disk["delete_with_instance"], disk["data_disk_size"]), disk
    attrs = call(c, "DescribeInstancesAttributes", {"InstanceIds": [instance_id], "Attributes": ["UserData"]})
    if attrs.InstanceSet and attrs.InstanceSet[0].Attributes and attrs.InstanceSet[0].Attributes.UserData:
        state["user_data"] = attrs.InstanceSet[0].Attributes.UserData
        state["user_data_raw"] = base64.b64decode(state["user_data"]).decode()
    return state


def wait_stopped(c, instance_id: str) -> None:
    wait_until(lambda: tf.describe_instance_by_id(c, instance_id).InstanceState == "STOPPED", timeout=60,
               what="STOPPED")


def delete(c, vc, instance_id: str) -> None:
    """resourceTencentCloudInstanceDelete (force_delete unset): TerminateInstances, wait until the
    instance is gone (or SHUTDOWN with no operation running), then for its private IP to be released."""
    instance = tf.describe_instance_by_id(c, instance_id)
    call(c, "TerminateInstances", {"InstanceIds": [instance_id]})
    gone = []

    def finished():
        i = tf.describe_instance_by_id(c, instance_id)
        if i is None:
            gone.append(True)
            return True
        return i.InstanceState == "SHUTDOWN" and i.LatestOperationState != "OPERATING"

    wait_until(finished, timeout=120, interval=0.2, what=f"{instance_id} to be terminated")
    if gone and instance.PrivateIpAddresses:
        wait_until(lambda: not tf.used_ip_addresses(vc, instance.VirtualPrivateCloud.VpcId,
                                                    instance.VirtualPrivateCloud.SubnetId,
                                                    instance.PrivateIpAddresses),
                   timeout=60, what="the private IP to be released")


def test_create_read_update_import_delete(server):
    c, tc, cb, vc = sdk.cvm(server), tf.tag(server), tf.cbs(server), tf.vpc(server)
    key_id = call(c, "CreateKeyPair", {"KeyName": "tf_" + uuid.uuid4().hex[:10], "ProjectId": 0}).KeyPair.KeyId
    tags = {"env": "test", "app": "web"}
    instance_id = create(c, tc, tags, key_id)
    state = read(c, tc, cb, instance_id)
    assert state["instance_name"] == "tf-instance" and state["availability_zone"] == ZONE
    assert state["tags"] == tags and state["key_ids"] == [key_id] and state["running_flag"]
    assert state["user_data"] == USER_DATA and state["user_data_raw"].startswith("#!/bin/sh")
    assert state["vpc_id"].startswith("vpc-") and state["subnet_id"].startswith("subnet-")
    assert [d["data_disk_size"] for d in state["data_disks"]] == [20]
    assert state["internet_max_bandwidth_out"] == 10 and state["allocate_public_ip"]
    # no drift: a second read (plan) finds exactly what the first did
    assert read(c, tc, cb, instance_id) == state
    # the VPC the instance is shown in knows its address
    used = tf.used_ip_addresses(vc, state["vpc_id"], state["subnet_id"], [state["private_ip"]])
    assert [(u.IpAddress, u.ResourceId) for u in used] == [(state["private_ip"], instance_id)]
    # data source tencentcloud_instances by vpc-id finds it
    found = tf.describe_instances_by_filter(c, None, {"vpc-id": state["vpc_id"], "subnet-id": state["subnet_id"]})
    assert instance_id in [i.InstanceId for i in found]

    # Update: the name (ModifyInstancesAttribute), the tags (tag API), running_flag false (StopInstances)
    call(c, "ModifyInstancesAttribute", {"InstanceIds": [instance_id], "InstanceName": "tf-renamed"})
    replace, remove = tf.diff_tags(tags, {"env": "prod"})
    tf.modify_tags(tc, tf.resource_name("cvm", "instance", tf.REGION, instance_id), replace, remove)
    call(c, "StopInstances", {"InstanceIds": [instance_id], "StopType": "SOFT", "StoppedMode": "KEEP_CHARGING"})
    wait_stopped(c, instance_id)
    after = read(c, tc, cb, instance_id)
    assert after["instance_name"] == "tf-renamed" and after["tags"] == {"env": "prod"}
    assert not after["running_flag"] and after["instance_status"] == "STOPPED"
    assert {t.Key: t.Value for t in tf.describe_instance_by_id(c, instance_id).Tags} == {"env": "prod"}
    call(c, "StartInstances", {"InstanceIds": [instance_id]})
    wait_until(lambda: tf.describe_instance_by_id(c, instance_id).InstanceState == "RUNNING", timeout=60,
               what="RUNNING")

    # import: the ID alone reads the same state back
    imported = read(c, tc, cb, instance_id)
    assert imported == {**after, "running_flag": True, "instance_status": "RUNNING"}

    delete(c, vc, instance_id)
    assert read(c, tc, cb, instance_id) is None
    call(c, "DeleteKeyPairs", {"KeyIds": [key_id]})


def test_tags_of_other_accounts_resources_are_not_reachable(server):
    from tests.api.share_util import accounts

    (other,) = accounts(server, 1, "tf-tags")
    c, tc = sdk.cvm(server), tf.tag(server)
    key_id = call(c, "CreateKeyPair", {"KeyName": "tf_" + uuid.uuid4().hex[:10], "ProjectId": 0}).KeyPair.KeyId
    name = tf.resource_name("cvm", "keypair", tf.REGION, key_id)
    tf.modify_tags(tc, name, {"owner": "me"}, [])
    theirs = tf.tag(server, secret_id=other["SecretId"], secret_key=other["SecretKey"])
    from tests.api.share_util import code_of

    assert code_of(lambda: tf.modify_tags(theirs, name, {"x": "y"}, [])) == "ResourceNotFound"  # not ResourceIdInvalid
    assert tf.describe_resource_tags(theirs, "cvm", "keypair", tf.REGION, key_id) == {}
    assert tf.describe_resource_tags(tc, "cvm", "keypair", tf.REGION, key_id) == {"owner": "me"}
    call(c, "DeleteKeyPairs", {"KeyIds": [key_id]})
