"""The ``Filters`` parameter shared by the Describe* actions: at most 10 filters of at most 5 values,
names from the action's documented set (plus ``tag:<key>``)."""

from __future__ import annotations

from . import errors


def check_filters(filters: list[dict], known: set[str], action: str = "this action") -> list[tuple[str, list[str]]]:
    """``[(name, values), ...]`` once the limits and names are checked (InvalidFilterValue.LimitExceeded,
    InvalidFilter)."""
    if len(filters) > 10:
        raise errors.InvalidFilterValueLimitExceeded(f"At most 10 Filters are allowed, got {len(filters)}.")
    out = []
    for i, f in enumerate(filters):
        name, values = f["Name"], f["Values"]
        if len(values) > 5:
            raise errors.InvalidFilterValueLimitExceeded(f"Filters.{i}.Values allows at most 5 values, got {len(values)}.")
        if name not in known and not name.startswith("tag:"):
            raise errors.InvalidFilter(f"The filter `{name}` is not supported by {action}.")
        out.append((name, values))
    return out
