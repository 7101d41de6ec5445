"""The documented rules of instance parameters (RunInstances, ResetInstancesPassword, ...)."""

from __future__ import annotations

import base64
import binascii
import re

from . import errors

SPECIALS = set("()`~!@#$%^&*-+=|{}[]:;',.?/")
_PATTERN = re.compile(r"\{R:(\d+)(?:,F:(\d))?\}")

InvalidPasswordValue = errors._error("InvalidParameterValue.InvalidPassword", "The password does not meet the rules.")
IllegalHostName = errors._error("InvalidParameterValue.IllegalHostName", "The host name is not valid.")
InvalidUserDataFormat = errors._error("InvalidParameterValue.InvalidUserDataFormat", "UserData is not valid base64.")


def check_password(password: str, os_type: str) -> None:
    """Linux: 8-30 characters of at least two classes; Windows: 12-30 of at least three.
    Classes: a-z, A-Z, 0-9 and the documented special characters; nothing else is allowed."""
    windows = os_type == "Windows"
    lo, classes_needed = (12, 3) if windows else (8, 2)
    rule = (f"{'Windows' if windows else 'Linux'} passwords are {lo} to 30 characters with at least {classes_needed} of: "
            "lower-case letters, upper-case letters, digits, and ()`~!@#$%^&*-+=|{}[]:;',.?/")
    if not lo <= len(password) <= 30:
        raise InvalidPasswordValue(f"The password has {len(password)} characters. {rule}.")
    if password.startswith("/"):
        raise InvalidPasswordValue(f"The password must not start with '/'. {rule}.")
    bad = {ch for ch in password if not (ch.isascii() and (ch.isalnum() or ch in SPECIALS))}
    if bad:
        raise InvalidPasswordValue(f"The password contains characters that are not allowed ({''.join(sorted(bad))!r}). {rule}.")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(c in SPECIALS for c in password)])
    if classes < classes_needed:
        raise InvalidPasswordValue(f"The password uses {classes} character class(es). {rule}.")


def _expand(template: str, index: int) -> str:
    def repl(m: re.Match) -> str:
        number = int(m.group(1)) + index
        width = int(m.group(2) or 0)
        return str(number).zfill(width)

    return _PATTERN.sub(repl, template)


def instance_names(base: str | None, count: int) -> list[str]:
    """InstanceName numbering: {R:x} / {R:x,F:y} patterns, else a suffix 1..n when more than one."""
    if base is None or base == "":
        base = "未命名"
    check_instance_name(base)
    if _PATTERN.search(base):
        return [_expand(base, i) for i in range(count)]
    if count == 1:
        return [base]
    return [f"{base}{i}" for i in range(1, count + 1)]


def check_instance_name(name: str) -> None:
    if len(name) > 128:
        raise errors.InvalidParameterValueTooLong(f"InstanceName has {len(name)} characters; at most 128 are allowed.")


def check_hostname(hostname: str, os_type: str) -> None:
    plain = _PATTERN.sub("1", hostname).replace("{IP}", "10.0.0.1")
    problem = None
    if plain[:1] in ".-" or plain[-1:] in ".-" or ".." in plain or "--" in plain or ".-" in plain or "-." in plain:
        problem = "'.' and '-' cannot start or end it or be used twice in a row"
    elif os_type == "Windows":
        if not 2 <= len(plain) <= 15:
            problem = "Windows host names are 2 to 15 characters"
        elif not re.fullmatch(r"[A-Za-z0-9-]+", plain):
            problem = "Windows host names use letters, digits and '-' only"
        elif plain.isdigit():
            problem = "Windows host names cannot be all digits"
    else:
        if not 2 <= len(plain) <= 60:
            problem = "host names are 2 to 60 characters"
        elif not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", plain):
            problem = "host names use letters, digits, '-' and '.' between segments"
    if problem:
        raise IllegalHostName(f"HostName `{hostname}` is not valid: {problem}.")


def check_user_data(b64: str) -> bytes:
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidUserDataFormat("UserData must be base64-encoded.") from None
    if len(data) > 16 * 1024:
        raise errors.InvalidParameterValueTooLong(f"UserData decodes to {len(data)} bytes; at most 16 KB are allowed.")
    return data
