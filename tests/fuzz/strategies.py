"""Hypothesis strategies generated from the tccli spec (api.json) of an action's input object.

``request(spec, action)`` draws a request that fits the spec (every required member,
some optional ones, values of the declared kinds, plausible strings from a pool of
real IDs and names); ``mutated(spec, action)`` draws such a request and breaks one
spot: a wrong type, a boundary or out-of-range number for the member's integer kind,
a long or control-character string, a null, an unknown member, an empty or huge
list, or another account's resource ID.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import strategies as st

from localcvm.api.spec import ProductSpec

# The wire ranges of the integer kinds the specs use (tccli api.json "member" of "type": "int").
WIRE_RANGES = {"int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}
SPECIAL_INTS = [0, 1, -1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                -(2**63), -(2**63) - 1, 10**30]
LONG = [61, 128, 256, 4096, 65536, 1 << 20]
CONTROL = ["\x00", "a\r\nb", "\t", "\x1b[31m", "\u202e", "\ufeff", "\x7f", "名前", "\U0001F600", "../../etc/passwd",
           "'; DROP TABLE images; --", "%s%n", "${jndi:x}", " ", ""]
WRONG = ["x", "1", 1, -1, 1.5, True, False, [], ["x"], [1], {}, {"a": 1}, 10**40]
UNKNOWN = "LocalcvmFuzzUnknownMember"
MAX_DEPTH = 4


@dataclass
class Pool:
    """Strings worth sending: real names the API knows, IDs seen in answers, another account's IDs."""

    strings: list[str] = field(default_factory=lambda: [
        "ap-guangzhou", "ap-guangzhou-3", "ap-shanghai", "ap-hongkong", "S5.SMALL2", "S5.MEDIUM4", "CLOUD_PREMIUM",
        "CLOUD_SSD", "CLOUD_BSSD", "POSTPAID_BY_HOUR", "PREPAID", "PRIVATE_IMAGE", "PUBLIC_IMAGE", "SHARED_IMAGE",
        "image-id", "image-type", "instance-id", "zone", "key-name", "disk-id", "tag-key", "instance-name",
        "SHARE", "CANCEL", "RAW", "QCOW2", "VHD", "VMDK", "CentOS", "Ubuntu", "7", "22.04", "x86_64", "ALL",
        "http://127.0.0.1:1/image.qcow2", "cos://bucket-1250000000/x", "bucket-1250000000", "Linux",
        "ins-00000000", "img-00000000", "disk-00000000", "snap-00000000", "skey-00000000",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHHm0Hn2NZ3Bfy1Bu0Y6pc0pr1JIq6p+x0e5kZ0oyGEn fuzz",
        "Passw0rd!Fuzz", "STOP_CHARGING", "KEEP_CHARGING", "SOFT", "HARD", "SOFT_FIRST", "TRUE", "FALSE", "name",
    ])
    seen: list[str] = field(default_factory=list)  # IDs from this account's answers
    others: list[str] = field(default_factory=list)  # another account's resource IDs

    def add_seen(self, values) -> None:
        for v in values:
            if v not in self.seen:
                self.seen.append(v)
                if len(self.seen) > 200:
                    self.seen.pop(0)


def _pick(pool_list_getter):
    """A strategy that picks from a list that grows during the run (read when drawn)."""
    return st.integers(0, 10**6).map(lambda i: (lambda xs: xs[i % len(xs)] if xs else "x")(pool_list_getter()))


def string_values(pool: Pool):
    return st.one_of(
        _pick(lambda: pool.strings),
        _pick(lambda: pool.seen or pool.strings),
        st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True),  # a fresh, plausible name
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24),
    )


def int_values(kind: str):
    low, high = WIRE_RANGES.get(kind, WIRE_RANGES["int64"])
    return st.one_of(st.integers(max(low, 0), 100), st.sampled_from([0, 1, 10, 20, 50, 100, 500, 1000]),
                     st.integers(max(low, -(2**40)), min(high, 2**40)))


