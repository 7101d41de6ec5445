"""The API specs that ship in the ``tccli`` package, used to validate and shape.

``tccli/services/<product>/<version>/api.json`` describes every action: its
input and output objects, each member's type, and which members are
required (requests) or always present (responses). Requests are validated
against it (``MissingParameter``, ``UnknownParameter``, ``InvalidParameter``
for a wrong type, ``InvalidParameterValue`` for a bad value) and every
response is shaped by it (every ``output_required`` member present, values
of the declared type, ``null`` only where ``value_allowed_null``).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..services import errors

log = logging.getLogger("localcvm.spec")

# Products localcvm serves, with the API version it implements for each.
PRODUCTS: dict[str, str] = {
    "cvm": "2017-03-12",
    "cbs": "2017-03-12",
    "vpc": "2017-03-12",
    "cam": "2019-01-16",
    "tag": "2018-08-13",
    "billing": "2018-07-09",
}

# Integer kinds the specs use, each with the range a value of that kind may take. The wire
# range of ``uint64`` is 0..2^64-1, but localcvm keeps integers in signed 64-bit columns
# (SQLite INTEGER, PostgreSQL BIGINT), so a ``uint64`` value above 2^63-1 could not be stored:
# it is refused here, with the other out-of-range values, instead of overflowing the store.
INT_RANGES: dict[str, tuple[int, int]] = {
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**63 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int": (-(2**63), 2**63 - 1),  # a member typed "int" without a kind
}
_SCALARS = {"string", "bool", "float", "double", "datetime", "datetime_iso", "date", "binary", *INT_RANGES}
# Deepest dotted key a legacy (form/query) request may carry. The specs nest a few levels
# (``Filters.0.Values.1`` is four parts); anything far deeper is refused, not recursed into.
MAX_KEY_PARTS = 32


def tccli_services_dir() -> Path:
    import tccli  # the spec data lives in the tccli package

    return Path(tccli.__file__).parent / "services"


@dataclass
class Member:
    name: str
    type: str  # string | int | float | bool | list | object
    member: str  # scalar kind (string, uint64, ...) or an object name
    required: bool = False
    output_required: bool = False
    nullable: bool = False

    @property
    def is_object_ref(self) -> bool:
        return self.member not in _SCALARS


@dataclass
class ObjectSpec:
    name: str
    members: dict[str, Member] = field(default_factory=dict)


@dataclass
class ActionSpec:
    product: str
    version: str
    name: str
    input: str
    output: str
    status: str = "online"


class ProductSpec:
    """One product's api.json, indexed."""

    def __init__(self, product: str, version: str, raw: dict):
        self.product = product
        self.version = version
        self.objects: dict[str, ObjectSpec] = {}
        for oname, o in raw["objects"].items():
            spec = ObjectSpec(oname)
            for m in o.get("members", []):
                spec.members[m["name"]] = Member(
                    name=m["name"],
                    type=m["type"],
                    member=m["member"],
                    required=bool(m.get("required", False)),
                    output_required=bool(m.get("output_required", False)),
                    nullable=bool(m.get("value_allowed_null", False)),
                )
            self.objects[oname] = spec
        self.actions: dict[str, ActionSpec] = {
            name: ActionSpec(product, version, name, a["input"], a["output"], a.get("status", "online"))
            for name, a in raw["actions"].items()
        }

    @classmethod
    def load(cls, product: str, version: str, services_dir: Path | None = None) -> "ProductSpec":
        services_dir = services_dir or tccli_services_dir()
        path = services_dir / product / ("v" + version.replace("-", "")) / "api.json"
        with open(path, encoding="utf-8") as fh:
            return cls(product, version, json.load(fh))

    # --- requests ---------------------------------------------------------------
    def validate_request(self, action: ActionSpec, params: dict, *, from_strings: bool = False) -> dict:
        """Check ``params`` against the action's input object and return typed values.

        ``from_strings`` is for legacy (form/query) requests, whose leaves are all
        strings: they are converted to the declared type instead of rejected.
        """
        return self._object(self.objects[action.input], params, "", from_strings)

    def _object(self, spec: ObjectSpec, value, path: str, from_strings: bool) -> dict:
        if not isinstance(value, dict):
            raise errors.InvalidParameter(
                f"The parameter `{path or 'request body'}` must be an object, got {_json_type(value)}."
            )
        out: dict = {}
        for key, item in value.items():
            member = spec.members.get(key)
            where = f"{path}.{key}" if path else key
            if member is None:
                raise errors.UnknownParameter(f"The parameter `{where}` is not recognized.")
            if item is None:
                continue
            out[key] = self._value(member, item, where, from_strings, in_list=False)
        for member in spec.members.values():
            if member.required and member.name not in out:
                where = f"{path}.{member.name}" if path else member.name
                raise errors.MissingParameter(f"The request is missing the required parameter `{where}`.")
        return out

    def _value(self, member: Member, value, path: str, from_strings: bool, *, in_list: bool):
        if member.type == "list" and not in_list:
            if not isinstance(value, list):
                raise errors.InvalidParameter(f"The parameter `{path}` must be an array, got {_json_type(value)}.")
            return [self._value(member, v, f"{path}.{i}", from_strings, in_list=True) for i, v in enumerate(value)]
        if member.is_object_ref and member.type in ("object", "list"):
            obj = self.objects.get(member.member)
            if obj is None:  # pragma: no cover - spec inconsistency
                return value
            return self._object(obj, value, path, from_strings)
        return _scalar(member.member if member.type in ("list",) else member.type, member.member, value, path, from_strings)

    # --- responses ----------------------------------------------------------------
    def shape_response(self, action: ActionSpec, result: dict | None, *, strict: bool = False) -> dict:
        """Fit a handler's dict to the output object (RequestId is added by the caller)."""
        spec = self.objects[action.output]
        shaped = self._shape_object(spec, result or {}, action.output, strict)
        shaped.pop("RequestId", None)
        return shaped

    def _shape_object(self, spec: ObjectSpec, value: dict, path: str, strict: bool) -> dict:
        if not isinstance(value, dict):
            raise errors.InternalError(f"response member {path} is not an object")
        extra = set(value) - set(spec.members)
        if extra:
            msg = f"response {path} has members the spec does not know: {sorted(extra)}"
            if strict:
                raise errors.InternalError(msg)
            log.warning(msg)
        out: dict = {}
        for name, member in spec.members.items():
            where = f"{path}.{name}"
            if name in value and value[name] is not None:
                out[name] = self._shape_value(member, value[name], where, strict, in_list=False)
            elif member.nullable:
                out[name] = None
            elif member.output_required:
                out[name] = self._zero(member)
        return out

    def _shape_value(self, member: Member, value, path: str, strict: bool, *, in_list: bool):
        if member.type == "list" and not in_list:
            if not isinstance(value, (list, tuple)):
                raise errors.InternalError(f"response member {path} is not a list")
            return [self._shape_value(member, v, f"{path}.{i}", strict, in_list=True) for i, v in enumerate(value)]
        if member.is_object_ref and member.type in ("object", "list"):
            obj = self.objects.get(member.member)
            return value if obj is None else self._shape_object(obj, value, path, strict)
        kind = member.member
        if kind in INT_RANGES:
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "bool":
            return bool(value)
        return value if isinstance(value, str) else str(value)

    def _zero(self, member: Member):
        if member.type == "list":
            return []
        if member.is_object_ref and member.type == "object":
            obj = self.objects.get(member.member)
            return {} if obj is None else self._shape_object(obj, {}, member.name, False)
        return {"int": 0, "float": 0.0, "bool": False}.get(member.type, "")


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _scalar(type_: str, kind: str, value, path: str, from_strings: bool):
    """Check/convert one scalar leaf. ``type_`` is the spec's type, ``kind`` its member kind."""
    if kind in INT_RANGES or type_ == "int":
        return _integer(kind if kind in INT_RANGES else "int", value, path, from_strings)
    if kind in ("float", "double") or type_ == "float":
        if from_strings and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise errors.InvalidParameter(f"The parameter `{path}` must be a number, got `{value}`.") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.InvalidParameter(f"The parameter `{path}` must be a number, got {_json_type(value)}.")
        if not math.isfinite(value):
            raise errors.InvalidParameterValue(f"The parameter `{path}` must be a finite number.")
        return float(value)
    if kind == "bool" or type_ == "bool":
        if from_strings and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise errors.InvalidParameter(f"The parameter `{path}` must be a boolean, got `{value}`.")
        if not isinstance(value, bool):
            raise errors.InvalidParameter(f"The parameter `{path}` must be a boolean, got {_json_type(value)}.")
        return value
    # strings (incl. datetime/date/binary kinds)
    if not isinstance(value, str):
        raise errors.InvalidParameter(f"The parameter `{path}` must be a string, got {_json_type(value)}.")
    if "\x00" in value:
        # No parameter of the API carries a NUL character, and the store cannot keep one
        # (PostgreSQL text refuses it): refused here rather than failing in a query.
        raise errors.InvalidParameterValue(f"The parameter `{path}` must not contain a NUL (U+0000) character.")
    return value


