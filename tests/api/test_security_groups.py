"""Issue 21: security groups and their rules with the official SDK (vpc_client) over HTTP, and the
firewall's answer for an instance (`localcvm network check`)."""

from __future__ import annotations

from .instances_util import call, instance, public_image, wait_state
from .vpc_util import network_account, refused, vcall


def _rules(v, sg):
    return vcall(v, "DescribeSecurityGroupPolicies", {"SecurityGroupId": sg}).SecurityGroupPolicySet


def _ingress(v, sg):
    return [(p.PolicyIndex, p.Protocol, p.Port, p.CidrBlock or p.SecurityGroupId, p.Action) for p in _rules(v, sg).Ingress]


def _check(server, iid, src, proto, port):
    out = server.cli("network", "check", iid, src, proto, str(port), check=False)
    return out.stdout.split(":")[0].strip()


def test_group_lifecycle_and_rules(server):
    created, c, v = network_account(server)
    sg = vcall(v, "CreateSecurityGroup", {"GroupName": "web", "GroupDescription": "web tier",
                                          "Tags": [{"Key": "env", "Value": "ci"}]}).SecurityGroup
    assert sg.SecurityGroupId.startswith("sg-") and not sg.IsDefault and sg.TagSet[0].Value == "ci"
    sid = sg.SecurityGroupId
    assert _rules(v, sid).Version == "0" and _ingress(v, sid) == []
    vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Ingress": [
        {"Protocol": "TCP", "Port": "22", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"},
        {"Protocol": "tcp", "Port": "80,443", "CidrBlock": "0.0.0.0/0", "Action": "accept"}]}})
    vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Ingress": [
        {"PolicyIndex": 0, "Protocol": "TCP", "Port": "8000-8010", "CidrBlock": "127.0.0.2", "Action": "DROP"}]}})
    assert _ingress(v, sid) == [(0, "TCP", "8000-8010", "127.0.0.2", "DROP"), (1, "TCP", "22", "10.0.0.0/8", "ACCEPT"),
                                (2, "TCP", "80,443", "0.0.0.0/0", "ACCEPT")]
    assert _rules(v, sid).Version == "2"
    dropped = vcall(v, "DescribeSecurityGroupPolicies", {"SecurityGroupId": sid, "Filters": [
        {"Name": "poly", "Values": ["DROP"]}, {"Name": "direction", "Values": ["INGRESS"]}]}).SecurityGroupPolicySet
    assert [(p.PolicyIndex, p.Port) for p in dropped.Ingress] == [(0, "8000-8010")]
    # stale Version, duplicates, bad values and limits are refused and change nothing
    stale = {"Version": "1", "Ingress": [{"Protocol": "UDP", "Port": "53", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]}
    assert refused(lambda: vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": stale})) == \
        "UnsupportedOperation.VersionMismatch"
    dup = {"Ingress": [{"Protocol": "TCP", "Port": "22", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"}]}
    assert refused(lambda: vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": dup})) == \
        "UnsupportedOperation.DuplicatePolicy"
    many = {"Egress": [{"Protocol": "TCP", "Port": str(1000 + i), "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}
                       for i in range(101)]}
    assert refused(lambda: vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": many})) == \
        "LimitExceeded.SecurityGroupPolicySet"
    bad = {"Ingress": [{"Protocol": "ICMP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]}
    assert refused(lambda: vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": bad})) == \
        "InvalidParameter.Coexist"
    ghost = {"Ingress": [{"Protocol": "TCP", "SecurityGroupId": "sg-zzzzzzzz", "Action": "ACCEPT"}]}
    assert refused(lambda: vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": ghost})) == "ResourceNotFound"
    assert _rules(v, sid).Version == "2" and len(_ingress(v, sid)) == 3 and _rules(v, sid).Egress == []
    # replace one by index, then delete by value and by index
    vcall(v, "ReplaceSecurityGroupPolicy", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Version": "2", "Ingress": [
        {"PolicyIndex": 1, "Protocol": "TCP", "Port": "2222", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"}]}})
    assert _ingress(v, sid)[1] == (1, "TCP", "2222", "10.0.0.0/8", "ACCEPT")
    vcall(v, "DeleteSecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Ingress": [
        {"Protocol": "TCP", "Port": "80,443", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]}})
    vcall(v, "DeleteSecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Ingress": [
        {"PolicyIndex": 0}]}})
    assert _ingress(v, sid) == [(0, "TCP", "2222", "10.0.0.0/8", "ACCEPT")]
    # the whole set at once; Version 0 clears it
    vcall(v, "ModifySecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {
        "Ingress": [{"Protocol": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "DROP"}],
        "Egress": [{"Protocol": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]}})
    assert _ingress(v, sid) == [(0, "ALL", "ALL", "0.0.0.0/0", "DROP")] and len(_rules(v, sid).Egress) == 1
    vcall(v, "ModifySecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {"Version": "0"}})
    assert _ingress(v, sid) == [] and _rules(v, sid).Egress == []
    # attributes, clone, statistics, limits
    vcall(v, "ModifySecurityGroupAttribute", {"SecurityGroupId": sid, "GroupName": "web2"})
    got = vcall(v, "DescribeSecurityGroups", {"SecurityGroupIds": [sid]}).SecurityGroupSet
    assert [g.SecurityGroupName for g in got] == ["web2"]
    clone = vcall(v, "CloneSecurityGroup", {"SecurityGroupId": sid, "GroupName": "copy"}).SecurityGroup
    assert clone.SecurityGroupId != sid and clone.SecurityGroupName == "copy"
    lim = vcall(v, "DescribeSecurityGroupLimits", {}).SecurityGroupLimitSet
    assert lim.SecurityGroupPolicyLimit == 100 and lim.InstanceSecurityGroupLimit == 5
    vcall(v, "DeleteSecurityGroup", {"SecurityGroupId": clone.SecurityGroupId})
    assert refused(lambda: vcall(v, "DeleteSecurityGroup", {"SecurityGroupId": clone.SecurityGroupId})) == \
        "ResourceNotFound"


def test_groups_of_instances_and_the_firewall(server):
    created, c, v = network_account(server)
    image = public_image(c)
    app = vcall(v, "CreateSecurityGroupWithPolicies", {
        "GroupName": "app", "GroupDescription": "app",
        "SecurityGroupPolicySet": {"Ingress": [{"Protocol": "TCP", "Port": "22", "CidrBlock": "127.0.0.5/32",
                                                "Action": "ACCEPT"}]}}).SecurityGroup.SecurityGroupId
    peers = vcall(v, "CreateSecurityGroup", {"GroupName": "peers", "GroupDescription": "p"}).SecurityGroup.SecurityGroupId
    (iid,) = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                      "SecurityGroupIds": [app]}).InstanceIdSet
    wait_state(c, [iid], "RUNNING")
    assert instance(c, iid).SecurityGroupIds == [app]
    # the port is open to 127.0.0.5 only
    assert _check(server, iid, "127.0.0.5", "TCP", 22) == "allowed"
    assert _check(server, iid, "127.0.0.6", "TCP", 22) == "denied"
    assert _check(server, iid, "127.0.0.5", "TCP", 8080) == "denied"
    # a rule change applies to the next connection: a DROP above the ACCEPT wins
    vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": app, "SecurityGroupPolicySet": {"Ingress": [
        {"PolicyIndex": 0, "Protocol": "TCP", "Port": "22", "CidrBlock": "127.0.0.0/24", "Action": "DROP"}]}})
    assert _check(server, iid, "127.0.0.5", "TCP", 22) == "denied"
    # an SG-referencing rule admits the private addresses of the group's instances
    (other,) = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image,
                                        "SecurityGroupIds": [peers]}).InstanceIdSet
    other_ip = instance(c, other).PrivateIpAddresses[0]
    vcall(v, "CreateSecurityGroupPolicies", {"SecurityGroupId": app, "SecurityGroupPolicySet": {"Ingress": [
        {"Protocol": "TCP", "Port": "5432", "SecurityGroupId": peers, "Action": "ACCEPT"}]}})
    assert _check(server, iid, other_ip, "TCP", 5432) == "allowed"
    assert _check(server, iid, "172.16.200.200", "TCP", 5432) == "denied"
    # groups in use are not deleted; referenced groups neither
    assert refused(lambda: vcall(v, "DeleteSecurityGroup", {"SecurityGroupId": app})) == "ResourceInUse"
    stats = vcall(v, "DescribeSecurityGroupAssociationStatistics", {"SecurityGroupIds": [app, peers]})
    assert {s.SecurityGroupId: s.CVM for s in stats.SecurityGroupAssociationStatisticsSet} == {app: 1, peers: 1}
    refs = vcall(v, "DescribeSecurityGroupReferences", {"SecurityGroupIds": [peers]}).ReferredSecurityGroupSet
    assert refs[0].ReferredSecurityGroupIds == [app]
    # cvm: associate, disassociate, ModifyInstancesAttribute
    call(c, "AssociateSecurityGroups", {"SecurityGroupIds": [peers], "InstanceIds": [iid]})
    assert instance(c, iid).SecurityGroupIds == [app, peers]
    call(c, "DisassociateSecurityGroups", {"SecurityGroupIds": [app], "InstanceIds": [iid]})
    assert instance(c, iid).SecurityGroupIds == [peers]
    call(c, "ModifyInstancesAttribute", {"InstanceIds": [iid], "SecurityGroups": [app, peers]})
    assert instance(c, iid).SecurityGroupIds == [app, peers]
    assert refused(lambda: call(c, "ModifyInstancesAttribute", {"InstanceIds": [iid], "SecurityGroups": ["sg-zzzzzzzz"]})) \
        == "InvalidSecurityGroupId.NotFound"
    assert refused(lambda: call(c, "AssociateSecurityGroups", {"SecurityGroupIds": ["sg-1"], "InstanceIds": [iid]})) \
        == "InvalidSgId.Malformed"
    assert instance(c, iid).SecurityGroupIds == [app, peers]
    call(c, "TerminateInstances", {"InstanceIds": [iid, other]})


def test_default_group(server):
    created, c, v = network_account(server)
    d = vcall(v, "CreateDefaultSecurityGroup", {}).SecurityGroup
    assert d.IsDefault and d.SecurityGroupName == "default"
    again = vcall(v, "CreateDefaultSecurityGroup", {}).SecurityGroup
    assert again.SecurityGroupId == d.SecurityGroupId
    ing = _ingress(v, d.SecurityGroupId)
    assert (0, "TCP", "22", "0.0.0.0/0", "ACCEPT") in ing
    dv = vcall(v, "CreateDefaultVpc", {}).Vpc
    assert dv.CidrBlock == "172.16.0.0/16" and dv.SubnetId.startswith("subnet-")
    assert vcall(v, "CheckDefaultSubnet", {"Zone": "ap-guangzhou-3"}).Result is True


def test_deleted_default_vpc_stays_deleted_until_create_default_vpc(server):
    created, c, v = network_account(server)
    (default,) = vcall(v, "DescribeVpcs", {}).VpcSet
    vcall(v, "DeleteVpc", {"VpcId": default.VpcId})
    assert vcall(v, "DescribeVpcs", {}).TotalCount == 0
    assert vcall(v, "DescribeSubnets", {}).TotalCount == 0
    again = vcall(v, "CreateDefaultVpc", {"Zone": "ap-guangzhou-3"}).Vpc
    assert again.VpcId == default.VpcId
    assert [x.IsDefault for x in vcall(v, "DescribeVpcs", {}).VpcSet] == [True]


def test_replace_policies_by_value_and_stale_versions_change_nothing(server):
    created, c, v = network_account(server)
    sid = vcall(v, "CreateSecurityGroupWithPolicies", {
        "GroupName": "r", "GroupDescription": "r", "SecurityGroupPolicySet": {"Ingress": [
            {"Protocol": "TCP", "Port": "22", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"},
            {"Protocol": "UDP", "Port": "53", "CidrBlock": "10.0.0.0/8", "Action": "ACCEPT"}]}}
    ).SecurityGroup.SecurityGroupId
    version = _rules(v, sid).Version
    vcall(v, "ReplaceSecurityGroupPolicies", {
        "SecurityGroupId": sid,
        "OriginalSecurityGroupPolicySet": {"Ingress": [{"Protocol": "UDP", "Port": "53", "CidrBlock": "10.0.0.0/8",
                                                        "Action": "ACCEPT"}]},
        "SecurityGroupPolicySet": {"Ingress": [{"Protocol": "UDP", "Port": "5353", "CidrBlock": "10.0.0.0/8",
                                                "Action": "DROP"}]}})
    assert _ingress(v, sid) == [(0, "TCP", "22", "10.0.0.0/8", "ACCEPT"), (1, "UDP", "5353", "10.0.0.0/8", "DROP")]
    assert int(_rules(v, sid).Version) == int(version) + 1
    before = (_rules(v, sid).Version, _ingress(v, sid))
    stale = {"Version": version, "Ingress": [{"PolicyIndex": 0}]}
    assert refused(lambda: vcall(v, "DeleteSecurityGroupPolicies", {"SecurityGroupId": sid,
                                                                    "SecurityGroupPolicySet": stale})) == \
        "UnsupportedOperation.VersionMismatch"
    assert refused(lambda: vcall(v, "ReplaceSecurityGroupPolicy", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {
        "Version": version, "Ingress": [{"PolicyIndex": 0, "Protocol": "TCP", "Port": "23", "CidrBlock": "0.0.0.0/0",
                                         "Action": "ACCEPT"}]}})) == "UnsupportedOperation.VersionMismatch"
    assert refused(lambda: vcall(v, "DeleteSecurityGroupPolicies", {"SecurityGroupId": sid, "SecurityGroupPolicySet": {
        "Ingress": [{"PolicyIndex": 7}]}})) == "InvalidParameterValue.Range"
    assert (_rules(v, sid).Version, _ingress(v, sid)) == before
