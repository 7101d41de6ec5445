"""The network an instance is shown in. localcvm models no VPCs: every account has one default VPC per
region and one default subnet per zone, as a new Tencent Cloud account does (every instance is in a
VPC; DescribeInstances always shows its VirtualPrivateCloud). Their IDs are derived from the account,
region and zone, so they are stable and distinct per account.

``DescribeUsedIpAddress`` (vpc) answers which of these networks' private addresses are taken, by the
caller's instances.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..store.db import Database
from . import errors
from .iam import Identity
from .query import check_page
from .regions import RegionCatalogue

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


@dataclass(frozen=True)
class UsedAddress:
    vpc_id: str
    subnet_id: str
    ip: str
    resource_type: str
    resource_id: str


class NetworkService:
    def __init__(self, db: Database, regions: RegionCatalogue):
        self.db = db
        self.regions = regions

    def used_addresses(self, identity: Identity, region: str, vpc_id: str, subnet_id: str | None,
                       ips: list[str] | None, offset: int | None, limit: int | None) -> tuple[int, list[UsedAddress]]:
        """DescribeUsedIpAddress: the addresses of the VPC (and subnet) the caller's instances hold,
        among ``ips`` when given."""
        self.regions.get(region, product="vpc")
        page = check_page(offset, limit)
        if vpc_id != default_vpc(identity.uin, region):
            raise errors.ResourceNotFound(f"The VPC `{vpc_id}` does not exist in {region}.")
        with self.db.read() as repo:
            rows = repo.instances_of(identity.uin, region)
            found = [UsedAddress(vpc_id, default_subnet(identity.uin, r.zone), r.private_ip, "cvm", r.instance_id)
                     for r in sorted(rows, key=lambda r: r.private_ip) if r.private_ip]
        found = [a for a in found if (not subnet_id or a.subnet_id == subnet_id) and (not ips or a.ip in ips)]
        return len(found), page.of(found)
