"""The wire format's shared pieces: times, tags and the paging envelope of Describe* answers.

Every product module renders through these, so a format is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone


def iso_time(dt: datetime | None) -> str | None:
    """CVM's times: ISO 8601 UTC, ``YYYY-MM-DDThh:mm:ssZ``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


def cbs_time(dt: datetime | None) -> str | None:
    """CBS's times: ``YYYY-MM-DD hh:mm:ss``."""
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt is not None else None


def tags(values: Mapping[str, str] | None) -> list[dict]:
    """``[{"Key", "Value"}, ...]`` from a tag mapping."""
    return [{"Key": k, "Value": v} for k, v in (values or {}).items()]


def page(total: int, items: list[dict], set_name: str, total_name: str = "TotalCount") -> dict:
    """A Describe* answer: ``TotalCount`` (the count before paging) and the page's items."""
    return {total_name: total, set_name: items}


def parse_time(text: str, name: str = "Deadline") -> datetime:
    """A time a request gives (ISO 8601, ``YYYY-MM-DDThh:mm:ssZ``, or CBS's ``YYYY-MM-DD hh:mm:ss``),
    as the naive UTC datetime the services use."""
    from ..services import errors

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidParameterValue(f"{name} `{text}` is not a time (e.g. 2030-01-01T00:00:00Z).") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)
