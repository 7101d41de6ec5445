"""Private addresses: where RunInstances puts an instance (the subnet given, or the default subnet of
its zone) and which address it gets (the one requested, or the lowest free one). An address is taken
by a row of ``ip_allocations`` whose primary key is (subnet, address), written in the transaction
that writes the instance, after the subnet's lock: no two instances ever hold one address, and an
exhausted subnet refuses the launch (FailedOperation.NoAvailableIpAddressCountInSubnet)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...store.models_network import IpAllocation
from ...store.repo import Repo, utcnow
from ...store.repo_network import NetworkRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id
from ..query import check_page
from .defaults import default_subnet, default_vpc
from .views import Placement, UsedAddress


@dataclass(frozen=True)
class SubnetChoice:
    """A checked VirtualPrivateCloud: the subnet instances go to and the addresses asked for."""

    vpc_id: str
    subnet_id: str
    cidr: str
    ips: tuple[str, ...] = ()


def host_candidates(cidr: str):
    """The addresses of a subnet an instance may get: all but the network address, the gateway (the
    first host) and the broadcast address."""
    net = ipaddress.IPv4Network(cidr)
    first, last = int(net.network_address) + 2, int(net.broadcast_address) - 1
    for n in range(first, last + 1):
        yield str(ipaddress.IPv4Address(n))


class AddressOps:
    """Placement and addresses (a part of ``NetworkService``)."""

    def choose_subnet(self, identity: Identity, region: str, zone: str, vpc_id: str | None, subnet_id: str | None,
                      ips: list[str] | None, count: int) -> SubnetChoice:
        """RunInstances' VirtualPrivateCloud (and PrivateIpAddresses), checked with cvm's codes."""
        self.ensure(identity, region)
        if bool(vpc_id) != bool(subnet_id):
            raise errors.MissingParameter("VirtualPrivateCloud needs both VpcId and SubnetId.")
        if vpc_id and not is_id("vpc", vpc_id):
            raise errors.InvalidParameterValueVpcIdMalformed(f"The VPC ID `{vpc_id}` is malformed (expected vpc-xxxxxxxx).")
        if subnet_id and not is_id("subnet", subnet_id):
            raise errors.InvalidParameterValueSubnetIdMalformed(
                f"The subnet ID `{subnet_id}` is malformed (expected subnet-xxxxxxxx).")
        vpc_id = vpc_id or default_vpc(identity.uin, region)
        subnet_id = subnet_id or default_subnet(identity.uin, zone)
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            vpc, subnet = nr.get_vpc(vpc_id), nr.get_subnet(subnet_id)
        if vpc is None or vpc.owner_uin != identity.uin or vpc.region != region:
            raise errors.InvalidParameterValueVpcIdNotExist(f"The VPC `{vpc_id}` does not exist in {region}.")
        if subnet is None or subnet.owner_uin != identity.uin or subnet.region != region:
            raise errors.InvalidParameterValueSubnetNotExist(f"The subnet `{subnet_id}` does not exist in {region}.")
        if subnet.vpc_id != vpc_id:
            raise errors.InvalidParameterValueVpcIdSubnetIdNotMatch(f"The subnet `{subnet_id}` is not in the VPC `{vpc_id}`.")
        if subnet.zone != zone:
            raise errors.InvalidParameterValueSubnetIdZoneIdNotMatch(
                f"The subnet `{subnet_id}` is in {subnet.zone}, the instances in {zone}.")
        wanted = self._check_ips(list(ips or []), subnet.cidr, count)
        return SubnetChoice(vpc_id, subnet_id, subnet.cidr, tuple(wanted))

    @staticmethod
    def _check_ips(ips: list[str], cidr: str, count: int) -> list[str]:
        if not ips:
            return []
        if len(ips) != count:
            raise errors.InvalidParameterValue(
                f"PrivateIpAddresses lists {len(ips)} addresses for {count} instances; give one per instance.")
        if len(set(ips)) != len(ips):
            raise errors.InvalidParameterValueDuplicate("PrivateIpAddresses lists an address twice.")
        hosts = ipaddress.IPv4Network(cidr)
        for ip in ips:
            try:
                addr = ipaddress.IPv4Address(ip)
            except ValueError:
                raise errors.InvalidParameterValueIPAddressMalformed(f"`{ip}` is not an IPv4 address.") from None
            if addr not in hosts:
                raise errors.VpcAddrNotInSubNet(f"The address {ip} is not in the subnet's CIDR {cidr}.")
            if int(addr) - int(hosts.network_address) < 2 or addr == hosts.broadcast_address:
                raise errors.VpcIpIsUsed(f"The address {ip} is reserved in {cidr} (network, gateway, broadcast).")
        return ips

    def allocate(self, repo: Repo, owner_uin: str, choice: SubnetChoice, resource_ids: list[str]) -> list[str]:
        """Take one address per resource in ``repo``'s transaction (the subnet's lock serialises takers)."""
        repo.lock(f"subnet:{choice.subnet_id}")
        nr = NetworkRepo(repo)
        if nr.get_subnet(choice.subnet_id) is None:  # deleted since it was checked
            raise errors.InvalidParameterValueSubnetNotExist(f"The subnet `{choice.subnet_id}` does not exist.")
        used = nr.used_ips(choice.subnet_id)
        if choice.ips:
            taken = [ip for ip in choice.ips if ip in used]
            if taken:
                raise errors.VpcIpIsUsed(f"The address {taken[0]} is in use in the subnet `{choice.subnet_id}`.")
            ips = list(choice.ips)
        else:
            ips = []
            for ip in host_candidates(choice.cidr):
                if ip not in used:
                    ips.append(ip)
                    if len(ips) == len(resource_ids):
                        break
            if len(ips) < len(resource_ids):
                raise errors.FailedOperationNoAvailableIpAddressCountInSubnet(
                    f"The subnet `{choice.subnet_id}` ({choice.cidr}) has {len(ips)} free address(es), "
                    f"{len(resource_ids)} needed.")
        now = utcnow()
        for ip, rid in zip(ips, resource_ids):
            repo.add(IpAllocation(subnet_id=choice.subnet_id, ip=ip, vpc_id=choice.vpc_id, owner_uin=owner_uin,
                                  resource_type="cvm", resource_id=rid, created_at=now))
        repo.session.flush()
        return ips

    def placements(self, repo: Repo, rows) -> dict[str, Placement]:
        """{instance ID: its VPC, subnet and address} for instance rows (rows from before networks had
        rows show the account's default network)."""
        found = NetworkRepo(repo).allocations_of([r.instance_id for r in rows])
        out = {}
        for r in rows:
            a = found.get(r.instance_id)
            out[r.instance_id] = Placement(a.vpc_id, a.subnet_id, a.ip) if a else \
                Placement(default_vpc(r.owner_uin, r.region), default_subnet(r.owner_uin, r.zone), r.private_ip)
        return out

    def subnet_cidr(self, repo: Repo, row) -> str | None:
        """The CIDR of the subnet an instance row's address is in (None for rows from before networks
        had rows): the QEMU driver gives the guest that network."""
        found = NetworkRepo(repo).allocations_of([row.instance_id]).get(row.instance_id)
        subnet = NetworkRepo(repo).get_subnet(found.subnet_id) if found is not None else None
        return subnet.cidr if subnet is not None else None

    def used_addresses(self, identity: Identity, region: str, vpc_id: str, subnet_id: str | None,
                       ips: list[str] | None, offset: int | None, limit: int | None) -> tuple[int, list[UsedAddress]]:
        """DescribeUsedIpAddress: the addresses of the VPC (and subnet) taken, among ``ips`` when given."""
        self.ensure(identity, region)
        page = check_page(offset, limit)
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            self.own_vpc(nr, identity, region, vpc_id)
            rows = nr.allocations_in_vpc(vpc_id)
        found = [UsedAddress(a.vpc_id, a.subnet_id, a.ip, a.resource_type, a.resource_id) for a in rows
                 if (not subnet_id or a.subnet_id == subnet_id) and (not ips or a.ip in ips)]
        found.sort(key=lambda a: ipaddress.IPv4Address(a.ip))
        return len(found), page.of(found)

    def private_addresses(self, identity: Identity, region: str, vpc_id: str, ips: list[str]) -> list[UsedAddress]:
        """DescribeVpcPrivateIpAddresses: the taken addresses among ``ips`` (at most 100), with their subnet's CIDR."""
        if len(ips) > 100:
            raise errors.InvalidParameterValueLimitExceeded("PrivateIpAddresses takes at most 100 addresses.")
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            self.own_vpc(nr, identity, region, vpc_id)
            cidrs = {s.subnet_id: s.cidr for s in nr.subnets_of_vpc(vpc_id)}
            rows = [a for a in nr.allocations_in_vpc(vpc_id) if a.ip in ips]
        return [UsedAddress(a.vpc_id, a.subnet_id, a.ip, a.resource_type, a.resource_id, cidrs.get(a.subnet_id, ""),
                            a.created_at) for a in rows]
