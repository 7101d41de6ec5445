"""Security groups: CreateSecurityGroup(WithPolicies), DescribeSecurityGroups, ModifySecurityGroupAttribute,
DeleteSecurityGroup (refused while an instance is in the group or another group's rule names it),
CloneSecurityGroup, CreateDefaultSecurityGroup, the limits and the statistics. An instance's groups are
the ordered ``security_group_ids`` of its row (RunInstances, AssociateSecurityGroups, ModifyInstancesAttribute)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...store.models import Instance
from ...store.models_network import SecurityGroup, SecurityGroupPolicy
from ...store.repo import Repo, utcnow
from ...store.repo_network import NetworkRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..query import check_filters, match_all, tag_matches
from . import rules
from .common import check_name, string_page
from .defaults import default_group
from .rules import PolicySetInput
from .views import GroupStats, GroupView

GROUP_FILTERS = {"security-group-id", "security-group-name", "project-id", "is-default", "tag-key", "tag-value"}
MAX_DESCRIPTION = 100


@dataclass(frozen=True)
class GroupLimits:
    """DescribeSecurityGroupLimits."""

    groups: int = rules.GROUPS_PER_REGION
    policies: int = rules.POLICIES_PER_DIRECTION
    referred: int = rules.REFERRED_GROUPS
    instances_per_group: int = rules.INSTANCES_PER_GROUP
    groups_per_instance: int = rules.GROUPS_PER_INSTANCE


def group_view(row: SecurityGroup, tags: dict[str, str]) -> GroupView:
    return GroupView(row.sg_id, row.name, row.description, row.project_id, row.is_default, row.created_at,
                     row.updated_at, tags)


def groups_of_instance(row) -> list[str]:
    return list(json.loads(row.security_group_ids or "[]"))


class GroupOps:
    """The security group actions (a part of ``NetworkService``)."""

    @staticmethod
    def group_limits() -> GroupLimits:
        return GroupLimits()

    def own_group(self, nr: NetworkRepo, identity: Identity, region: str, sg_id: str, *,
                  cvm: bool = False) -> SecurityGroup:
        """The caller's group, or vpc's codes (cvm's codes with ``cvm``: InvalidSgId.Malformed,
        InvalidSecurityGroupId.NotFound)."""
        if not is_id("sg", sg_id):
            cls = errors.InvalidSgIdMalformed if cvm else errors.InvalidSecurityGroupIDMalformed
            raise cls(f"The security group ID `{sg_id}` is malformed (expected sg-xxxxxxxx).")
        row = nr.get_group(sg_id)
        if row is None or row.owner_uin != identity.uin or row.region != region:
            cls = errors.InvalidSecurityGroupIdNotFound if cvm else errors.ResourceNotFound
            raise cls(f"The security group `{sg_id}` does not exist in {region}.")
        return row

    @staticmethod
    def hold_groups(repo: Repo, identity: Identity, region: str) -> None:
        """The lock of the account's security groups in the region (DeleteSecurityGroup's: no
        instance joins a group going away). A call that locks instances too takes it first."""
        repo.lock(f"network:{identity.uin}:{region}")

    def check_instance_groups(self, repo: Repo, identity: Identity, region: str, sg_ids: list[str]) -> list[str]:
        """The groups an instance is put in (RunInstances, ModifyInstancesAttribute), checked with cvm's codes."""
        if len(sg_ids) > rules.GROUPS_PER_INSTANCE:
            raise errors.LimitExceededAssociateUSGLimitExceeded(
                f"An instance can be in at most {rules.GROUPS_PER_INSTANCE} security groups, got {len(sg_ids)}.")
        if len(set(sg_ids)) != len(sg_ids):
            raise errors.InvalidParameterValueDuplicate("A security group is listed twice.")
        if sg_ids:
            self.hold_groups(repo, identity, region)
        nr = NetworkRepo(repo)
        for sg in sg_ids:
            self.own_group(nr, identity, region, sg, cvm=True)
        return sg_ids

    def associate(self, identity: Identity, region: str, sg_ids: list[str], instance_ids: list[str], *,
                  associate: bool) -> None:
        """AssociateSecurityGroups (the groups are added after the instance's own, in the order given) and
        DisassociateSecurityGroups (cvm 2017-03-12)."""
        if not sg_ids or not instance_ids:
            raise errors.MissingParameter("SecurityGroupIds and InstanceIds must each list at least one ID.")
        if len(instance_ids) > 100:
            raise errors.InvalidParameterValueLimitExceeded("At most 100 InstanceIds per call.")
        with self.db.write() as repo:
            self.check_instance_groups(repo, identity, region, list(dict.fromkeys(sg_ids)))
            repo.lock_all(Instance, instance_ids)
            for instance_id in dict.fromkeys(instance_ids):
                if not is_id("ins", instance_id):
                    raise errors.InvalidInstanceIdMalformed(f"The instance ID `{instance_id}` is malformed.")
                row = repo.get_instance(instance_id, for_update=True)
                if row is None or row.owner_uin != identity.uin or row.region != region:
                    raise errors.InvalidInstanceIdNotFound(f"The instance `{instance_id}` does not exist in {region}.")
                have = groups_of_instance(row)
                if associate:
                    have += [sg for sg in sg_ids if sg not in have]
                    self.check_instance_groups(repo, identity, region, have)
                else:
                    have = [sg for sg in have if sg not in sg_ids]
                row.security_group_ids = json.dumps(have)

    def launch_groups(self, repo: Repo, identity: Identity, region: str, sg_ids: list[str]) -> list[str]:
        """RunInstances' groups: those given (checked), else the default group when it exists (the real
        service binds the default security group when SecurityGroupIds is not given)."""
        if sg_ids:
            return self.check_instance_groups(repo, identity, region, sg_ids)
        default = NetworkRepo(repo).get_group(default_group(identity.uin, region))
        return [default.sg_id] if default is not None else []

    def create_group(self, identity: Identity, region: str, name: str, description: str, project_id: str | None,
                     tags: dict[str, str], policies: PolicySetInput | None = None) -> GroupView:
        self.ensure(identity, region)
        check_name(name, "GroupName")
        if len(description or "") > MAX_DESCRIPTION:
            raise errors.InvalidParameterValueTooLong(f"GroupDescription is at most {MAX_DESCRIPTION} characters.")
        project = _project(project_id)
        with self.db.write() as repo:
            repo.lock(f"network:{identity.uin}:{region}")
            nr = NetworkRepo(repo)
            if len(nr.groups_of(identity.uin, region)) >= rules.GROUPS_PER_REGION:
                raise errors.LimitExceeded(f"{region} holds {rules.GROUPS_PER_REGION} security groups, as many as allowed.")
            now = utcnow()
            row = SecurityGroup(sg_id=new_id("sg"), owner_uin=identity.uin, region=region, name=name,
                                description=description or "", project_id=project, is_default=False, version=0,
                                created_at=now, updated_at=now)
            repo.add(row)
            repo.session.flush()
            if tags:
                repo.set_tags(row.sg_id, tags)
            if policies is not None:
                self.write_policy_set(repo, identity, region, row, policies)
        return group_view(row, dict(tags))

    def describe_groups(self, identity: Identity, region: str, ids: list[str] | None, filters: list[dict] | None,
                        offset, limit) -> tuple[int, list[GroupView]]:
        self.ensure(identity, region)
        if ids and filters:
            raise errors.InvalidParameterCoexist("SecurityGroupIds and Filters cannot be given together.")
        page = string_page(offset, limit)
        checked = check_filters(list(filters or []), GROUP_FILTERS, "DescribeSecurityGroups")
        for sg in ids or []:
            if not is_id("sg", sg):
                raise errors.InvalidSecurityGroupIDMalformed(f"The security group ID `{sg}` is malformed.")
        with self.db.read() as repo:
            rows = [r for r in NetworkRepo(repo).groups_of(identity.uin, region) if not ids or r.sg_id in ids]
            tags = repo.tags_of([r.sg_id for r in rows])
        found = match_all([group_view(r, tags[r.sg_id]) for r in rows], checked, _group_matches)
        return len(found), page.of(found)

    def modify_group(self, identity: Identity, region: str, sg_id: str, name: str | None, description: str | None) -> None:
        if name is not None:
            check_name(name, "GroupName")
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise errors.InvalidParameterValueTooLong(f"GroupDescription is at most {MAX_DESCRIPTION} characters.")
        with self.db.write() as repo:
            row = self.own_group(NetworkRepo(repo), identity, region, sg_id)
            if name is not None:
                row.name = name
            if description is not None:
                row.description = description
            row.updated_at = utcnow()

    def delete_group(self, identity: Identity, region: str, sg_id: str) -> None:
        with self.db.write() as repo:
            nr = NetworkRepo(repo)
            repo.lock(f"network:{identity.uin}:{region}")
            self.own_group(nr, identity, region, sg_id)
            users = [r.instance_id for r in repo.instances_of(identity.uin, region) if sg_id in groups_of_instance(r)]
            if users:
                raise errors.ResourceInUse(f"The security group `{sg_id}` is used by {len(users)} instance(s), "
                                           f"e.g. {users[0]}; disassociate them first.")
            referring = nr.groups_referring([sg_id]).get(sg_id, set()) - {sg_id}
            if referring:
                raise errors.ResourceInUse(f"The rules of {', '.join(sorted(referring))} name `{sg_id}` as a source.")
            nr.delete_group(sg_id)

    def clone_group(self, identity: Identity, region: str, sg_id: str, name: str | None, description: str | None,
                    project_id: str | None, remote_region: str | None, tags: dict[str, str]) -> GroupView:
        target = remote_region or region
        self.regions.get(target, product="vpc")
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            src = self.own_group(nr, identity, region, sg_id)
            policies = nr.policies_of([sg_id])
        if target != region and any(p.ref_sg_id for p in policies):
            raise errors.UnsupportedOperationRemoteRegionSgHasReferencedSg(
                f"The rules of `{sg_id}` name security groups; they cannot be cloned to {target}.")
        view = self.create_group(identity, target, name or src.name, src.description if description is None else description,
                                 project_id if project_id is not None else str(src.project_id), tags)
        with self.db.write() as repo:
            nr, now = NetworkRepo(repo), utcnow()
            for direction in ("ingress", "egress"):
                nr.set_policies(view.sg_id, direction, [SecurityGroupPolicy(
                    protocol=p.protocol, port=p.port, cidr=p.cidr, ipv6_cidr=p.ipv6_cidr,
                    ref_sg_id=view.sg_id if p.ref_sg_id == sg_id else p.ref_sg_id, action=p.action,
                    description=p.description, modified_at=now) for p in policies if p.direction == direction])
        return view

    def create_default_group(self, identity: Identity, region: str) -> GroupView:
        self.ensure(identity, region, group=True)
        with self.db.read() as repo:
            row = NetworkRepo(repo).get_group(default_group(identity.uin, region))
            return group_view(row, repo.tags_of([row.sg_id])[row.sg_id])

    def group_stats(self, identity: Identity, region: str, sg_ids: list[str]) -> list[GroupStats]:
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            for sg in sg_ids:
                self.own_group(nr, identity, region, sg)
            rows = repo.instances_of(identity.uin, region)
            referring = nr.groups_referring(sg_ids)
        return [GroupStats(sg, sum(1 for r in rows if sg in groups_of_instance(r)), len(referring.get(sg, set()) - {sg}))
                for sg in sg_ids]

    def group_references(self, identity: Identity, region: str, sg_ids: list[str]) -> list[tuple[str, list[str]]]:
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            for sg in sg_ids:
                self.own_group(nr, identity, region, sg)
            referring = nr.groups_referring(sg_ids)
        return [(sg, sorted(referring.get(sg, set()) - {sg})) for sg in sg_ids]


def _project(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not str(value).isdigit():
        raise errors.InvalidParameterValue(f"ProjectId must be a number, got `{value}`.")
    return int(value)


def _group_matches(v: GroupView, name: str, values: list[str]) -> bool:
    tag = tag_matches(v.tags, name, values)
    if tag is not None:
        return tag
    return {"security-group-id": v.sg_id in values, "security-group-name": v.name in values,
            "project-id": str(v.project_id) in values,
            "is-default": str(v.is_default).lower() in [x.lower() for x in values]}.get(name, False)
