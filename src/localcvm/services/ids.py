"""Resource IDs: a prefix and 8 lowercase alphanumerics (img-, ins-, disk-, snap-, skey-, sg-)."""

from __future__ import annotations

import re
import secrets
import string

_ALNUM = string.ascii_lowercase + string.digits


def new_id(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_ALNUM) for _ in range(8))


def is_id(prefix: str, value: str) -> bool:
    return bool(re.fullmatch(rf"{prefix}-[a-z0-9]{{8}}", value or ""))
