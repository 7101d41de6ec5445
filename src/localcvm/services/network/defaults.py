"""The default network of an account in a region, as a new Tencent Cloud account has it: a default VPC
(172.16.0.0/16), a default subnet per zone (172.16.0.0/20, 172.16.16.0/20, ... in zone order) and the
``default`` security group. They are created the first time the account uses the region (any call
that needs them). Their IDs are derived from the account, region and zone, so that two concurrent
first calls create one network (the second insert collides and is dropped), and instances launched
before networks had rows still point at them."""

from __future__ import annotations

import hashlib
import ipaddress
import json

from ...store.models_network import SecurityGroup, SecurityGroupPolicy, Subnet, Vpc
from ...store.repo import Repo, utcnow
from ...store.repo_network import NetworkRepo
from ..regions import Region

DEFAULT_VPC_CIDR = "172.16.0.0/16"
DEFAULT_VPC_NAME = "Default-VPC"
DEFAULT_SUBNET_NAME = "Default-Subnet"
DEFAULT_SG_NAME = "default"
DEFAULT_SG_DESCRIPTION = "System created security group"
# The default group's rules: remote login, web and ping from anywhere, everything from the private
# ranges; every outbound connection.
DEFAULT_INGRESS = (("TCP", "22", "0.0.0.0/0"), ("TCP", "3389", "0.0.0.0/0"), ("TCP", "80,443", "0.0.0.0/0"),
                   ("ICMP", "ALL", "0.0.0.0/0"), ("ALL", "ALL", "10.0.0.0/8"), ("ALL", "ALL", "172.16.0.0/12"),
                   ("ALL", "ALL", "192.168.0.0/16"))
DEFAULT_EGRESS = (("ALL", "ALL", "0.0.0.0/0"),)

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _short_id(prefix: str, seed: str) -> str:
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return f"{prefix}-{''.join(chars)}"


def default_vpc(uin: str, region: str) -> str:
    return _short_id("vpc", f"vpc:{uin}:{region}")


def default_subnet(uin: str, zone: str) -> str:
    return _short_id("subnet", f"subnet:{uin}:{zone}")


def default_group(uin: str, region: str) -> str:
    return _short_id("sg", f"sg:{uin}:{region}")


def default_subnet_cidr(position: int) -> str:
    """The default subnet of the zone at ``position`` in its region: the position-th /20 of the VPC."""
    return str(ipaddress.IPv4Network(DEFAULT_VPC_CIDR).network_address + 4096 * position) + "/20"


def write_defaults(repo: Repo, uin: str, region: Region, *, vpc: bool = True, group: bool = True) -> None:
    """The default VPC, its subnets and the default group, when missing (``repo`` is a write
    transaction that holds the account's region lock)."""
    net, now = NetworkRepo(repo), utcnow()
    vpc_id = default_vpc(uin, region.region)
    if vpc and net.get_vpc(vpc_id) is None:
        repo.add(Vpc(vpc_id=vpc_id, owner_uin=uin, region=region.region, name=DEFAULT_VPC_NAME, cidr=DEFAULT_VPC_CIDR,
                     is_default=True, enable_multicast=False, dns_servers=json.dumps(["183.60.83.19", "183.60.82.98"]),
                     domain_name="", created_at=now))
        repo.session.flush()
        for position, zone in enumerate(region.zones[:16]):
            repo.add(Subnet(subnet_id=default_subnet(uin, zone.zone), vpc_id=vpc_id, owner_uin=uin, region=region.region,
                            zone=zone.zone, name=DEFAULT_SUBNET_NAME, cidr=default_subnet_cidr(position),
                            is_default=True, enable_broadcast=False, created_at=now))
    sg_id = default_group(uin, region.region)
    if group and net.get_group(sg_id) is None:
        repo.add(SecurityGroup(sg_id=sg_id, owner_uin=uin, region=region.region, name=DEFAULT_SG_NAME,
                               description=DEFAULT_SG_DESCRIPTION, project_id=0, is_default=True, version=0,
                               created_at=now, updated_at=now))
        repo.session.flush()
        for direction, rules in (("ingress", DEFAULT_INGRESS), ("egress", DEFAULT_EGRESS)):
            net.set_policies(sg_id, direction, [
                SecurityGroupPolicy(protocol=proto, port=port, cidr=cidr, ipv6_cidr="", ref_sg_id="", action="ACCEPT",
                                    description="", modified_at=now) for proto, port, cidr in rules])
    repo.session.flush()
