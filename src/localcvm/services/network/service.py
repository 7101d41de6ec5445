"""``NetworkService``: VPCs, subnets, private addresses, security groups and the firewall's answer."""

from __future__ import annotations

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

    def ensure(self, identity: Identity, region: str, *, force: bool = False) -> None:
        """The account's default network in ``region`` (see ``defaults``), created on first use; one
        indexed read when it exists. ``force`` (CreateDefaultVpc, CreateDefaultSecurityGroup) also
        recreates a default VPC or group that was deleted."""
        r = self.regions.get(region, product="vpc")
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            have_vpc = nr.get_vpc(defaults.default_vpc(identity.uin, region)) is not None
            have_group = nr.get_group(defaults.default_group(identity.uin, region)) is not None
            if have_vpc and (have_group or not force):
                return
            if not force and nr.groups_of(identity.uin, region):
                have_group = True  # a first use after the default VPC was deleted: nothing comes back uninvited
        with self.db.write() as repo:
            repo.lock(f"network:{identity.uin}:{region}")
            if force or not have_vpc:
                defaults.write_defaults(repo, identity.uin, r, group=force or not have_group)

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
            members: dict[str, set[str]] = {ref: set() for ref in refs}
            if refs:
                others = repo.instances_of(row.owner_uin, row.region)
                placed = self.placements(repo, others)
                for other in others:
                    for sg in set(groups_of_instance(other)) & refs:
                        members[sg].add(placed[other.instance_id].ip)
        by_group = {sg: [policy_view(p) for p in policies if p.sg_id == sg] for sg in order}
        return evaluate([(sg, by_group[sg]) for sg in order], source_ip, protocol, port, members)

    def connection_allowed(self, instance_id: str, source_ip: str, protocol: str, port: int) -> bool:
        """The port proxy's callback: one small read per new connection, so a rule change applies to the
        next connection without restarting anything."""
        return self.explain(instance_id, source_ip, protocol, port).allowed