class Generator:
    def __init__(self, spec: ProductSpec, pool: Pool):
        self.spec, self.pool = spec, pool

    def request(self, action: str):
        return self.object(self.spec.actions[action].input, 0)

    def object(self, name: str, depth: int):
        obj = self.spec.objects[name]
        required = {m.name: self.member(m, depth) for m in obj.members.values() if m.required}
        if depth >= MAX_DEPTH:
            return st.fixed_dictionaries(required)
        optional = {m.name: self.member(m, depth) for m in obj.members.values() if not m.required}
        return st.fixed_dictionaries(required, optional=optional)

    def member(self, m, depth: int):
        if m.type == "list":
            return st.lists(self.leaf(m, depth), max_size=3)
        return self.leaf(m, depth)

    def leaf(self, m, depth: int):
        kind = m.member if m.type == "list" else m.type
        if m.is_object_ref:
            return st.deferred(lambda: self.object(m.member, depth + 1))
        if m.member in WIRE_RANGES or kind == "int":
            return int_values(m.member)
        if m.member in ("float", "double") or kind == "float":
            return st.floats(0, 10000, allow_nan=False)
        if m.member == "bool" or kind == "bool":
            return st.booleans()
        return string_values(self.pool)

    # --- mutations ---------------------------------------------------------------------------------
    def slots(self, name: str, value: dict, path: tuple = ()):
        """(path, member, in_list) of every member present in ``value``, and of the absent top-level ones."""
        obj = self.spec.objects[name]
        out = []
        for key, m in obj.members.items():
            if key not in value:
                if not path:
                    out.append(((key,), m, False))
                continue
            out.append((path + (key,), m, False))
            item = value[key]
            if m.type == "list" and isinstance(item, list):
                for i, e in enumerate(item):
                    out.append((path + (key, i), m, True))
                    if m.is_object_ref and isinstance(e, dict):
                        out += self.slots(m.member, e, path + (key, i))
            elif m.is_object_ref and isinstance(item, dict):
                out += self.slots(m.member, item, path + (key,))
        return out

    def mutated(self, action: str):
        name = self.spec.actions[action].input

        @st.composite
        def draw_mutation(draw):
            params = copy.deepcopy(draw(self.request(action)))
            slots = self.slots(name, params)
            how = draw(st.sampled_from(["wrong", "number", "long", "control", "null", "unknown", "empty_list",
                                        "huge_list", "other_account"]))
            if not slots or how == "unknown":
                dicts = [()] + [s[0] for s in slots if isinstance(_get(params, s[0]), dict)]
                node = _get(params, draw(st.sampled_from(dicts)))
                if isinstance(node, dict):
                    node[UNKNOWN] = draw(st.sampled_from(WRONG))
                return params
            path, m, in_list = draw(st.sampled_from(slots))
            _set(params, path, draw(self.replacement(how, m, in_list)))
            return params

        return draw_mutation()

    def replacement(self, how: str, m, in_list: bool):
        whole_list = m.type == "list" and not in_list
        if how == "number":
            low, high = WIRE_RANGES.get(m.member, WIRE_RANGES["int64"])
            edge = [low, high, low - 1, high + 1]
            number = st.sampled_from(edge + SPECIAL_INTS) | st.floats(allow_nan=True, allow_infinity=False)
            return st.lists(number, min_size=1, max_size=2) if whole_list else number
        if how == "long":
            text = st.sampled_from(LONG).flatmap(lambda n: st.sampled_from(["a" * n, "名" * (n // 3), "ins-" + "a" * n]))
            return st.lists(text, min_size=1, max_size=2) if whole_list else text
        if how == "control":
            text = st.sampled_from(CONTROL)
            return st.lists(text, min_size=1, max_size=3) if whole_list else text
        if how == "null":
            return st.just(None)
        if how == "empty_list":
            return st.just([]) if whole_list else st.sampled_from(WRONG)
        if how == "huge_list":
            count = st.sampled_from([101, 500, 2000])
            return count.map(lambda n: ["x"] * n) if whole_list else st.sampled_from(WRONG)
        if how == "other_account":
            other = _pick(lambda: self.pool.others or ["x"])
            return st.lists(other, min_size=1, max_size=3) if whole_list else other
        return st.sampled_from(WRONG)


def _get(params, path):
    """The value at ``path``, or None where nothing is (an absent member)."""
    node = params
    for p in path:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _set(params, path, value):
    parent = _get(params, path[:-1])
    parent[path[-1]] = value
