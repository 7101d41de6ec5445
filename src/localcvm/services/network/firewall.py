"""Which new connection an instance's security groups let in: the groups in their order, in each the
ingress rules in their order; the first rule that matches the protocol, the port and the source
decides (ACCEPT or DROP); nothing matching is refused (the real service's default deny on ingress).

A rule whose source is a security group matches the private addresses of the instances in that group.
A loopback source (127.x.y.z) is compared as the plain IPv4 address it is, so a client binding
127.0.0.2 stands for a different network than one binding 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from .rules import port_ranges
from .views import Decision, PolicyView


def rule_matches(rule: PolicyView, source: ipaddress.IPv4Address | ipaddress.IPv6Address, protocol: str, port: int,
                 members: Mapping[str, set[str]]) -> bool:
    if rule.protocol != "ALL" and rule.protocol != protocol:
        return False
    if rule.protocol in ("TCP", "UDP") and not any(lo <= port <= hi for lo, hi in port_ranges(rule.port)):
        return False
    if rule.ref_sg_id:
        return str(source) in members.get(rule.ref_sg_id, set())
    block = rule.cidr if source.version == 4 else rule.ipv6_cidr
    if not block:
        return False
    return source in ipaddress.ip_network(block, strict=False)


def evaluate(groups: Sequence[tuple[str, Sequence[PolicyView]]], source_ip: str, protocol: str, port: int,
             members: Mapping[str, set[str]]) -> Decision:
    """The decision for one new connection: ``groups`` are (group ID, its ingress rules) in the
    instance's order; ``members`` the private addresses of the groups named as sources."""
    try:
        source = ipaddress.ip_address(source_ip)
    except ValueError:
        return Decision(False, reason=f"`{source_ip}` is not an IP address")
    if source.version == 6 and source.ipv4_mapped is not None:
        source = source.ipv4_mapped
    protocol = protocol.upper()
    for sg_id, rules in groups:
        for rule in rules:
            if rule_matches(rule, source, protocol, port, members):
                return Decision(rule.action == "ACCEPT", sg_id, rule, f"{sg_id} ingress rule {rule.index}")
    return Decision(False, reason="no rule matches (default deny)")
