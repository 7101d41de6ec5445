"""Issue 21: VPCs, subnets and private addresses with the official SDK (vpc_client) over HTTP."""

from __future__ import annotations

import ipaddress
import threading

from tests.helpers import wait_until
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from . import sdk
from .instances_util import call, instance, public_image, wait_state
from .vpc_util import network_account, refused, vcall, vpc_for


def test_new_account_has_default_vpc_and_subnets_and_instances_land_there(server):
    created, c, v = network_account(server)
    vpcs = vcall(v, "DescribeVpcs", {}).VpcSet
    assert [(x.CidrBlock, x.IsDefault) for x in vpcs] == [("172.16.0.0/16", True)]
    subnets = vcall(v, "DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [vpcs[0].VpcId]}],
                                           "Limit": "100"}).SubnetSet
    by_zone = {s.Zone: s for s in subnets}
    assert "ap-guangzhou-3" in by_zone and all(s.IsDefault for s in subnets)
    cidrs = [ipaddress.ip_network(s.CidrBlock) for s in subnets]
    assert all(n.prefixlen == 20 and n.subnet_of(ipaddress.ip_network("172.16.0.0/16")) for n in cidrs)
    assert len(set(cidrs)) == len(cidrs)
    # the same account in another region has its own default network
    other = vcall(vpc_for(server, created, "ap-shanghai"), "DescribeVpcs", {}).VpcSet
    assert len(other) == 1 and other[0].VpcId != vpcs[0].VpcId
    run = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c)})
    (iid,) = run.InstanceIdSet
    wait_state(c, [iid], "RUNNING")
    i = instance(c, iid)
    sub = by_zone["ap-guangzhou-3"]
    assert i.VirtualPrivateCloud.VpcId == vpcs[0].VpcId and i.VirtualPrivateCloud.SubnetId == sub.SubnetId
    assert i.VirtualPrivateCloud.PrivateIpAddresses == i.PrivateIpAddresses
    assert ipaddress.ip_address(i.PrivateIpAddresses[0]) in ipaddress.ip_network(sub.CidrBlock)
    assert i.SecurityGroupIds and i.SecurityGroupIds[0].startswith("sg-")  # the default group
    used = vcall(v, "DescribeUsedIpAddress", {"VpcId": vpcs[0].VpcId}).IpAddressStates
    assert [(u.IpAddress, u.ResourceId) for u in used] == [(i.PrivateIpAddresses[0], iid)]
    got = vcall(v, "DescribeVpcPrivateIpAddresses", {"VpcId": vpcs[0].VpcId,
                                                      "PrivateIpAddresses": [i.PrivateIpAddresses[0], "172.16.99.9"]})
    assert [a.PrivateIpAddress for a in got.VpcPrivateIpAddressSet] == [i.PrivateIpAddresses[0]]
    after = vcall(v, "DescribeSubnets", {"SubnetIds": [sub.SubnetId]}).SubnetSet[0]
    assert after.AvailableIpAddressCount == sub.AvailableIpAddressCount - 1
    call(c, "TerminateInstances", {"InstanceIds": [iid]})
    wait_until(lambda: not vcall(v, "DescribeUsedIpAddress", {"VpcId": vpcs[0].VpcId}).IpAddressStates,
               timeout=60, what="the address to be released")


