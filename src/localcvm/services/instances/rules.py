"""The documented rules of instance parameters: passwords, names, host names, user data.

Pure functions only (no database, no HTTP). Each rule follows the parameter
documentation in the CVM API (tccli ``api.json``); where two actions document
a parameter differently, the function takes ``action=`` and applies that
action's rule. Error codes are the ones the official SDKs list for the action
(``errorcodes.py`` and the per-action lists of tencentcloud-sdk-go):

============================  ===================================================
rule                          code
============================  ===================================================
LoginSettings.Password /      ``InvalidParameterValue.InvalidPassword``
ResetInstancesPassword
InstanceName too long         ``InvalidInstanceName.TooLong``
HostName (RunInstances,       ``InvalidParameterValue.IllegalHostName``
ResetInstance)
HostName                      ``InvalidParameter.HostNameIllegal``
(ModifyInstancesAttribute)
UserData not base64           ``InvalidParameterValue.InvalidUserDataFormat``
UserData over 16 KB           ``InvalidParameterValue.TooLarge``
============================  ===================================================
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ..errors import (
    InvalidInstanceNameTooLong,
    InvalidParameterHostNameIllegal,
    InvalidParameterValue,
    InvalidParameterValueIllegalHostName,
    InvalidParameterValueInvalidPassword,
    InvalidParameterValueInvalidUserDataFormat,
    InvalidParameterValueRange,
    InvalidParameterValueTooLarge,
    UnsupportedOperation,
)


def _is_windows(os_type: str) -> bool:
    return (os_type or "").lower() == "windows"


# =========================================================================================
# Passwords
# =========================================================================================
@dataclass(frozen=True)
class _PasswordRule:
    min_length: int
    max_length: int
    min_classes: int  # how many of: lower-case, upper-case, digit, special
    specials: str  # the documented special characters
    no_leading_slash: bool
    no_username: bool  # must not contain the user name (Windows, ResetInstancesPassword)


# LoginSettings.Password (RunInstances, ResetInstance, ...):
#   Linux   8-30 characters, at least two of [a-z], [A-Z], [0-9] and ( ) ` ~ ! @ # $ % ^ & * - + = | { } [ ] : ; ' , . ? /
#   Windows 12-30 characters, at least three of the same classes.
_LOGIN_SPECIALS = "()`~!@#$%^&*-+=|{}[]:;',.?/"
# ResetInstancesPassword.Password:
#   Linux   8-30 characters, not starting with "/", at least three classes;
#   Windows 12-30 characters, not starting with "/", not containing the user name, at least three classes;
#   specials ()`~!@#$%^&*-+=_|{}[]:;'<>,.?/  (adds _ < > to the LoginSettings set).
_RESET_SPECIALS = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/"

_PASSWORD_RULES = {
    ("LoginSettings", False): _PasswordRule(8, 30, 2, _LOGIN_SPECIALS, False, False),
    ("LoginSettings", True): _PasswordRule(12, 30, 3, _LOGIN_SPECIALS, False, False),
    ("ResetInstancesPassword", False): _PasswordRule(8, 30, 3, _RESET_SPECIALS, True, False),
    ("ResetInstancesPassword", True): _PasswordRule(12, 30, 3, _RESET_SPECIALS, True, True),
}
WINDOWS_DEFAULT_USER = "Administrator"  # ResetInstancesPassword resets this account on Windows


def _password_rule_text(rule: _PasswordRule, windows: bool) -> str:
    text = (
        f"{'Windows' if windows else 'Linux'} passwords have {rule.min_length} to {rule.max_length} characters "
        f"with at least {rule.min_classes} of: lower-case letters, upper-case letters, digits, "
        f"special characters {rule.specials}"
    )
    if rule.no_leading_slash:
        text += "; they must not start with '/'"
    if rule.no_username:
        text += "; they must not contain the user name"
    return text


def check_password(
    password: str,
    os_type: str,
    *,
    action: str = "RunInstances",
    username: str | None = None,
) -> None:
    """Check a login password against the documented complexity rules.

    ``os_type`` is the image's ``OsType`` ("Linux" or "Windows"; anything other
    than Windows follows the Linux rule). ``action="ResetInstancesPassword"``
    applies that action's stricter rule (three classes on Linux too, no leading
    '/', no user name in Windows passwords; ``username`` defaults to
    Administrator there); every other action uses the ``LoginSettings.Password``
    rule. For a batch that mixes Linux and Windows instances,
    ResetInstancesPassword applies the Windows rule: pass ``"Windows"``.
    Characters outside the four documented classes are refused.
    """
    windows = _is_windows(os_type)
    family = "ResetInstancesPassword" if action == "ResetInstancesPassword" else "LoginSettings"
    rule = _PASSWORD_RULES[(family, windows)]
    rules = _password_rule_text(rule, windows)

    def refuse(problem: str):
        return InvalidParameterValueInvalidPassword(f"The password is not valid: {problem}. {rules}.")

    password = password if isinstance(password, str) else ""
    if not rule.min_length <= len(password) <= rule.max_length:
        raise refuse(f"it has {len(password)} characters")

    lower = any("a" <= ch <= "z" for ch in password)
    upper = any("A" <= ch <= "Z" for ch in password)
    digit = any("0" <= ch <= "9" for ch in password)
    special = any(ch in rule.specials for ch in password)
    others = sorted({ch for ch in password if not (ch.isascii() and ch.isalnum()) and ch not in rule.specials})
    if others:
        raise refuse(f"it contains characters that are not allowed ({''.join(others)!r})")
    if rule.no_leading_slash and password.startswith("/"):
        raise refuse("it starts with '/'")
    if rule.no_username:
        user = username or WINDOWS_DEFAULT_USER
        if user.lower() in password.lower():
            raise refuse(f"it contains the user name `{user}`")
    classes = lower + upper + digit + special
    if classes < rule.min_classes:
        raise refuse(f"it uses only {classes} of the 4 character classes")


# =========================================================================================
# Numbering patterns shared by InstanceName and HostName (RunInstances)
# =========================================================================================
# {R:x}      numbers x, x+1, ..., x+n-1 for n instances;
# {R:x,F:y}  the same, zero-padded to y digits (y in [0, 8]; 0 = no padding; wider numbers keep all digits);
# {IP}       (HostName only) the instance's private IP address.
# Any other brace text (e.g. "{}", "{R:}", "{R:1,F:9}") is plain text. Several patterns may be used.
_NUMBER_PATTERN = re.compile(r"\{R:(\d+)(?:,F:([0-8]))?\}")
_IP_PATTERN = "{IP}"


def _expand_numbers(template: str, index: int) -> str:
    """``template`` for the ``index``-th (0-based) instance of the batch."""

    def number(match: re.Match) -> str:
        value = int(match.group(1)) + index
        return str(value).zfill(int(match.group(2) or 0))

    return _NUMBER_PATTERN.sub(number, template)


def _has_pattern(template: str, *, with_ip: bool = False) -> bool:
    return bool(_NUMBER_PATTERN.search(template)) or (with_ip and _IP_PATTERN in template)


def _check_count(count: int) -> None:
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")


# =========================================================================================
# Instance names
# =========================================================================================
DEFAULT_INSTANCE_NAME = "未命名"  # "Unnamed", the documented default
# Maximum InstanceName length per action: RunInstances counts the template, patterns
# included ("最多支持128个字符（含模式串）"); ModifyInstancesAttribute allows 60 characters.
INSTANCE_NAME_MAX_LENGTH = {"RunInstances": 128, "InquiryPriceRunInstances": 128, "ModifyInstancesAttribute": 60}


def check_instance_name(name: str, *, action: str = "ModifyInstancesAttribute") -> None:
    """Check an ``InstanceName`` length: 60 characters for ModifyInstancesAttribute,
    128 (the template, patterns included) for RunInstances. Any characters are allowed."""
    limit = INSTANCE_NAME_MAX_LENGTH.get(action, INSTANCE_NAME_MAX_LENGTH["ModifyInstancesAttribute"])
    if len(name) > limit:
        raise InvalidInstanceNameTooLong(
            f"InstanceName has {len(name)} characters; {action} allows at most {limit}."
        )


def instance_names(base: str | None, count: int) -> list[str]:
    """The display names RunInstances gives a batch of ``count`` instances.

    * No name (None or ""): every instance is named "未命名".
    * With ``{R:x}`` / ``{R:x,F:y}`` patterns: each pattern becomes x+i (i = 0..n-1),
      even for a single instance ("server_{R:3}" -> "server_3").
    * Without patterns and more than one instance: the suffixes 1..n are appended
      ("server_" -> "server_1", "server_2").
    """
    _check_count(count)
    if not base:
        return [DEFAULT_INSTANCE_NAME] * count
    check_instance_name(base, action="RunInstances")
    if _has_pattern(base):
        return [_expand_numbers(base, i) for i in range(count)]
    if count == 1:
        return [base]
    return [f"{base}{i}" for i in range(1, count + 1)]


# =========================================================================================
# Host names
# =========================================================================================
# Per action: the error class it reports, and whether the batch patterns apply.
_HOSTNAME_ACTIONS = {
    "RunInstances": (InvalidParameterValueIllegalHostName, True),
    "ResetInstance": (InvalidParameterValueIllegalHostName, False),
    "ModifyInstancesAttribute": (InvalidParameterHostNameIllegal, False),
}
_WINDOWS_HOSTNAME = re.compile(r"[A-Za-z0-9-]+")
_LINUX_HOSTNAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_HOSTNAME_RULES = {
    True: "Windows host names have 2 to 15 letters, digits and '-', no '.', and are not all digits",
    False: "host names have 2 to 60 characters: segments of letters, digits and '-' separated by '.'",
}


def _hostname_problem(name: str, windows: bool) -> str | None:
    """Why a (fully expanded) host name breaks the documented rules, or None."""
    low, high = (2, 15) if windows else (2, 60)
    if not low <= len(name) <= high:
        return f"it has {len(name)} characters"
    if name[0] in ".-" or name[-1] in ".-":
        return "'.' and '-' cannot be its first or last character"
    if re.search(r"[.-]{2}", name):
        return "'.' and '-' cannot be used twice in a row"
    if windows:
        if "." in name:
            return "Windows host names cannot contain '.'"
        if not _WINDOWS_HOSTNAME.fullmatch(name):
            return "it contains characters other than letters, digits and '-'"
        if name.isdigit():
            return "Windows host names cannot be all digits"
    elif not _LINUX_HOSTNAME.fullmatch(name):
        return "it contains characters other than letters, digits, '-' and '.'"
    return None


def _batch_hostnames(template: str, count: int, ips: list[str]) -> list[str]:
    """Expand a RunInstances HostName for ``count`` instances (``ips``: one per instance, for {IP})."""
    if _has_pattern(template, with_ip=True):
        return [
            _expand_numbers(template, i).replace(_IP_PATTERN, ips[i] if i < len(ips) else "")
            for i in range(count)
        ]
    if count == 1:
        return [template]
    return [f"{template}{i}" for i in range(1, count + 1)]


def _check_hostnames(error, template: str, names: list[str], windows: bool) -> None:
    """Raise ``error`` naming the first of ``names`` that breaks the rules."""
    for name in names:
        problem = _hostname_problem(name, windows)
        if problem:
            shown = f"HostName `{template}`" if name == template else f"HostName `{template}` (giving `{name}`)"
            raise error(f"{shown} is not valid: {problem}. {_HOSTNAME_RULES[windows]}.")


def instance_hostnames(
    hostname: str, count: int, os_type: str, private_ips: list[str] | None = None
) -> list[str]:
    """The host names RunInstances gives a batch of ``count`` instances, checked.

    Patterns as for InstanceName plus ``{IP}`` (the instance's private IP, from
    ``private_ips``); without patterns and with more than one instance the
    suffixes 1..n are appended. Each resulting name must follow the HostName
    rules (``InvalidParameterValue.IllegalHostName`` otherwise).
    """
    _check_count(count)
    if _IP_PATTERN in hostname and (private_ips is None or len(private_ips) < count):
        raise ValueError("HostName uses {IP}: give one private IP per instance")
    names = _batch_hostnames(hostname, count, private_ips or [])
    _check_hostnames(InvalidParameterValueIllegalHostName, hostname, names, _is_windows(os_type))
    return names


def check_hostname(hostname: str, os_type: str, *, action: str = "RunInstances", count: int = 1) -> None:
    """Check a ``HostName`` against the documented rules.

    * ``.`` and ``-`` never start or end it and never appear twice in a row;
    * Windows: 2-15 letters, digits and ``-``, no ``.``, not all digits;
    * others (Linux...): 2-60 characters, ``.``-separated segments of letters, digits and ``-``.

    For RunInstances the batch patterns (``{R:x}``, ``{R:x,F:y}``, ``{IP}``, or the
    1..n suffix when ``count`` > 1) are expanded and every resulting name is
    checked (``{IP}`` stands in as 10.0.0.1, 10.0.0.2, ...; check the real
    names with :func:`instance_hostnames` once the IPs are known).
    ResetInstance and ModifyInstancesAttribute take the name literally.
    Codes: ``InvalidParameterValue.IllegalHostName`` (RunInstances,
    ResetInstance), ``InvalidParameter.HostNameIllegal`` (ModifyInstancesAttribute).
    """
    error, patterns = _HOSTNAME_ACTIONS.get(action, _HOSTNAME_ACTIONS["RunInstances"])
    hostname = hostname if isinstance(hostname, str) else ""
    if patterns:
        _check_count(count)
        placeholder_ips = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(count)]
        names = _batch_hostnames(hostname, count, placeholder_ips)
    else:
        names = [hostname]
    _check_hostnames(error, hostname, names, _is_windows(os_type))


# =========================================================================================
# User data
# =========================================================================================
USER_DATA_MAX_BYTES = 16 * 1024  # "支持的最大数据大小为 16KB"


def check_user_data(b64: str) -> bytes:
    """Check ``UserData``: standard base64 (padding required; line breaks are
    ignored, as MIME-style encoders insert them) decoding to at most 16 KB.
    Returns the decoded bytes."""
    if not isinstance(b64, str):
        raise InvalidParameterValueInvalidUserDataFormat("UserData must be a base64-encoded string.")
    compact = b64.replace("\r", "").replace("\n", "")
    try:
        data = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidParameterValueInvalidUserDataFormat(
            "UserData is not valid base64: encode the data with the standard base64 alphabet (A-Z a-z 0-9 + /) "
            "and '=' padding."
        ) from None
    if len(data) > USER_DATA_MAX_BYTES:
        raise InvalidParameterValueTooLarge(
            f"UserData decodes to {len(data)} bytes; at most {USER_DATA_MAX_BYTES} bytes (16 KB) are allowed."
        )
    return data


# --- disks (RunInstances SystemDisk/DataDisks, ResetInstance, ResizeInstanceDisks, CreateDisks) ----------
DISK_TYPES = {  # type -> (min GiB, max GiB) for data disks
    "CLOUD_BASIC": (10, 32000), "CLOUD_PREMIUM": (10, 32000), "CLOUD_SSD": (20, 32000),
    "CLOUD_HSSD": (20, 32000), "CLOUD_BSSD": (20, 32000), "CLOUD_TSSD": (20, 32000),
}
SYSTEM_DISK_MIN = 20
SYSTEM_DISK_MAX = 1024
MAX_DATA_DISKS = 20


def device_name(position: int) -> str:
    """The guest device of the disk at ``position`` (0 is the system disk)."""
    return "vd" + "abcdefghijklmnopqrstuvwxyz"[position]


def check_system_disk_size(size: int, image_size: int, image_id: str) -> None:
    """SystemDisk.DiskSize of RunInstances and ResetInstance: at least the image's size, 20 to 1024 GB
    (InvalidParameterValue.Range)."""
    if size < image_size:
        raise InvalidParameterValueRange(
            f"SystemDisk.DiskSize {size} GB is smaller than the image `{image_id}` ({image_size} GB)."
        )
    if not SYSTEM_DISK_MIN <= size <= SYSTEM_DISK_MAX:
        raise InvalidParameterValueRange(
            f"SystemDisk.DiskSize must be {SYSTEM_DISK_MIN} to {SYSTEM_DISK_MAX} GB, got {size}."
        )


def check_data_disk(disk_type: str, size: int, where: str, *, encrypted: bool = False) -> None:
    """One RunInstances DataDisks item: a known type, its size range, no encryption."""
    if disk_type not in DISK_TYPES:
        raise InvalidParameterValue(f"{where}.DiskType `{disk_type}` is not valid ({', '.join(DISK_TYPES)}).")
    lo, hi = DISK_TYPES[disk_type]
    if not lo <= size <= hi:
        raise InvalidParameterValueRange(f"{where}.DiskSize must be {lo} to {hi} GB for {disk_type}, got {size}.")
    if encrypted:
        raise UnsupportedOperation(f"{where}: encrypted disks are not supported.")


@dataclass(frozen=True)
class PasswordRuleView:
    """The LoginSettings.Password rule of an OS type, for forms that show it before a create."""

    min_length: int
    max_length: int
    min_classes: int
    specials: str


def login_password_rule(os_type: str) -> PasswordRuleView:
    rule = _PASSWORD_RULES[("LoginSettings", _is_windows(os_type))]
    return PasswordRuleView(rule.min_length, rule.max_length, rule.min_classes, rule.specials)
