"""The rules of a security group: CreateSecurityGroupPolicies (one direction per call; PolicyIndex 0
inserts at the top, none appends), DescribeSecurityGroupPolicies, ModifySecurityGroupPolicies (the
whole set; Version 0 clears it), ReplaceSecurityGroupPolicy (one rule, by PolicyIndex or by value),
ReplaceSecurityGroupPolicies (rules named by value), DeleteSecurityGroupPolicies (by PolicyIndex or by
value). Every change checks a given Version, then bumps it."""

from __future__ import annotations

from collections.abc import Callable

from ...store.models_network import SecurityGroup, SecurityGroupPolicy
from ...store.repo import Repo, utcnow
from ...store.repo_network import NetworkRepo
from .. import errors
from ..iam import Identity
from . import rules
from .rules import PolicyInput, PolicySetInput
from ..query import check_filters, match_all
from .views import PolicySetView, PolicyView

Rules = dict[str, list[PolicyView]]
# DescribeSecurityGroupPolicies' filters (parameter templates are not modelled: address-module and
# service-module match nothing)
POLICY_FILTERS = {"security-group-id", "ip", "address-module", "service-module", "protocol-type", "port", "poly",
                  "direction", "description"}


def _policy_matches(item: tuple[str, PolicyView], name: str, values: list[str]) -> bool:
    direction, p = item
    upper = [v.upper() for v in values]
    return {"security-group-id": p.ref_sg_id in values, "ip": (p.cidr or p.ipv6_cidr) in values,
            "protocol-type": p.protocol in upper, "port": p.port in values, "poly": p.action in upper,
            "direction": direction.upper() in upper or direction in values,
            "description": p.description in values}.get(name, False)


def policy_view(row: SecurityGroupPolicy) -> PolicyView:
    return PolicyView(row.position, row.protocol, row.port, row.cidr, row.ipv6_cidr, row.ref_sg_id, row.action,
                      row.description, row.modified_at)


def _normalized(items: tuple[PolicyInput, ...], direction: str) -> list[PolicyView]:
    return [rules.normalize(p, f"{direction.capitalize()}.{i}") for i, p in enumerate(items)]


def _find(current: list[PolicyView], wanted: PolicyInput, where: str) -> int:
    if wanted.index is not None:
        if not 0 <= wanted.index < len(current):
            raise errors.InvalidParameterValueRange(f"{where}.PolicyIndex {wanted.index} names no rule "
                                                    f"(the direction has {len(current)}).")
        return wanted.index
    for i, rule in enumerate(current):
        if rules.matches_value(rule, wanted):
            return i
    raise errors.ResourceNotFound(f"{where} matches no rule of the security group.")