def test_fifty_concurrent_launches_into_a_slash_28(server):
    """13 usable addresses (network, gateway, broadcast reserved): 13 launches succeed with distinct
    addresses, the rest are refused with FailedOperation.NoAvailableIpAddressCountInSubnet."""
    created, c, v = network_account(server)
    image = public_image(c)
    vpc = vcall(v, "CreateVpc", {"VpcName": "small", "CidrBlock": "10.8.0.0/16"}).Vpc
    sub = vcall(v, "CreateSubnet", {"VpcId": vpc.VpcId, "SubnetName": "tiny", "CidrBlock": "10.8.1.0/28",
                                    "Zone": "ap-guangzhou-3"}).Subnet
    assert sub.TotalIpAddressCount == 13 and sub.AvailableIpAddressCount == 13
    ok, codes, lock = [], [], threading.Lock()

    def launch():
        client = sdk.cvm(server, secret_id=created["SecretId"], secret_key=created["SecretKey"])
        try:
            got = call(client, "RunInstances", {
                "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                "VirtualPrivateCloud": {"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId}})
            with lock:
                ok.extend(got.InstanceIdSet)
        except TencentCloudSDKException as e:
            with lock:
                codes.append(e.code)

    threads = [threading.Thread(target=launch) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 13, (len(ok), set(codes))
    assert codes == ["FailedOperation.NoAvailableIpAddressCountInSubnet"] * 37
    ips = [instance(c, i).PrivateIpAddresses[0] for i in ok]
    assert len(set(ips)) == 13
    hosts = {str(h) for h in ipaddress.ip_network("10.8.1.0/28").hosts()} - {"10.8.1.1"}
    assert set(ips) == hosts
    assert vcall(v, "DescribeSubnets", {"SubnetIds": [sub.SubnetId]}).SubnetSet[0].AvailableIpAddressCount == 0
    assert refused(lambda: vcall(v, "DeleteSubnet", {"SubnetId": sub.SubnetId})) == "ResourceInUse"
    assert refused(lambda: vcall(v, "DeleteVpc", {"VpcId": vpc.VpcId})) == "ResourceInUse"
    wait_state(c, ok, "RUNNING", timeout=120)
    call(c, "TerminateInstances", {"InstanceIds": ok[:10]})


def test_vpc_and_subnet_refusals_change_nothing(server):
    created, c, v = network_account(server)
    before = vcall(v, "DescribeVpcs", {}).TotalCount
    # CreateVpc documents no InvalidParameterValue.Range: a CIDR out of the allowed ranges answers the family
    for cidr, code in [("10.0.0.0/8", "InvalidParameterValue"), ("10.0.0.0/29", "InvalidParameterValue"),
                       ("8.8.0.0/16", "InvalidParameterValue"), ("192.168.0.0/12", "InvalidParameterValue.Malformed"),
                       ("192.168.0.0/15", "InvalidParameterValue"), ("nonsense", "InvalidParameterValue.Malformed")]:
        assert refused(lambda: vcall(v, "CreateVpc", {"VpcName": "x", "CidrBlock": cidr})) == code, cidr
    assert vcall(v, "DescribeVpcs", {}).TotalCount == before
    vpc = vcall(v, "CreateVpc", {"VpcName": "main", "CidrBlock": "192.168.0.0/16",
                                 "Tags": [{"Key": "env", "Value": "ci"}]}).Vpc
    assert vpc.TagSet[0].Key == "env" and not vpc.IsDefault
    a = vcall(v, "CreateSubnet", {"VpcId": vpc.VpcId, "SubnetName": "a", "CidrBlock": "192.168.1.0/24",
                                  "Zone": "ap-guangzhou-3"}).Subnet
    for cidr, code in [("192.168.1.128/25", "InvalidParameterValue.SubnetConflict"),
                       ("192.168.0.0/16", "InvalidParameterValue.SubnetConflict"),
                       ("10.0.0.0/24", "InvalidParameterValue.SubnetRange"),
                       ("192.168.2.0/29", "InvalidParameterValue.SubnetRange")]:
        assert refused(lambda: vcall(v, "CreateSubnet", {"VpcId": vpc.VpcId, "SubnetName": "b", "CidrBlock": cidr,
                                                         "Zone": "ap-guangzhou-3"})) == code, cidr
    # CreateSubnets is all or nothing: the second overlaps the first of the same call
    assert refused(lambda: vcall(v, "CreateSubnets", {"VpcId": vpc.VpcId, "Subnets": [
        {"SubnetName": "c", "CidrBlock": "192.168.4.0/24", "Zone": "ap-guangzhou-3"},
        {"SubnetName": "d", "CidrBlock": "192.168.4.0/25", "Zone": "ap-guangzhou-4"}]})) == \
        "InvalidParameterValue.SubnetConflict"
    got = vcall(v, "DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [vpc.VpcId]}]})
    assert [s.SubnetId for s in got.SubnetSet] == [a.SubnetId]
    assert refused(lambda: vcall(v, "DescribeVpcs", {"VpcIds": ["vpc-1"]})) == "InvalidParameterValue.Malformed"  # as DescribeVpcs documents
    assert refused(lambda: vcall(v, "DeleteVpc", {"VpcId": "vpc-zzzzzzzz"})) == "ResourceNotFound"
    # another account sees none of it
    _, _, v2 = network_account(server)
    assert refused(lambda: vcall(v2, "DeleteVpc", {"VpcId": vpc.VpcId})) == "ResourceNotFound"
    vcall(v, "ModifyVpcAttribute", {"VpcId": vpc.VpcId, "VpcName": "renamed"})
    vcall(v, "ModifySubnetAttribute", {"SubnetId": a.SubnetId, "SubnetName": "renamed-a"})
    assert vcall(v, "DescribeVpcs", {"VpcIds": [vpc.VpcId]}).VpcSet[0].VpcName == "renamed"
    assert vcall(v, "DescribeSubnets", {"SubnetIds": [a.SubnetId]}).SubnetSet[0].SubnetName == "renamed-a"
    limits = vcall(v, "DescribeVpcLimits", {"LimitTypes": ["appid-max-vpcs", "vpc-max-subnets"]}).VpcLimitSet
    assert {x.LimitType: x.LimitValue for x in limits} == {"appid-max-vpcs": 20, "vpc-max-subnets": 100}
    vcall(v, "DeleteVpc", {"VpcId": vpc.VpcId})
    assert vcall(v, "DescribeSubnets", {"SubnetIds": [a.SubnetId]}).TotalCount == 0


def test_run_instances_network_refusals(server):
    created, c, v = network_account(server)
    image = public_image(c)
    vpc = vcall(v, "CreateVpc", {"VpcName": "n", "CidrBlock": "10.9.0.0/16"}).Vpc
    sub = vcall(v, "CreateSubnet", {"VpcId": vpc.VpcId, "SubnetName": "s", "CidrBlock": "10.9.0.0/24",
                                    "Zone": "ap-guangzhou-3"}).Subnet
    default_vpc = next(x for x in vcall(v, "DescribeVpcs", {}).VpcSet if x.IsDefault)

    def run(vpc_part, zone="ap-guangzhou-3", **extra):
        return lambda: call(c, "RunInstances", {"Placement": {"Zone": zone}, "ImageId": image,
                                                "VirtualPrivateCloud": vpc_part, **extra})

    assert refused(run({"VpcId": "vpc-zzzzzzzz", "SubnetId": sub.SubnetId})) == "InvalidParameterValue.VpcIdNotExist"
    assert refused(run({"VpcId": vpc.VpcId, "SubnetId": "subnet-zzzzzzzz"})) == "InvalidParameterValue.SubnetNotExist"
    assert refused(run({"VpcId": default_vpc.VpcId, "SubnetId": sub.SubnetId})) == \
        "InvalidParameterValue.VpcIdSubnetIdNotMatch"
    assert refused(run({"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId}, zone="ap-guangzhou-4")) == \
        "InvalidParameterValue.SubnetIdZoneIdNotMatch"
    assert refused(run({"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId, "PrivateIpAddresses": ["10.10.0.5"]})) == \
        "VpcAddrNotInSubNet"
    assert refused(run({"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId, "PrivateIpAddresses": ["10.9.0.1"]})) == \
        "VpcIpIsUsed"
    assert refused(run({"VpcId": "vpc-1", "SubnetId": sub.SubnetId})) == "InvalidParameterValue.VpcIdMalformed"
    assert refused(lambda: call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                                    "SecurityGroupIds": ["sg-zzzzzzzz"]})) == \
        "InvalidSecurityGroupId.NotFound"
    assert vcall(v, "DescribeUsedIpAddress", {"VpcId": vpc.VpcId}).TotalCount == 0
    (iid,) = call(c, "RunInstances", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
        "VirtualPrivateCloud": {"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId, "PrivateIpAddresses": ["10.9.0.77"]},
    }).InstanceIdSet
    i = instance(c, iid)
    assert i.PrivateIpAddresses == ["10.9.0.77"] and i.VirtualPrivateCloud.SubnetId == sub.SubnetId
    assert refused(run({"VpcId": vpc.VpcId, "SubnetId": sub.SubnetId, "PrivateIpAddresses": ["10.9.0.77"]})) == \
        "VpcIpIsUsed"
    got = call(c, "DescribeInstances", {"Filters": [{"Name": "subnet-id", "Values": [sub.SubnetId]}]}).InstanceSet
    assert [x.InstanceId for x in got] == [iid]


def test_first_use_from_many_threads_creates_one_default_network(server):
    created, c, v = network_account(server)
    results, lock = [], threading.Lock()

    def describe():
        client = vpc_for(server, created)
        got = vcall(client, "DescribeVpcs", {}).VpcSet
        with lock:
            results.append(tuple(x.VpcId for x in got))

    threads = [threading.Thread(target=describe) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12 and len(set(results)) == 1 and len(results[0]) == 1
    groups = vcall(v, "DescribeSecurityGroups", {}).SecurityGroupSet
    assert [g.SecurityGroupName for g in groups] == ["default"]


def test_create_subnets_in_one_call(server):
    created, c, v = network_account(server)
    vpc = vcall(v, "CreateVpc", {"VpcName": "multi", "CidrBlock": "10.50.0.0/16"}).Vpc
    got = vcall(v, "CreateSubnets", {"VpcId": vpc.VpcId, "Tags": [{"Key": "k", "Value": "v"}], "Subnets": [
        {"SubnetName": "a", "CidrBlock": "10.50.0.0/24", "Zone": "ap-guangzhou-3"},
        {"SubnetName": "b", "CidrBlock": "10.50.1.0/24", "Zone": "ap-guangzhou-4"}]}).SubnetSet
    assert [(s.SubnetName, s.Zone, s.TagSet[0].Key) for s in got] == [("a", "ap-guangzhou-3", "k"),
                                                                       ("b", "ap-guangzhou-4", "k")]
    listed = vcall(v, "DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": [vpc.VpcId]},
                                                      {"Name": "zone", "Values": ["ap-guangzhou-4"]}]}).SubnetSet
    assert [s.SubnetName for s in listed] == ["b"]


def test_vpc_limit(server):
    created, c, v = network_account(server)
    have = vcall(v, "DescribeVpcs", {}).TotalCount
    for i in range(20 - have):
        vcall(v, "CreateVpc", {"VpcName": f"v{i}", "CidrBlock": f"10.{i}.0.0/16"})
    assert refused(lambda: vcall(v, "CreateVpc", {"VpcName": "one-too-many", "CidrBlock": "10.99.0.0/16"})) == \
        "LimitExceeded"  # CreateVpc documents the common LimitExceeded, not VpcLimitExceeded
    assert vcall(v, "DescribeVpcs", {"Limit": "100"}).TotalCount == 20
    got = vcall(v, "DescribeVpcs", {"Offset": "5", "Limit": "10"})
    assert got.TotalCount == 20 and len(got.VpcSet) == 10
    assert refused(lambda: vcall(v, "DescribeVpcs", {"Limit": "x"})) == "InvalidParameterValue"
