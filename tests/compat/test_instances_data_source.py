"""data "tencentcloud_instances": replays tencentcloud/services/cvm/data_source_tc_instances.go
(CvmService.DescribeInstanceByFilter: instance_set_ids, or one single-valued filter per argument —
instance-id, instance-name, zone, project-id, vpc-id, subnet-id, tag:<key> — in pages of 100; the
fields it dereferences for each instance)."""

from __future__ import annotations

import uuid

from tests.api import sdk
from tests.api.create_image_util import launch
from tests.api.instances_util import call

from . import provider as tf


def flatten(i) -> dict:
    return {"instance_id": i.InstanceId, "instance_name": i.InstanceName, "availability_zone": i.Placement.Zone,
            "project_id": i.Placement.ProjectId, "system_disk_id": i.SystemDisk.DiskId,
            "vpc_id": i.VirtualPrivateCloud.VpcId, "subnet_id": i.VirtualPrivateCloud.SubnetId,
            "internet_charge_type": i.InternetAccessible.InternetChargeType,
            "allocate_public_ip": i.InternetAccessible.PublicIpAssigned, "status": i.InstanceState,
            "tags": {t.Key: t.Value for t in i.Tags or []},
            "data_disks": [{"data_disk_id": d.DiskId, "data_disk_size": d.DiskSize,
                            "delete_with_instance": d.DeleteWithInstance} for d in i.DataDisks or []]}


def test_filters_the_provider_sends(server):
    c, tc = sdk.cvm(server), tf.tag(server)
    name = "tf-ds-" + uuid.uuid4().hex[:6]
    (instance_id,) = launch(c, name=name, data_disks=(20,))
    tf.modify_tags(tc, tf.resource_name("cvm", "instance", tf.REGION, instance_id), {"ds": name}, [])
    (mine,) = [flatten(i) for i in tf.describe_instances_by_filter(c, [instance_id], {})]
    assert mine["tags"] == {"ds": name} and len(mine["data_disks"]) == 1
    for filters in ({"instance-id": instance_id}, {"instance-name": name}, {"tag:ds": name},
                    {"zone": mine["availability_zone"], "project-id": "0", "instance-name": name},
                    {"vpc-id": mine["vpc_id"], "subnet-id": mine["subnet_id"], "instance-name": name}):
        got = [flatten(i) for i in tf.describe_instances_by_filter(c, None, filters)]
        assert got == [mine], filters
    assert tf.describe_instances_by_filter(c, None, {"vpc-id": "vpc-00000000"}) == []
    call(c, "TerminateInstances", {"InstanceIds": [instance_id]})
