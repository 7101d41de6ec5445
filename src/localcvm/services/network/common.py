"""What the network actions share: names, string Offset/Limit, lookups of the caller's resources."""

from __future__ import annotations

from .. import errors
from ..query import Page, check_page

MAX_NAME = 60


def check_name(value: str | None, what: str, *, max_len: int = MAX_NAME) -> str:
    if value is None or not value.strip():
        raise errors.InvalidParameterValueEmpty(f"{what} must not be empty.")
    if len(value) > max_len:
        raise errors.InvalidParameterValueTooLong(f"{what} is at most {max_len} characters, got {len(value)}.")
    return value


def string_page(offset: str | int | None, limit: str | int | None) -> Page:
    """``Offset``/``Limit`` of the vpc Describe* actions, which the API declares as strings."""
    def number(value, name):
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.InvalidParameterValue(f"{name} must be an integer, got `{value}`.") from None
    return check_page(number(offset, "Offset"), number(limit, "Limit"))


def bool_value(value: str | bool | None, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.InvalidParameterValue(f"{what} must be true or false, got `{value}`.")
