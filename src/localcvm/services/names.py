"""Display names (image, disk and snapshot names): the documented length limit, and no control
characters, which no console or client can show."""

from __future__ import annotations

import re

from . import errors

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_display_name(field: str, value: str | None, *, max_len: int = 60, required: bool = False) -> str:
    """``value`` once it fits ``field``'s rules (InvalidParameterValue naming the field otherwise)."""
    value = value or ""
    if required and not value.strip():
        raise errors.InvalidParameterValue(f"{field} must not be empty.")
    if len(value) > max_len:
        raise errors.InvalidParameterValue(f"{field} must be at most {max_len} characters, got {len(value)}.")
    if _CONTROL.search(value):
        raise errors.InvalidParameterValue(f"{field} must not contain control characters.")
    return value
