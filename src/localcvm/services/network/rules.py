"""Security group rules as the real API documents them (CreateSecurityGroupPolicies):

- ``Protocol`` is TCP, UDP, ICMP, ICMPV6, GRE or ALL; ``Port`` is accepted only with TCP and UDP: a
  single port (``80``), a range (``8000-8010``), a list (``80,443``) or ``ALL``;
- the source is exactly one of ``CidrBlock``, ``Ipv6CidrBlock``, ``SecurityGroupId`` (the private
  addresses of the instances in that group) and ``AddressTemplate`` (parameter templates are not
  modelled here);
- ``Action`` is ACCEPT or DROP; the rules of a direction apply in order, the first match decides;
- ``Version`` grows by one with every change; a request that gives one must give the current one.

Pure functions: the service checks references (a group named as the source exists) itself.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .. import errors
from ..ids import is_id
from .views import PolicyView

PROTOCOLS = ("TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL")
ACTIONS = ("ACCEPT", "DROP")
MAX_DESCRIPTION = 100
# DescribeSecurityGroupLimits
GROUPS_PER_REGION = 50
POLICIES_PER_DIRECTION = 100
GROUPS_PER_INSTANCE = 5
INSTANCES_PER_GROUP = 2000
REFERRED_GROUPS = 10


@dataclass(frozen=True)
class PolicyInput:
    """One SecurityGroupPolicy as a request gives it (None: not given)."""

    index: int | None = None
    protocol: str | None = None
    port: str | None = None
    cidr: str | None = None
    ipv6_cidr: str | None = None
    ref_sg_id: str | None = None
    action: str | None = None
    description: str | None = None
    template: bool = False  # ServiceTemplate or AddressTemplate given


@dataclass(frozen=True)
class PolicySetInput:
    version: str | None = None
    ingress: tuple[PolicyInput, ...] = ()
    egress: tuple[PolicyInput, ...] = ()

    def directions(self) -> list[tuple[str, tuple[PolicyInput, ...]]]:
        return [(d, ps) for d, ps in (("ingress", self.ingress), ("egress", self.egress)) if ps]


def check_version(given: str | None, current: int) -> None:
    """A given ``Version`` must be the current one (UnsupportedOperation.VersionMismatch); none skips the check."""
    if given is None or given == "":
        return
    if not re.fullmatch(r"\d{1,18}", given):
        raise errors.InvalidParameterValueMalformed(f"SecurityGroupPolicySet.Version must be a number, got `{given}`.")
    if int(given) != current:
        raise errors.UnsupportedOperationVersionMismatch(
            f"SecurityGroupPolicySet.Version is {given}, the current version is {current}; read the rules again.")


def port_ranges(port: str) -> list[tuple[int, int]]:
    """``[(low, high), ...]`` of a Port value (``ALL`` is every port)."""
    if port.upper() == "ALL" or port == "":
        return [(1, 65535)]
    out = []
    for part in port.split(","):
        m = re.fullmatch(r"\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?", part)
        if not m:
            raise errors.InvalidParameterValueMalformed(f"Port `{port}` is not a port, a range a-b or a list a,b.")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if not 1 <= lo <= hi <= 65535:
            raise errors.InvalidParameterValueRange(f"Port `{port}`: ports are 1-65535 and a range goes up.")
        out.append((lo, hi))
    return out


def normalize(p: PolicyInput, where: str) -> PolicyView:
    """The rule once every documented check passes (``where`` names it in messages: ``Ingress.0``)."""
    if p.template:
        raise errors.UnsupportedOperation(f"{where}: parameter templates (ServiceTemplate, AddressTemplate) "
                                          "are not supported by localcvm.")
    protocol = (p.protocol or "ALL").upper()
    if protocol not in PROTOCOLS:
        raise errors.InvalidParameterValueRange(f"{where}.Protocol must be one of {', '.join(PROTOCOLS)}, got `{p.protocol}`.")
    port = (p.port or "").strip()
    if protocol in ("TCP", "UDP"):
        port = port or "ALL"
        port_ranges(port)
        port = "ALL" if port.upper() == "ALL" else port
    elif port and port.upper() != "ALL":
        raise errors.InvalidParameterCoexist(f"{where}: Port is accepted only with Protocol TCP or UDP, not {protocol}.")
    else:
        port = "ALL"
    sources = [s for s in (p.cidr, p.ipv6_cidr, p.ref_sg_id) if s]
    if len(sources) > 1:
        raise errors.InvalidParameterCoexist(f"{where}: give one of CidrBlock, Ipv6CidrBlock and SecurityGroupId.")
    if not sources:
        raise errors.MissingParameter(f"{where}: one of CidrBlock, Ipv6CidrBlock and SecurityGroupId is required.")
    if p.cidr:
        _check_cidr(p.cidr, 4, f"{where}.CidrBlock")
    if p.ipv6_cidr:
        _check_cidr(p.ipv6_cidr, 6, f"{where}.Ipv6CidrBlock")
    if p.ref_sg_id and not is_id("sg", p.ref_sg_id):
        raise errors.InvalidSecurityGroupIDMalformed(f"{where}.SecurityGroupId `{p.ref_sg_id}` is malformed.")
    action = (p.action or "").upper()
    if action not in ACTIONS:
        raise errors.InvalidParameterValueRange(f"{where}.Action must be ACCEPT or DROP, got `{p.action}`.")
    description = p.description or ""
    if len(description) > MAX_DESCRIPTION:
        raise errors.InvalidParameterValueTooLong(
            f"{where}.PolicyDescription is at most {MAX_DESCRIPTION} characters, got {len(description)}.")
    return PolicyView(index=-1, protocol=protocol, port=port, cidr=(p.cidr or "").strip(),
                      ipv6_cidr=(p.ipv6_cidr or "").strip(), ref_sg_id=p.ref_sg_id or "", action=action,
                      description=description)


def _check_cidr(value: str, version: int, where: str) -> None:
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise errors.InvalidParameterValueMalformed(f"{where} `{value}` is not a CIDR block.") from None
    if net.version != version:
        raise errors.InvalidParameterValueMalformed(f"{where} `{value}` is not an IPv{version} CIDR block.")


def same_rule(a: PolicyView, b: PolicyView) -> bool:
    """Two rules that match the same traffic with the same action (UnsupportedOperation.DuplicatePolicy)."""
    return (a.protocol, a.port, a.cidr, a.ipv6_cidr, a.ref_sg_id, a.action) == \
        (b.protocol, b.port, b.cidr, b.ipv6_cidr, b.ref_sg_id, b.action)


def matches_value(rule: PolicyView, wanted: PolicyInput) -> bool:
    """A rule named by value (DeleteSecurityGroupPolicies, ReplaceSecurityGroupPolicies' original): every
    given field is equal."""
    pairs = [(wanted.protocol, rule.protocol), (wanted.port, rule.port), (wanted.cidr, rule.cidr),
             (wanted.ipv6_cidr, rule.ipv6_cidr), (wanted.ref_sg_id, rule.ref_sg_id), (wanted.action, rule.action)]
    return all(w is None or w == "" or w.upper() == have.upper() for w, have in pairs) and \
        (wanted.description is None or wanted.description == rule.description)