class PolicyOps:
    """The rule actions (a part of ``NetworkService``)."""

    def describe_policies(self, identity: Identity, region: str, sg_id: str,
                          filters: list[dict] | None = None) -> PolicySetView:
        checked = check_filters(list(filters or []), POLICY_FILTERS, "DescribeSecurityGroupPolicies")
        with self.db.read() as repo:
            nr = NetworkRepo(repo)
            row = self.own_group(nr, identity, region, sg_id)
            policies = nr.policies_of([sg_id])

        def direction(d: str) -> tuple[PolicyView, ...]:
            views = [(d, policy_view(p)) for p in policies if p.direction == d]
            return tuple(v for _, v in match_all(views, checked, _policy_matches))

        return PolicySetView(row.version, direction("ingress"), direction("egress"))

    def _change(self, identity: Identity, region: str, sg_id: str, version: str | None,
                change: Callable[[Rules], Rules]) -> None:
        with self.db.write() as repo:
            nr = NetworkRepo(repo)
            row = self.own_group(nr, identity, region, sg_id)
            repo.lock(f"sg:{sg_id}")
            rules.check_version(version, row.version)
            current: Rules = {"ingress": [], "egress": []}
            for p in nr.policies_of([sg_id]):
                current[p.direction].append(policy_view(p))
            self._store(repo, identity, region, row, current, change(current))

    def _store(self, repo: Repo, identity: Identity, region: str, row: SecurityGroup, current: Rules, new: Rules) -> None:
        nr, now = NetworkRepo(repo), utcnow()
        for direction in ("ingress", "egress"):
            wanted = new.get(direction, current[direction])
            if len(wanted) > rules.POLICIES_PER_DIRECTION:
                raise errors.LimitExceededSecurityGroupPolicySet(
                    f"A security group holds at most {rules.POLICIES_PER_DIRECTION} {direction} rules, "
                    f"this change makes {len(wanted)}.")
            for i, rule in enumerate(wanted):
                if any(rules.same_rule(rule, other) for other in wanted[:i]):
                    raise errors.UnsupportedOperationDuplicatePolicy(
                        f"The {direction} rule {rule.protocol} {rule.port} {rule.cidr or rule.ipv6_cidr or rule.ref_sg_id} "
                        f"{rule.action} is there already.")
                if rule.ref_sg_id and rule.ref_sg_id != row.sg_id:
                    self.own_group(nr, identity, region, rule.ref_sg_id)
            if wanted != current[direction]:
                nr.set_policies(row.sg_id, direction, [SecurityGroupPolicy(
                    protocol=r.protocol, port=r.port, cidr=r.cidr, ipv6_cidr=r.ipv6_cidr, ref_sg_id=r.ref_sg_id,
                    action=r.action, description=r.description, modified_at=r.modified_at or now) for r in wanted])
        row.version += 1
        row.updated_at = now

    def write_policy_set(self, repo: Repo, identity: Identity, region: str, row: SecurityGroup,
                         policies: PolicySetInput) -> None:
        """CreateSecurityGroupWithPolicies: the rules of a group created in ``repo``'s transaction."""
        new = {d: _normalized(items, d) for d, items in policies.directions()}
        self._store(repo, identity, region, row, {"ingress": [], "egress": []}, new)

    def create_policies(self, identity: Identity, region: str, sg_id: str, policies: PolicySetInput) -> None:
        directions = policies.directions()
        if len(directions) != 1:
            raise errors.InvalidParameter("CreateSecurityGroupPolicies takes the rules of one direction: "
                                          "Ingress or Egress, not both and not neither.")
        direction, items = directions[0]
        indexes = {p.index for p in items}
        if len(indexes) > 1:
            raise errors.InvalidParameterValue("The PolicyIndex of every rule of one call must be the same.")
        at = indexes.pop()
        added = _normalized(items, direction)

        def change(current: Rules) -> Rules:
            have = current[direction]
            if at is not None and not 0 <= at <= len(have):
                raise errors.InvalidParameterValueRange(f"PolicyIndex {at} is beyond the {len(have)} {direction} rules.")
            pos = len(have) if at is None else at
            return {direction: have[:pos] + added + have[pos:]}

        self._change(identity, region, sg_id, policies.version, change)

    def modify_policies(self, identity: Identity, region: str, sg_id: str, policies: PolicySetInput) -> None:
        """ModifySecurityGroupPolicies: the whole set is replaced; Version 0 clears it. Its Version is not
        compared: clients send the version the set will have (the Terraform provider sends the one it
        read plus one), so a reset never fails on it."""
        clear = policies.version == "0"
        new = {"ingress": [] if clear else _normalized(policies.ingress, "ingress"),
               "egress": [] if clear else _normalized(policies.egress, "egress")}
        self._change(identity, region, sg_id, None, lambda current: new)

    def replace_policy(self, identity: Identity, region: str, sg_id: str, policies: PolicySetInput,
                       original: PolicySetInput | None) -> None:
        """ReplaceSecurityGroupPolicy: one rule of one direction, named by PolicyIndex or by the original's value."""
        directions = policies.directions()
        if len(directions) != 1 or len(directions[0][1]) != 1:
            raise errors.InvalidParameter("ReplaceSecurityGroupPolicy replaces exactly one rule of one direction.")
        direction, (item,) = directions[0]
        new_rule = rules.normalize(item, f"{direction.capitalize()}.0")
        originals = dict(original.directions()) if original else {}
        named = originals[direction][0] if direction in originals else item

        def change(current: Rules) -> Rules:
            have = list(current[direction])
            at = _find(have, named, f"{direction.capitalize()}.0")
            have[at] = new_rule
            return {direction: have}

        self._change(identity, region, sg_id, policies.version, change)

    def replace_policies(self, identity: Identity, region: str, sg_id: str, policies: PolicySetInput,
                         original: PolicySetInput | None) -> None:
        """ReplaceSecurityGroupPolicies: each original rule (by value, or PolicyIndex) becomes the new one at its place."""
        originals = dict(original.directions()) if original else {}

        def change(current: Rules) -> Rules:
            out = {}
            for direction, items in policies.directions():
                have, named = list(current[direction]), originals.get(direction, items)
                if len(named) != len(items):
                    raise errors.InvalidParameterValue(f"OriginalSecurityGroupPolicySet names {len(named)} {direction} "
                                                       f"rules for {len(items)} new ones.")
                for i, (old, item) in enumerate(zip(named, items)):
                    have[_find(have, old, f"{direction.capitalize()}.{i}")] = rules.normalize(
                        item, f"{direction.capitalize()}.{i}")
                out[direction] = have
            return out

        self._change(identity, region, sg_id, policies.version, change)

    def delete_policies(self, identity: Identity, region: str, sg_id: str, policies: PolicySetInput) -> None:
        """DeleteSecurityGroupPolicies: by PolicyIndex (every rule of the call gives one) or by value."""
        if not policies.directions():
            raise errors.MissingParameter("SecurityGroupPolicySet must list the Ingress or Egress rules to delete.")

        def change(current: Rules) -> Rules:
            out = {}
            for direction, items in policies.directions():
                have = current[direction]
                gone = {_find(have, item, f"{direction.capitalize()}.{i}") for i, item in enumerate(items)}
                out[direction] = [r for i, r in enumerate(have) if i not in gone]
            return out

        self._change(identity, region, sg_id, policies.version, change)
