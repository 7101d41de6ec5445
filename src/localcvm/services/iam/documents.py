"""CAM's policy grammar: parse and validate a policy document into compiled statements.

A document is JSON: ``{"version": "2.0", "statement": [{"effect": "allow"|"deny", "action": ...,
"resource": ..., "condition": {...}}]}``. ``action`` is ``*`` or ``service:Action`` (wildcards
allowed, optionally prefixed ``name/``), ``resource`` is ``*`` or the six-segment form
``qcs:project:service:region:account:resource``. Every error answers the real CAM code; only a
document that passed here ever reaches the engine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import errors

# CAM limits a policy document to 6,144 characters.
MAX_DOCUMENT_CHARS = 6144
SERVICES = frozenset({"cvm", "cbs", "vpc", "cam", "tag", "clb", "cos", "monitor", "tke", "cdb", "as", "kms",
                      "ssm", "sts", "cloudaudit", "billing", "dc", "lighthouse", "*"})
IP_OPS = ("ip_equal", "ip_not_equal")
DATE_OPS = ("date_equal", "date_not_equal", "date_greater_than", "date_greater_than_equal", "date_less_than",
            "date_less_than_equal")
STRING_OPS = ("string_equal", "string_not_equal", "string_like", "string_not_like")
OPERATORS = frozenset(IP_OPS + DATE_OPS + STRING_OPS)
_ACTION = re.compile(r"(?:name/)?([a-z][a-z0-9_]*|\*):([A-Za-z0-9*]+)")
_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+|\*")
_ACCOUNT = re.compile(r"uin/(\d{1,20}|\*)|\*")
_RESOURCE_PART = re.compile(r"[A-Za-z0-9_\-/*.:=@]+")
_KEY = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9_\-/.]+")


@dataclass(frozen=True)
class Condition:
    operator: str  # without the _if_exist suffix
    key: str
    values: tuple  # ip networks, datetimes or strings (compiled for the operator)
    if_exist: bool


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[re.Pattern, ...]
    # None: any resource; else per resource the six segments compiled (None: any value)
    resources: tuple[tuple[re.Pattern | None, ...], ...] | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Document:
    statements: tuple[Statement, ...]
    # action name → (index, statement) of the statements naming it: documents are immutable and
    # cached, so each action is matched against their patterns once
    by_action: dict = field(default_factory=dict, compare=False, repr=False)

    def for_action(self, action: str) -> tuple[tuple[int, Statement], ...]:
        found = self.by_action.get(action)
        if found is None:
            found = tuple((i, st) for i, st in enumerate(self.statements) if any(p.fullmatch(action) for p in st.actions))
            if len(self.by_action) < 4096:
                self.by_action[action] = found
        return found


def glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def parse(text: str) -> Document:
    """The compiled document, or the real CAM error naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise errors.InvalidParameterPolicyDocumentError("PolicyDocument is empty.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise errors.InvalidParameterPolicyDocumentLengthOverLimit(
            f"PolicyDocument is {len(text)} characters long; a policy document is at most {MAX_DOCUMENT_CHARS}."
        )
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise errors.InvalidParameterPolicyDocumentError(f"PolicyDocument is not valid JSON: {exc}.") from None
    if not isinstance(doc, dict):
        raise errors.InvalidParameterPolicyDocumentError("PolicyDocument must be a JSON object.")
    unknown = set(doc) - {"version", "statement"}
    if unknown:
        raise errors.InvalidParameterPolicyDocumentError(f"PolicyDocument has unknown members: {', '.join(sorted(unknown))}.")
    if doc.get("version") != "2.0":
        raise errors.InvalidParameterVersionError(f"The policy version must be \"2.0\", not {doc.get('version')!r}.")
    raw = doc.get("statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise errors.InvalidParameterStatementError("`statement` must be a non-empty list of statements.")
    return Document(tuple(_statement(s, i) for i, s in enumerate(raw)))


def _strings(value, what: str, index: int, error) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise error(f"statement {index}: `{what}` must be a non-empty string or a list of non-empty strings.")
    return items


def _statement(raw, index: int) -> Statement:
    if not isinstance(raw, dict):
        raise errors.InvalidParameterStatementError(f"statement {index} must be a JSON object.")
    unknown = set(raw) - {"effect", "action", "resource", "condition", "principal"}
    if unknown:
        raise errors.InvalidParameterStatementError(f"statement {index} has unknown members: {', '.join(sorted(unknown))}.")
    effect = raw.get("effect")
    if effect not in ("allow", "deny"):
        raise errors.InvalidParameterEffectError(f"statement {index}: effect must be \"allow\" or \"deny\", not {effect!r}.")
    if "action" not in raw:
        raise errors.InvalidParameterActionMiss(f"statement {index} has no `action`.")
    actions = tuple(_action(a, index) for a in _strings(raw["action"], "action", index, errors.InvalidParameterActionError))
    if "resource" not in raw:
        raise errors.InvalidParameterResourceError(f"statement {index} has no `resource`.")
    resources = [_resource(r, index) for r in _strings(raw["resource"], "resource", index, errors.InvalidParameterResourceError)]
    conditions = _conditions(raw.get("condition"), index) if "condition" in raw else ()
    return Statement(effect == "allow", actions, None if None in resources else tuple(resources), conditions)


def _action(value: str, index: int) -> re.Pattern:
    if value == "*":
        return glob("*")
    found = _ACTION.fullmatch(value)
    if not found:
        raise errors.InvalidParameterActionError(
            f"statement {index}: action `{value[:80]}` is not `*` or `service:Action` (e.g. cvm:RunInstances, cvm:Describe*)."
        )
    if found.group(1) not in SERVICES:
        raise errors.InvalidParameterActionServiceNotExist(f"statement {index}: action `{value[:80]}` names an unknown service.")
    return glob(f"{found.group(1)}:{found.group(2)}", ignore_case=True)


def _resource(value: str, index: int):
    if value == "*":
        return None
    parts = value.split(":", 5)
    if parts[0] != "qcs" or len(parts) != 6:
        raise errors.InvalidParameterResourceQcsError(
            f"statement {index}: resource `{value[:80]}` is not `*` or qcs:project:service:region:account:resource."
        )
    _, project, service, region, account, rest = parts
    if service and service not in SERVICES:
        raise errors.InvalidParameterResourceServiceNotExist(f"statement {index}: resource `{value[:80]}` names an unknown service.")
    if region and not _REGION.fullmatch(region):
        raise errors.InvalidParameterResourceRegionError(f"statement {index}: resource `{value[:80]}` has a bad region `{region}`.")
    if account and not _ACCOUNT.fullmatch(account):
        raise errors.InvalidParameterResourceUinError(
            f"statement {index}: resource `{value[:80]}`: the account segment must be uin/<number>."
        )
    if not _RESOURCE_PART.fullmatch(rest):
        raise errors.InvalidParameterResourceContentError(
            f"statement {index}: resource `{value[:80]}` has an empty or malformed resource part."
        )
    segments = (project, service, region, account, rest)
    return tuple(None if s in ("", "*") else glob(s) for s in segments)


def _conditions(raw, index: int) -> tuple[Condition, ...]:
    if not isinstance(raw, dict) or not raw:
        raise errors.InvalidParameterConditionError(f"statement {index}: `condition` must be a non-empty object.")
    out = []
    for op, body in raw.items():
        base, if_exist = (op[: -len("_if_exist")], True) if op.endswith("_if_exist") else (op, False)
        if base not in OPERATORS:
            raise errors.InvalidParameterConditionTypeError(f"statement {index}: unknown condition operator `{op[:40]}`.")
        if not isinstance(body, dict) or not body:
            raise errors.InvalidParameterConditionContentError(f"statement {index}: `{op}` must map condition keys to values.")
        for key, values in body.items():
            if not _KEY.fullmatch(key):
                raise errors.InvalidParameterConditionContentError(f"statement {index}: bad condition key `{key[:40]}`.")
            items = _strings(values, f"{op}.{key}", index, errors.InvalidParameterConditionContentError)
            out.append(Condition(base, key, tuple(_value(base, v, index) for v in items), if_exist))
    return tuple(out)


def _value(op: str, value: str, index: int):
    try:
        if op in IP_OPS:
            return ipaddress.ip_network(value, strict=False)
        if op in DATE_OPS:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    except ValueError:
        raise errors.InvalidParameterConditionContentError(f"statement {index}: `{value[:60]}` is not valid for {op}.") from None
    return glob(value) if op in ("string_like", "string_not_like") else value
