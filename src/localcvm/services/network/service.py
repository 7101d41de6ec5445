"""``NetworkService``: VPCs, subnets, private addresses, security groups and the firewall's answer."""

from __future__ import annotations

from collections.abc import Callable

from ...store.db import Database
from ...store.repo_network import NetworkRepo
from ..iam import Identity
from ..regions import RegionCatalogue
from . import defaults
from .addresses import AddressOps
from .firewall import evaluate
from .policies import PolicyOps, policy_view
from .security_groups import GroupOps, groups_of_instance
from .subnets import SubnetOps
from .views import Decision
from .vpcs import VpcOps


class NetworkService(VpcOps, SubnetOps, AddressOps, GroupOps, PolicyOps):
    def __init__(self, db: Database, regions: RegionCatalogue):
        self.db = db
        self.regions = regions

    def ensure(self, identity: Identity, region: str, *, vpc: bool = False, group: bool = False) -> None:
        """The account's default network in ``region`` (see ``defaults``), created on the account's first
        use of the region (no VPC and no security group yet); one indexed read once it exists. ``vpc``
        (CreateDefaultVpc) and ``group`` (CreateDefaultSecurityGroup) recreate a deleted default VPC or group."""
        r = self.regions.get(region, product="vpc")
        uin = identity.uin
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            if nr.get_vpc(defaults.default_vpc(uin, region)) is not None and not group:
                return
            if not (vpc or group) and (nr.vpcs_of(uin, region) or nr.groups_of(uin, region)):
                return  # the region was used before: a deleted default network stays deleted
        with self.db.write() as repo:
            repo.lock(f"network:{uin}:{region}")
            nr = NetworkRepo(repo)
            first = not nr.vpcs_of(uin, region) and not nr.groups_of(uin, region)
            defaults.write_defaults(repo, uin, r, vpc=first or vpc, group=first or group)

    # --- the firewall ---------------------------------------------------------------------------
    def explain(self, instance_id: str, source_ip: str, protocol: str, port: int) -> Decision:
        """Would the instance's security groups let this new inbound connection in, and which rule says so."""
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            if row is None:
                return Decision(False, reason=f"no instance `{instance_id}`")
            nr = NetworkRepo(repo)
            order = groups_of_instance(row)
            policies = nr.policies_of(order, "ingress")
            refs = {p.ref_sg_id for p in policies if p.ref_sg_id}
            members = nr.member_ips(row.owner_uin, row.region, refs) if refs else {}
        by_group = {sg: [policy_view(p) for p in policies if p.sg_id == sg] for sg in order}
        return evaluate([(sg, by_group[sg]) for sg in order], source_ip, protocol, port, members)

    def connection_allowed(self, instance_id: str, source_ip: str, protocol: str, port: int) -> bool:
        """The port proxy's callback: one small read per new connection, so a rule change applies to the
        next connection without restarting anything."""
        return self.explain(instance_id, source_ip, protocol, port).allowed

    def allow_for(self, instance_id: str) -> Callable[[str, str, int], bool]:
        """The per-instance callback of the QEMU driver's port proxy: ``allow(source_ip, protocol, port)``."""
        return lambda source_ip, protocol, port: self.connection_allowed(instance_id, source_ip, protocol, port)
