"""tencentcloud_vpc, tencentcloud_subnet, tencentcloud_security_group, tencentcloud_security_group_rule_set
and tencentcloud_instance with vpc_id / subnet_id / orderly_security_groups: the provider's
Create, Read, Update, Delete (tencentcloud/services/vpc/resource_tc_*.go, services/cvm/resource_tc_instance.go)
replayed with the Python SDK; a second Read after each change finds nothing to change."""

from __future__ import annotations

import uuid

from tests.api import sdk
from tests.api.instances_util import call, public_image
from tests.helpers import wait_until

from . import provider as tf
from . import provider_vpc as pv

ZONE = "ap-guangzhou-3"


def read_vpc(vc, tc, vpc_id: str) -> dict | None:
    info, has = pv.describe_vpc(vc, vpc_id)
    if has == 0:
        return None
    pv.describe_route_tables(vc, vpc_id)
    return {"name": info.VpcName, "cidr_block": info.CidrBlock, "dns_servers": sorted(info.DnsServerSet),
            "is_multicast": info.EnableMulticast, "is_default": info.IsDefault, "create_time": info.CreatedTime,
            "tags": {t.Key: t.Value for t in info.TagSet},
            "tag_service": tf.describe_resource_tags(tc, "vpc", "vpc", tf.REGION, vpc_id)}


def read_subnet(vc, tc, subnet_id: str) -> dict | None:
    info, has = pv.describe_subnet(vc, subnet_id)
    if has == 0:
        return None
    return {"vpc_id": info.VpcId, "name": info.SubnetName, "cidr_block": info.CidrBlock,
            "availability_zone": info.Zone, "is_multicast": info.EnableBroadcast, "is_default": info.IsDefault,
            "available_ip_count": info.AvailableIpAddressCount, "route_table_id": info.RouteTableId,
            "create_time": info.CreatedTime,
            "tags": tf.describe_resource_tags(tc, "vpc", "subnet", tf.REGION, subnet_id)}


def read_group(vc, tc, sg_id: str) -> dict | None:
    g = pv.describe_security_group(vc, sg_id)
    if g is None:
        return None
    return {"name": g.SecurityGroupName, "description": g.SecurityGroupDesc, "project_id": int(g.ProjectId),
            "tags": tf.describe_resource_tags(tc, "cvm", "sg", tf.REGION, sg_id)}


def read_rule_set(vc, sg_id: str) -> dict:
    got = pv.describe_policies(vc, sg_id)
    return {"version": got.Version, "ingress": pv.marshal_policies(got.Ingress),
            "egress": pv.marshal_policies(got.Egress)}


def test_vpc_and_subnet(server):
    vc, tc = tf.vpc(server), tf.tag(server)
    name = "tf-vpc-" + uuid.uuid4().hex[:6]
    vpc_id = pv.create_vpc(vc, name, "10.20.0.0/16", False, ["119.29.29.29", "8.8.8.8"], {"env": "test"})
    state = read_vpc(vc, tc, vpc_id)
    assert state["name"] == name and state["cidr_block"] == "10.20.0.0/16" and not state["is_default"]
    assert state["dns_servers"] == ["119.29.29.29", "8.8.8.8"] and state["tags"] == state["tag_service"] == {"env": "test"}
    assert read_vpc(vc, tc, vpc_id) == state
    pv.modify_vpc(vc, vpc_id, name + "-2", True, ["8.8.8.8"])
    tf.modify_tags(tc, f"qcs::vpc:{tf.REGION}:uin/:vpc/{vpc_id}", {"env": "prod", "team": "a"}, [])
    state = read_vpc(vc, tc, vpc_id)
    assert (state["name"], state["is_multicast"], state["dns_servers"]) == (name + "-2", True, ["8.8.8.8"])
    assert state["tag_service"] == {"env": "prod", "team": "a"}
    assert read_vpc(vc, tc, vpc_id) == state

    subnet_id = pv.create_subnet(vc, vpc_id, "tf-subnet", "10.20.1.0/24", ZONE, {"tier": "web"})
    sub = read_subnet(vc, tc, subnet_id)
    assert sub == {**sub, "vpc_id": vpc_id, "name": "tf-subnet", "cidr_block": "10.20.1.0/24", "availability_zone": ZONE,
                   "is_multicast": False, "is_default": False, "available_ip_count": 253, "tags": {"tier": "web"}}
    assert read_subnet(vc, tc, subnet_id) == sub
    pv.modify_subnet(vc, subnet_id, "tf-subnet-2", True)
    sub = read_subnet(vc, tc, subnet_id)
    assert (sub["name"], sub["is_multicast"]) == ("tf-subnet-2", True)
    assert read_subnet(vc, tc, subnet_id) == sub
    pv.delete_subnet(vc, subnet_id)
    assert read_subnet(vc, tc, subnet_id) is None
    pv.delete_vpc(vc, vpc_id)
    assert read_vpc(vc, tc, vpc_id) is None
    pv.delete_vpc(vc, vpc_id)  # deleting again finds it gone, which the provider takes as done


