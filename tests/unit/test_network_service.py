"""NetworkService in process: the default network, addresses, and the firewall's answer for real
rows (the port proxy's callback, ``allow_for``)."""

from __future__ import annotations

import pytest

from localcvm.services import errors
from localcvm.services.instances.requests import RunRequest
from localcvm.services.network import PolicyInput, PolicySetInput, SubnetInput

from tests.unit.services_util import new_identity

REGION, ZONE = "ap-guangzhou", "ap-guangzhou-3"


def _image(services) -> str:
    return next(v.image_id for v in services.images.catalogue.in_region(REGION)
                if v.os_type == "Linux" and v.architecture != "arm")


def test_instances_get_addresses_and_the_firewall_reads_the_rules(services):
    me = new_identity(services, "fw")
    net = services.network
    rules = PolicySetInput(ingress=(PolicyInput(protocol="TCP", port="22", cidr="127.0.0.2/32", action="ACCEPT"),))
    sg = net.create_group(me, REGION, "ssh", "ssh", None, {}, rules)
    vpc = net.create_vpc(me, REGION, "v", "10.1.0.0/16")
    (sub,) = net.create_subnets(me, REGION, vpc.vpc_id, [SubnetInput("s", "10.1.2.0/28", ZONE, {})])
    assert sub.total_ips == 13
    ids = services.instances.run(me, REGION, "req-1", RunRequest(
        zone=ZONE, image_id=_image(services), count=2, security_group_ids=(sg.sg_id,), vpc_id=vpc.vpc_id,
        subnet_id=sub.subnet_id))
    _, views = services.instances.describe(me, REGION, ids=ids, filters=None, offset=None, limit=None)
    assert sorted(v.private_ip for v in views) == ["10.1.2.2", "10.1.2.3"]
    assert {v.subnet_id for v in views} == {sub.subnet_id}
    allow = net.allow_for(ids[0])
    assert allow("127.0.0.2", "TCP", 22) and not allow("127.0.0.3", "TCP", 22) and not allow("127.0.0.2", "TCP", 23)
    d = net.explain(ids[0], "127.0.0.2", "TCP", 22)
    assert d.sg_id == sg.sg_id and d.rule.index == 0
    net.create_policies(me, REGION, sg.sg_id, PolicySetInput(ingress=(
        PolicyInput(index=0, protocol="ALL", cidr="127.0.0.0/8", action="DROP"),)))
    assert not allow("127.0.0.2", "TCP", 22)  # the next connection sees the change
    with pytest.raises(errors.ApiError) as e:
        services.instances.run(me, REGION, "req-2", RunRequest(
            zone=ZONE, image_id=_image(services), count=12, vpc_id=vpc.vpc_id, subnet_id=sub.subnet_id))
    assert e.value.code == "FailedOperation.NoAvailableIpAddressCountInSubnet"
    assert services.instances.describe(me, REGION, ids=None, filters=None, offset=None, limit=None)[0] == 2
    assert not net.connection_allowed("ins-zzzzzzzz", "127.0.0.2", "TCP", 22)


def test_default_network_is_made_once_and_per_account(services):
    a, b = new_identity(services, "a"), new_identity(services, "b")
    net = services.network
    net.ensure(a, REGION)
    net.ensure(a, REGION)
    (va,) = net.describe_vpcs(a, REGION, None, None, None, None)[1]
    (vb,) = net.describe_vpcs(b, REGION, None, None, None, None)[1]
    assert va.is_default and vb.is_default and va.vpc_id != vb.vpc_id and va.cidr == "172.16.0.0/16"
    subnets = net.describe_subnets(a, REGION, None, None, None, "100")[1]
    zones = [z.zone for z in services.regions.get(REGION).zones]
    assert sorted(s.zone for s in subnets) == sorted(zones)
    first = next(s for s in subnets if s.zone == zones[0])
    assert first.cidr == "172.16.0.0/20" and first.total_ips == 4093
