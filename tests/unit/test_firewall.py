"""The security-group evaluator (services/network/firewall.py) and the rule checks (rules.py): first
match in order across the instance's groups, DROP above ACCEPT, sources, port ranges and lists,
protocols, default deny."""

from __future__ import annotations

import pytest

from localcvm.services import errors
from localcvm.services.network import PolicyInput, PolicyView
from localcvm.services.network.firewall import evaluate
from localcvm.services.network.rules import check_version, normalize, port_ranges


def rule(i, protocol="TCP", port="ALL", cidr="0.0.0.0/0", action="ACCEPT", ref="", ipv6=""):
    return PolicyView(i, protocol, port, "" if ref or ipv6 else cidr, ipv6, ref, action, "")


def allowed(groups, src="127.0.0.1", proto="TCP", port=22, members=None):
    return evaluate(groups, src, proto, port, members or {}).allowed


def test_default_deny_without_rules():
    assert not allowed([])
    assert not allowed([("sg-aaaaaaaa", [])])
    d = evaluate([("sg-aaaaaaaa", [])], "127.0.0.1", "TCP", 22, {})
    assert d.rule is None and "default deny" in d.reason


def test_first_match_decides_drop_above_accept():
    drop_then_accept = [rule(0, port="22", action="DROP"), rule(1, port="22")]
    assert not allowed([("sg-aaaaaaaa", drop_then_accept)])
    accept_then_drop = [rule(0, port="22"), rule(1, port="22", action="DROP")]
    assert allowed([("sg-aaaaaaaa", accept_then_drop)])
    d = evaluate([("sg-aaaaaaaa", drop_then_accept)], "127.0.0.1", "TCP", 22, {})
    assert d.sg_id == "sg-aaaaaaaa" and d.rule.index == 0 and d.rule.action == "DROP"


def test_groups_apply_in_the_instance_order():
    a = ("sg-aaaaaaaa", [rule(0, port="80", action="DROP")])
    b = ("sg-bbbbbbbb", [rule(0, port="80")])
    assert not allowed([a, b], port=80)
    assert allowed([b, a], port=80)


def test_source_address_127_addresses_are_distinct_networks():
    groups = [("sg-aaaaaaaa", [rule(0, port="8080", cidr="127.0.0.2/32")])]
    assert allowed(groups, src="127.0.0.2", port=8080)
    assert not allowed(groups, src="127.0.0.3", port=8080)
    assert not allowed(groups, src="127.0.0.1", port=8080)
    wide = [("sg-aaaaaaaa", [rule(0, port="8080", cidr="127.0.0.0/30")])]
    assert allowed(wide, src="127.0.0.3", port=8080) and not allowed(wide, src="127.0.0.4", port=8080)
    assert allowed(groups, src="::ffff:127.0.0.2", port=8080)  # an IPv4-mapped client is its IPv4 address


def test_port_single_range_list_and_all():
    g = lambda port: [("sg-aaaaaaaa", [rule(0, port=port)])]  # noqa: E731
    assert allowed(g("22"), port=22) and not allowed(g("22"), port=23)
    assert allowed(g("8000-8010"), port=8000) and allowed(g("8000-8010"), port=8010)
    assert not allowed(g("8000-8010"), port=8011) and not allowed(g("8000-8010"), port=7999)
    assert allowed(g("80,443"), port=443) and not allowed(g("80,443"), port=444)
    assert allowed(g("ALL"), port=65535)


def test_protocols():
    tcp = [("sg-aaaaaaaa", [rule(0, protocol="TCP", port="53")])]
    assert allowed(tcp, proto="tcp", port=53) and not allowed(tcp, proto="UDP", port=53)
    udp = [("sg-aaaaaaaa", [rule(0, protocol="UDP", port="53")])]
    assert allowed(udp, proto="UDP", port=53) and not allowed(udp, proto="TCP", port=53)
    everything = [("sg-aaaaaaaa", [rule(0, protocol="ALL")])]
    assert allowed(everything, proto="UDP", port=9) and allowed(everything, proto="ICMP", port=0)
    icmp = [("sg-aaaaaaaa", [rule(0, protocol="ICMP")])]
    assert allowed(icmp, proto="ICMP", port=0) and not allowed(icmp, proto="TCP", port=22)


def test_security_group_sources_match_member_addresses():
    groups = [("sg-aaaaaaaa", [rule(0, ref="sg-cccccccc")])]
    members = {"sg-cccccccc": {"172.16.0.2"}}
    assert allowed(groups, src="172.16.0.2", members=members)
    assert not allowed(groups, src="172.16.0.3", members=members)


def test_ipv6_rules_match_only_ipv6_clients():
    groups = [("sg-aaaaaaaa", [rule(0, ipv6="::/0")])]
    assert allowed(groups, src="::1") and not allowed(groups, src="127.0.0.1")


def test_rule_checks():
    assert normalize(PolicyInput(protocol="tcp", port="22", cidr="10.0.0.0/8", action="accept"), "Ingress.0").action == "ACCEPT"
    assert normalize(PolicyInput(protocol="ICMP", cidr="0.0.0.0/0", action="DROP"), "Ingress.0").port == "ALL"
    cases = [
        (PolicyInput(protocol="SCTP", cidr="0.0.0.0/0", action="ACCEPT"), "InvalidParameterValue.Range"),
        (PolicyInput(protocol="ICMP", port="22", cidr="0.0.0.0/0", action="ACCEPT"), "InvalidParameter.Coexist"),
        (PolicyInput(protocol="TCP", port="0", cidr="0.0.0.0/0", action="ACCEPT"), "InvalidParameterValue.Range"),
        (PolicyInput(protocol="TCP", port="90-80", cidr="0.0.0.0/0", action="ACCEPT"), "InvalidParameterValue.Range"),
        (PolicyInput(protocol="TCP", port="http", cidr="0.0.0.0/0", action="ACCEPT"), "InvalidParameterValue.Malformed"),
        (PolicyInput(protocol="TCP", cidr="10.0.0.0/33", action="ACCEPT"), "InvalidParameterValue.Malformed"),
        (PolicyInput(protocol="TCP", ipv6_cidr="10.0.0.0/8", action="ACCEPT"), "InvalidParameterValue.Malformed"),
        (PolicyInput(protocol="TCP", cidr="10.0.0.0/8", ref_sg_id="sg-aaaaaaaa", action="ACCEPT"),
         "InvalidParameter.Coexist"),
        (PolicyInput(protocol="TCP", action="ACCEPT"), "MissingParameter"),
        (PolicyInput(protocol="TCP", cidr="10.0.0.0/8", action="ALLOW"), "InvalidParameterValue.Range"),
        (PolicyInput(protocol="TCP", ref_sg_id="sg-1", action="ACCEPT"), "InvalidSecurityGroupID.Malformed"),
    ]
    for p, code in cases:
        with pytest.raises(errors.ApiError) as e:
            normalize(p, "Ingress.0")
        assert e.value.code == code, (p, e.value.code)
    assert port_ranges("80,8000-8010") == [(80, 80), (8000, 8010)]


def test_version_check():
    check_version(None, 3)
    check_version("3", 3)
    with pytest.raises(errors.ApiError) as e:
        check_version("2", 3)
    assert e.value.code == "UnsupportedOperation.VersionMismatch"