def _integer(kind: str, value, path: str, from_strings: bool) -> int:
    if from_strings and isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise errors.InvalidParameter(f"The parameter `{path}` must be an integer, got `{value[:64]}`.") from None
    low, high = INT_RANGES[kind]
    if isinstance(value, float) and value.is_integer():
        # JSON numbers beyond 64 bits arrive as floats, rounded: only a float that holds its
        # integer exactly (below 2^53) is taken as that integer.
        if abs(value) >= 2**53:
            raise errors.InvalidParameterValue(
                f"The parameter `{path}` is out of range: expected an integer from {low} to {high} ({kind})."
            )
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidParameter(f"The parameter `{path}` must be an integer, got {_json_type(value)}.")
    if not low <= value <= high:
        shown = str(value) if abs(value) < 10**40 else f"a {len(str(abs(value)))}-digit number"
        raise errors.InvalidParameterValue(
            f"The parameter `{path}` is out of range: expected an integer from {low} to {high} ({kind}), got {shown}."
        )
    return value


def unflatten(params: dict[str, str]) -> dict:
    """Turn legacy flat keys (``Filters.0.Values.1``) into nested dicts and lists."""
    root: dict = {}
    for key, value in params.items():
        parts = key.split(".")
        if len(parts) > MAX_KEY_PARTS:
            shown = key if len(key) <= 80 else key[:80] + "..."
            raise errors.InvalidParameter(
                f"The parameter `{shown}` has {len(parts)} dotted parts; at most {MAX_KEY_PARTS} are accepted."
            )
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise errors.InvalidParameter(f"The parameter `{key}` conflicts with another parameter.")
        if parts[-1] in node and isinstance(node[parts[-1]], dict):
            raise errors.InvalidParameter(f"The parameter `{key}` conflicts with another parameter.")
        node[parts[-1]] = value
    return _lists(root, "")


def _lists(node, path: str):
    """Dicts whose keys are all 0..n-1 become lists."""
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        indexes = sorted(int(k) for k in node)
        if indexes != list(range(len(indexes))):
            raise errors.InvalidParameter(f"The array parameter `{path}` must be numbered from 0 without gaps.")
        return [_lists(node[str(i)], f"{path}.{i}") for i in indexes]
    return {k: _lists(v, f"{path}.{k}" if path else k) for k, v in node.items()}


class SpecRegistry:
    """Every served product's spec, loaded once at start-up."""

    def __init__(self, products: dict[str, str] | None = None):
        self.products: dict[str, ProductSpec] = {}
        for product, version in (products or PRODUCTS).items():
            self.products[product] = ProductSpec.load(product, version)

    def product(self, name: str) -> ProductSpec | None:
        return self.products.get(name)

    def find_product_for(self, action: str, version: str | None) -> str | None:
        """Which served product has ``action`` (for legacy requests, which name no service)."""
        for name, spec in self.products.items():
            if action in spec.actions and (not version or version == spec.version):
                return name
        return None
