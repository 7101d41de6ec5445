"""What every Describe* action shares: paging (``Offset``/``Limit``), ID-format checks of the IDs
it is asked for, and its ``Filters`` (at most 10 filters of at most 5 values, names from the
action's documented set plus ``tag:<key>``).

Each action documents its own error code for a bad ``Limit`` or a malformed ID, so the callers
pass the error class; the checks themselves live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import errors
from .ids import is_id

T = TypeVar("T")

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    """A checked ``Offset``/``Limit`` pair (``Limit`` defaults to 20, at most 100)."""

    offset: int = 0
    limit: int = 20

    def of(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset: self.offset + self.limit])


@dataclass(frozen=True)
class Query:
    """A checked Describe* request: its page and its filters."""

    page: Page
    filters: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class IdKind:
    """How a Describe* action's IDs look (``prefix-xxxxxxxx``) and what a malformed one gives."""

    prefix: str
    error: type[errors.ApiError]
    noun: str


def check_describe(action: str, ids_name: str, ids: Sequence[str] | None, filters: list[dict] | None,
                   known: set[str], offset: int | None, limit: int | None, *, id_kind: IdKind | None = None,
                   limit_error: type[errors.ApiError] = errors.PageLimitExceeded,
                   coexist_error: type[errors.ApiError] = errors.InvalidParameter) -> Query:
    """The checks every Describe* action makes, in the order the real API reports them: IDs and
    ``Filters`` together, then ``Offset``/``Limit``, then the IDs' format, then the filters."""
    if ids and filters:
        raise coexist_error(f"{ids_name} and Filters cannot be given together.")
    page = check_page(offset, limit, error=limit_error)
    if id_kind is not None:
        check_ids(id_kind.prefix, ids, id_kind.error, id_kind.noun)
    return Query(page, check_filters(list(filters or []), known, action))


def check_page(offset: int | None, limit: int | None, *,
               error: type[errors.ApiError] = errors.PageLimitExceeded) -> Page:
    """``Page`` once ``Offset`` is not negative and ``Limit`` is within 0..100 (``error`` otherwise)."""
    offset = 0 if offset is None else offset
    limit = 20 if limit is None else limit
    if offset < 0:
        raise errors.InvalidParameterValue(f"Offset must not be negative, got {offset}.")
    if limit < 0 or limit > MAX_LIMIT:
        raise error(f"Limit must be between 0 and {MAX_LIMIT}, got {limit}.")
    return Page(offset, limit)


def check_ids(prefix: str, ids: Sequence[str] | None, error: type[errors.ApiError], noun: str) -> list[str]:
    """The IDs, once each has the ``<prefix>-xxxxxxxx`` format (``error`` names the first that has not)."""
    for value in ids or []:
        if not is_id(prefix, value):
            raise error(f"The {noun} ID `{value}` is malformed (expected {prefix}-xxxxxxxx).")
    return list(ids or [])


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


def match_all(items: Sequence[T], checked: list[tuple[str, list[str]]],
              matches: Callable[[T, str, list[str]], bool]) -> list[T]:
    """The items that match every filter (AND across names, OR across one filter's values)."""
    out = list(items)
    for name, values in checked:
        out = [v for v in out if matches(v, name, values)]
    return out


TAG_FILTERS = ("tag-key", "tag-value")


def tag_matches(tags: dict[str, str], name: str, values: list[str]) -> bool | None:
    """The tag filters every Describe* action shares: ``tag-key``, ``tag-value`` and ``tag:<key>``
    (the key's value is one of ``values``); None when ``name`` is not a tag filter."""
    if name == "tag-key":
        return any(k in values for k in tags)
    if name == "tag-value":
        return any(v in values for v in tags.values())
    if name.startswith("tag:"):
        return tags.get(name[4:]) in values
    return None


def require_ids(name: str, ids: Sequence[str] | None) -> list[str]:
    """The IDs an action acts on: a required ID list must name at least one resource (the real API
    refuses an empty one rather than doing nothing)."""
    if not ids:
        raise errors.MissingParameter(f"`{name}` must list at least one ID.")
    return list(ids)
