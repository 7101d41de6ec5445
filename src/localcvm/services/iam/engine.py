"""The policy engine: does a set of documents allow an action on a resource, in a request's context?

CAM's rules: a sub-user is denied unless a statement allows the action on the resource (with its
conditions true); a matching deny always wins over any allow. Root accounts never reach here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from ipaddress import ip_address
from typing import Callable

from .documents import DATE_OPS, IP_OPS, Condition, Document, Statement

NO_MATCH = "no match"


@dataclass(frozen=True)
class Env:
    """What conditions read: the client's address, the time (``now``: read only when a condition
    asks), and request values (``cvm:instance_type`` → the request's ``InstanceType``;
    ``qcs:region`` → the region)."""

    source_ip: str | None
    now: Callable[[], datetime]
    region: str | None = None
    params: dict | None = None

    def value(self, key: str):
        if key == "qcs:ip":
            return self.source_ip
        if key == "qcs:current_time":
            return self.now()
        if key in ("qcs:region", "cvm:region", "cbs:region", "vpc:region"):
            return self.region
        _, _, name = key.partition(":")
        found = (self.params or {}).get("".join(p.capitalize() for p in name.split("_")))
        return found if isinstance(found, (str, int, float)) and not isinstance(found, bool) else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    decided_by: str  # "policy <id> statement <n> (allow|deny)" or "no match"


Policies = list[tuple[int, Document]]


def resource_matches(statement: Statement, resource: str) -> bool:
    if statement.resources is None:
        return True
    if resource == "*":
        return False
    parts = resource.split(":", 5)[1:]
    if len(parts) != 5:
        return False
    return any(all(seg is None or seg.fullmatch(value) for seg, value in zip(pattern, parts))
               for pattern in statement.resources)


def _condition_true(c: Condition, env: Env) -> bool:
    value = env.value(c.key)
    if value is None:
        return c.if_exist
    op = c.operator
    if op in IP_OPS:
        addr = _address(str(value))
        if addr is None:
            return False
        inside = any(addr in net for net in c.values)
        return inside if op == "ip_equal" else not inside
    if op in DATE_OPS:
        if not isinstance(value, datetime):
            return False
        return any(_DATE[op](value, v) for v in c.values)
    text = str(value)
    if op == "string_equal":
        return text in c.values
    if op == "string_not_equal":
        return text not in c.values
    like = any(p.fullmatch(text) for p in c.values)
    return like if op == "string_like" else not like


@lru_cache(maxsize=1024)
def _address(text: str):
    try:
        return ip_address(text)
    except ValueError:
        return None


_DATE: dict[str, Callable[[datetime, datetime], bool]] = {
    "date_equal": lambda a, b: a == b, "date_not_equal": lambda a, b: a != b,
    "date_greater_than": lambda a, b: a > b, "date_greater_than_equal": lambda a, b: a >= b,
    "date_less_than": lambda a, b: a < b, "date_less_than_equal": lambda a, b: a <= b,
}


def conditions_true(statement: Statement, env: Env) -> bool:
    return all(_condition_true(c, env) for c in statement.conditions)


def evaluate(policies: Policies, action: str, resource: str, env: Env) -> Decision:
    """Explicit deny wins; otherwise the first matching allow; otherwise no match (denied)."""
    allowed_by = None
    for policy_id, doc in policies:
        for index, st in doc.for_action(action):
            if not (resource_matches(st, resource) and conditions_true(st, env)):
                continue
            if not st.allow:
                return Decision(False, f"policy {policy_id} statement {index} (deny)")
            allowed_by = allowed_by or f"policy {policy_id} statement {index} (allow)"
    return Decision(True, allowed_by) if allowed_by else Decision(False, NO_MATCH)


def could_allow(policies: Policies, action: str, env: Env) -> bool:
    """True when some allow statement matches the action (on any resource): a list action is then
    answered, filtered by resource, instead of refused wholesale."""
    return any(st.allow and conditions_true(st, env) for _, doc in policies for _, st in doc.for_action(action))