def test_security_group_and_rule_set(server):
    vc, tc = tf.vpc(server), tf.tag(server)
    sg_id = pv.create_security_group(vc, "tf-sg", "terraform", 0, {"env": "test"})
    state = read_group(vc, tc, sg_id)
    assert state == {"name": "tf-sg", "description": "terraform", "project_id": 0, "tags": {"env": "test"}}
    pv.modify_security_group(vc, sg_id, "tf-sg-2", None)
    tf.modify_tags(tc, tf.resource_name("cvm", "sg", tf.REGION, sg_id), {"env": "prod"}, [])
    state = read_group(vc, tc, sg_id)
    assert state == {"name": "tf-sg-2", "description": "terraform", "project_id": 0, "tags": {"env": "prod"}}
    assert read_group(vc, tc, sg_id) == state

    # tencentcloud_security_group_rule_set: Create is a ModifySecurityGroupPolicies without Version
    ingress = [{"action": "ACCEPT", "cidr_block": "10.0.0.0/22", "protocol": "TCP", "port": "80-90", "description": "a"},
               {"action": "DROP", "cidr_block": "0.0.0.0/0", "protocol": "ALL", "port": "ALL", "description": "b"}]
    egress = [{"action": "ACCEPT", "cidr_block": "0.0.0.0/0", "protocol": "ALL", "port": "ALL", "description": ""}]
    pv.modify_policies(vc, sg_id, ingress, egress, None)
    rules = read_rule_set(vc, sg_id)
    assert [(r["action"], r["cidr_block"], r["protocol"], r["port"], r["description"], r["policy_index"])
            for r in rules["ingress"]] == [("ACCEPT", "10.0.0.0/22", "TCP", "80-90", "a", 0),
                                           ("DROP", "0.0.0.0/0", "ALL", "ALL", "b", 1)]
    assert len(rules["egress"]) == 1
    assert read_rule_set(vc, sg_id) == rules
    # Update with no egress left: delete the old egress by index, then modify with the version + 2
    version = int(rules["version"])
    pv.delete_policies_by_index(vc, sg_id, [r["policy_index"] for r in rules["egress"]], "egress")
    new_ingress = [{"action": "ACCEPT", "cidr_block": "192.168.0.0/16", "protocol": "UDP", "port": "53",
                    "description": ""}] + ingress
    pv.modify_policies(vc, sg_id, new_ingress, [], str(version + 2), sort=True)
    rules = read_rule_set(vc, sg_id)
    assert [(r["protocol"], r["port"]) for r in rules["ingress"]] == [("UDP", "53"), ("TCP", "80-90"), ("ALL", "ALL")]
    assert rules["egress"] == []
    assert read_rule_set(vc, sg_id) == rules
    # Delete: Version 0 clears every rule
    pv.modify_policies(vc, sg_id, [], [], "0")
    assert read_rule_set(vc, sg_id)["ingress"] == []
    stats = pv.security_group_statistics(vc, sg_id)
    assert stats[0].CVM == 0 and stats[0].SG == 0
    pv.delete_security_group(vc, sg_id)
    assert read_group(vc, tc, sg_id) is None


def test_instance_in_a_subnet_with_ordered_groups(server):
    c, vc, tc = sdk.cvm(server), tf.vpc(server), tf.tag(server)
    vpc_id = pv.create_vpc(vc, "tf-ins-vpc", "10.30.0.0/16", False, [], {})
    subnet_id = pv.create_subnet(vc, vpc_id, "tf-ins-subnet", "10.30.5.0/24", ZONE, {})
    sg_a = pv.create_security_group(vc, "tf-a", "a", None, {})
    sg_b = pv.create_security_group(vc, "tf-b", "b", None, {})
    (instance_id,) = call(c, "RunInstances", {
        "ImageId": public_image(c), "Placement": {"Zone": ZONE, "ProjectId": 0}, "InstanceType": "S5.MEDIUM4",
        "VirtualPrivateCloud": {"VpcId": vpc_id, "SubnetId": subnet_id}, "SecurityGroupIds": [sg_b, sg_a],
        "ClientToken": uuid.uuid4().hex}).InstanceIdSet
    wait_until(lambda: tf.describe_instance_by_id(c, instance_id).InstanceState == "RUNNING", timeout=120,
               what="RUNNING")

    def read():
        i = tf.describe_instance_by_id(c, instance_id)
        return {"vpc_id": i.VirtualPrivateCloud.VpcId, "subnet_id": i.VirtualPrivateCloud.SubnetId,
                "orderly_security_groups": i.SecurityGroupIds, "private_ip": i.PrivateIpAddresses[0]}

    state = read()
    assert state["vpc_id"] == vpc_id and state["subnet_id"] == subnet_id
    assert state["orderly_security_groups"] == [sg_b, sg_a] and state["private_ip"] == "10.30.5.2"
    assert read() == state
    # orderly_security_groups changed: ModifyInstancesAttribute with SecurityGroups in the new order
    call(c, "ModifyInstancesAttribute", {"InstanceIds": [instance_id], "SecurityGroups": [sg_a, sg_b]})
    state = read()
    assert state["orderly_security_groups"] == [sg_a, sg_b]
    assert read() == state
    assert pv.security_group_statistics(vc, sg_a)[0].CVM == 1
    call(c, "TerminateInstances", {"InstanceIds": [instance_id]})
    wait_until(lambda: not tf.used_ip_addresses(vc, vpc_id, subnet_id, [state["private_ip"]]), timeout=120,
               what="the private IP to be released")
    for sg in (sg_a, sg_b):
        wait_until(lambda: pv.security_group_statistics(vc, sg)[0].CVM == 0, timeout=120, what="no CVM in the group")
        pv.delete_security_group(vc, sg)
    pv.delete_subnet(vc, subnet_id)
    pv.delete_vpc(vc, vpc_id)
    assert read_vpc(vc, tc, vpc_id) is None
