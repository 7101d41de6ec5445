"""The documented instance parameter rules (``services/instances/rules.py``)."""

from __future__ import annotations

import base64

import pytest

from localcvm.services.instances import rules
from localcvm.services.errors import ApiError

PASSWORD = "InvalidParameterValue.InvalidPassword"
NAME_TOO_LONG = "InvalidInstanceName.TooLong"
ILLEGAL_HOSTNAME = "InvalidParameterValue.IllegalHostName"
HOSTNAME_ILLEGAL = "InvalidParameter.HostNameIllegal"
USER_DATA_FORMAT = "InvalidParameterValue.InvalidUserDataFormat"
TOO_LARGE = "InvalidParameterValue.TooLarge"


def refused(fn, *args, code: str, **kwargs) -> str:
    """Call ``fn``, expect an ApiError with ``code``; return its message."""
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value.message


# =============================================================================================
# Passwords: LoginSettings.Password (RunInstances, ResetInstance, ...)
# =============================================================================================
@pytest.mark.parametrize(
    "password",
    [
        "abcdefg1",  # 8 characters, two classes (lower + digit)
        "ABCDEFGH1",  # upper + digit
        "abcdEFGH",  # lower + upper
        "abcdefg!",  # lower + special
        "x" * 29 + "1",  # 30 characters
        "/abcdefg1",  # a leading '/' is not forbidden by the LoginSettings rule
        "a1()`~!@#$%^&*-+=|{}[]:;',.?/",  # every documented special character
    ],
)
def test_linux_login_password_accepted(password):
    rules.check_password(password, "Linux")
    rules.check_password(password, "Linux", action="ResetInstance")


@pytest.mark.parametrize(
    "password, problem",
    [
        ("abcdef1", "7 characters"),
        ("", "0 characters"),
        ("a1" * 15 + "x", "31 characters"),
        ("abcdefgh", "only 1 of the 4"),
        ("12345678", "only 1 of the 4"),
        ("abcdefg_1", "not allowed ('_')"),  # '_' is not in the LoginSettings special set
        ("abc def 1", "not allowed (' ')"),
        ("abcdefg1<", "not allowed ('<')"),
        ("pässwort1", "not allowed ('ä')"),
        ("abcdefg１", "not allowed ('１')"),  # full-width digit
    ],
)
def test_linux_login_password_refused(password, problem):
    message = refused(rules.check_password, password, "Linux", code=PASSWORD)
    assert problem in message
    assert "Linux passwords have 8 to 30 characters with at least 2 of" in message


@pytest.mark.parametrize("password", ["abcdefghij1A", "ABCDEFGHIJ1!", "abc!@#ABC!@#", "Aa1" + "x" * 27])
def test_windows_login_password_accepted(password):
    rules.check_password(password, "Windows")


@pytest.mark.parametrize(
    "password, problem",
    [
        ("abcdefgh1A!", "11 characters"),
        ("abcdefghij12", "only 2 of the 4"),
        ("ABCDEFGHIJ!!", "only 2 of the 4"),
        ("Aa1" + "x" * 28, "31 characters"),
    ],
)
def test_windows_login_password_refused(password, problem):
    message = refused(rules.check_password, password, "Windows", code=PASSWORD)
    assert problem in message
    assert "Windows passwords have 12 to 30 characters with at least 3 of" in message


def test_os_type_is_case_insensitive_and_defaults_to_linux():
    refused(rules.check_password, "abcdefghij12", "WINDOWS", code=PASSWORD)
    rules.check_password("abcdefg1", "FreeBSD")  # anything but Windows follows the Linux rule


# =============================================================================================
# Passwords: ResetInstancesPassword
# =============================================================================================
RESET = {"action": "ResetInstancesPassword"}


@pytest.mark.parametrize("password", ["abcdEF12", "abc_def<1>", "Passw0rd-2024", "a" * 28 + "B1"])
def test_reset_password_linux_accepted(password):
    rules.check_password(password, "Linux", **RESET)


@pytest.mark.parametrize(
    "password, problem",
    [
        ("abcdefg1", "only 2 of the 4"),  # three classes needed here, two suffice for LoginSettings
        ("/abcDEF12", "starts with '/'"),
        ("abcDEF1", "7 characters"),
        ("abc DEF12", "not allowed (' ')"),
        ('abcDEF12"', "not allowed ('\"')"),
    ],
)
def test_reset_password_linux_refused(password, problem):
    message = refused(rules.check_password, password, "Linux", code=PASSWORD, **RESET)
    assert problem in message
    assert "at least 3 of" in message and "must not start with '/'" in message


def test_reset_password_windows_rules():
    rules.check_password("Secure_pass1<>", "Windows", **RESET)
    message = refused(rules.check_password, "MyAdministrator1!", "Windows", code=PASSWORD, **RESET)
    assert "user name `Administrator`" in message
    message = refused(rules.check_password, "xxADMINISTRATORx1", "Windows", code=PASSWORD, **RESET)
    assert "Administrator" in message  # case-insensitive
    message = refused(rules.check_password, "Hello_ops_team1", "Windows", code=PASSWORD, username="ops", **RESET)
    assert "user name `ops`" in message
    rules.check_password("MyAdministrator1!", "Windows", username="ops", **RESET)
    assert "12 to 30" in refused(rules.check_password, "Short_pass1", "Windows", code=PASSWORD, **RESET)
    assert "starts with '/'" in refused(rules.check_password, "/Long_enough_1", "Windows", code=PASSWORD, **RESET)


# =============================================================================================
# Instance names
# =============================================================================================
def test_default_name():
    assert rules.instance_names(None, 1) == ["未命名"]
    assert rules.instance_names("", 3) == ["未命名"] * 3


def test_plain_name_single_and_batch():
    assert rules.instance_names("web", 1) == ["web"]
    assert rules.instance_names("server_", 2) == ["server_1", "server_2"]
    assert rules.instance_names("db", 3) == ["db1", "db2", "db3"]


def test_r_pattern():
    assert rules.instance_names("server_{R:3}", 1) == ["server_3"]
    assert rules.instance_names("server_{R:3}", 2) == ["server_3", "server_4"]
    assert rules.instance_names("n{R:0}", 3) == ["n0", "n1", "n2"]


def test_r_pattern_with_fixed_width():
    assert rules.instance_names("server_{R:3,F:3}", 2) == ["server_003", "server_004"]
    assert rules.instance_names("app_{R:99,F:2}", 2) == ["app_99", "app_100"]  # wider numbers keep all digits
    assert rules.instance_names("x{R:7,F:0}", 2) == ["x7", "x8"]  # F:0 = no padding
    assert rules.instance_names("x{R:1,F:8}", 1) == ["x00000001"]


def test_several_patterns():
    assert rules.instance_names("{R:1}-node-{R:10,F:3}", 2) == ["1-node-010", "2-node-011"]


@pytest.mark.parametrize("template", ["web{}", "web{R:}", "web{R:x}", "web{R:1,F:9}", "web{R:-1}", "web{ R:1 }", "web{IP}"])
def test_invalid_patterns_are_plain_text(template):
    assert rules.instance_names(template, 1) == [template]
    assert rules.instance_names(template, 2) == [template + "1", template + "2"]


def test_run_instances_name_length():
    assert rules.instance_names("n" * 128, 1) == ["n" * 128]
    assert rules.instance_names("x" * 123 + "{R:1}", 1) == ["x" * 123 + "1"]  # 128 including the pattern
    message = refused(rules.instance_names, "n" * 129, 1, code=NAME_TOO_LONG)
    assert "129 characters" in message and "128" in message and "RunInstances" in message
    refused(rules.instance_names, "x" * 124 + "{R:1}", 2, code=NAME_TOO_LONG)


def test_instance_names_count_must_be_positive():
    with pytest.raises(ValueError):
        rules.instance_names("web", 0)


def test_check_instance_name_modify_limit():
    rules.check_instance_name("n" * 60)
    rules.check_instance_name("任意名称 with spaces & symbols!")
    message = refused(rules.check_instance_name, "n" * 61, code=NAME_TOO_LONG)
    assert "61 characters" in message and "60" in message and "ModifyInstancesAttribute" in message


def test_check_instance_name_run_limit():
    rules.check_instance_name("n" * 128, action="RunInstances")
    refused(rules.check_instance_name, "n" * 129, action="RunInstances", code=NAME_TOO_LONG)


# =============================================================================================
# Host names
# =============================================================================================
@pytest.mark.parametrize(
    "hostname",
    ["ab", "web-01", "web.example.com", "a.b", "host-1.zone-2.internal", "123.abc", "A" * 60, "12345"],
)
def test_linux_hostname_accepted(hostname):
    rules.check_hostname(hostname, "Linux")
    rules.check_hostname(hostname, "Linux", action="ResetInstance")
    rules.check_hostname(hostname, "Linux", action="ModifyInstancesAttribute")


@pytest.mark.parametrize(
    "hostname, problem",
    [
        ("a", "1 characters"),
        ("", "0 characters"),
        ("a" * 61, "61 characters"),
        ("-web", "first or last"),
        ("web-", "first or last"),
        (".web", "first or last"),
        ("web.", "first or last"),
        ("web..example", "twice in a row"),
        ("web--01", "twice in a row"),
        ("web.-01", "twice in a row"),
        ("web_01", "other than letters, digits, '-' and '.'"),
        ("web 01", "other than letters, digits, '-' and '.'"),
        ("wéb", "other than letters, digits, '-' and '.'"),
    ],
)
def test_linux_hostname_refused(hostname, problem):
    message = refused(rules.check_hostname, hostname, "Linux", code=ILLEGAL_HOSTNAME)
    assert f"HostName `{hostname}`" in message and problem in message
    assert "2 to 60 characters" in message


@pytest.mark.parametrize("hostname", ["ab", "WIN-SERVER-01", "a" * 15, "1a", "db1"])
def test_windows_hostname_accepted(hostname):
    rules.check_hostname(hostname, "Windows")


@pytest.mark.parametrize(
    "hostname, problem",
    [
        ("a" * 16, "16 characters"),
        ("w", "1 characters"),
        ("web.local", "cannot contain '.'"),
        ("12345", "all digits"),
        ("web_01", "other than letters, digits and '-'"),
        ("-web", "first or last"),
        ("we--b", "twice in a row"),
    ],
)
def test_windows_hostname_refused(hostname, problem):
    message = refused(rules.check_hostname, hostname, "Windows", code=ILLEGAL_HOSTNAME)
    assert problem in message and "Windows host names have 2 to 15" in message


def test_hostname_error_code_per_action():
    refused(rules.check_hostname, "bad_name", "Linux", action="RunInstances", code=ILLEGAL_HOSTNAME)
    refused(rules.check_hostname, "bad_name", "Linux", action="ResetInstance", code=ILLEGAL_HOSTNAME)
    message = refused(rules.check_hostname, "bad_name", "Linux", action="ModifyInstancesAttribute", code=HOSTNAME_ILLEGAL)
    assert "bad_name" in message


def test_hostname_patterns_on_run_instances():
    rules.check_hostname("web-{R:1}", "Linux", count=3)
    rules.check_hostname("node-{IP}", "Linux", count=2)
    rules.check_hostname("web-{IP}-{R:1,F:2}", "Linux", count=2)
    rules.check_hostname("win{R:1,F:3}", "Windows", count=5)


def test_hostname_patterns_are_literal_elsewhere():
    message = refused(rules.check_hostname, "web-{R:1}", "Linux", action="ModifyInstancesAttribute", code=HOSTNAME_ILLEGAL)
    assert "web-{R:1}" in message
    refused(rules.check_hostname, "web-{R:1}", "Linux", action="ResetInstance", code=ILLEGAL_HOSTNAME)


def test_hostname_expansions_are_checked():
    # the 1..n suffix pushes a 15-character Windows name over the limit
    rules.check_hostname("a" * 15, "Windows", count=1)
    message = refused(rules.check_hostname, "a" * 15, "Windows", count=2, code=ILLEGAL_HOSTNAME)
    assert "giving `" + "a" * 15 + "1`" in message and "16 characters" in message
    # {IP} brings dots, which Windows host names cannot have
    assert "cannot contain '.'" in refused(rules.check_hostname, "n-{IP}", "Windows", code=ILLEGAL_HOSTNAME)
    # an invalid pattern stays literal, and braces are not allowed
    refused(rules.check_hostname, "web{R:x}", "Linux", code=ILLEGAL_HOSTNAME)
    # a pattern that expands to digits only
    assert "all digits" in refused(rules.check_hostname, "1{R:10}", "Windows", code=ILLEGAL_HOSTNAME)


def test_instance_hostnames():
    assert rules.instance_hostnames("web", 1, "Linux") == ["web"]
    assert rules.instance_hostnames("server-", 2, "Linux") == ["server-1", "server-2"]
    assert rules.instance_hostnames("server-{R:3}", 2, "Linux") == ["server-3", "server-4"]
    assert rules.instance_hostnames("server-{R:3,F:3}", 2, "Linux") == ["server-003", "server-004"]
    assert rules.instance_hostnames("node-{IP}", 1, "Linux", ["10.0.12.8"]) == ["node-10.0.12.8"]
    assert rules.instance_hostnames("web-{IP}-{R:1}", 2, "Linux", ["10.0.12.8", "10.0.12.9"]) == [
        "web-10.0.12.8-1",
        "web-10.0.12.9-2",
    ]


def test_instance_hostnames_checks_the_real_names():
    message = refused(rules.instance_hostnames, "n-{IP}", 1, "Windows", ["10.0.0.1"], code=ILLEGAL_HOSTNAME)
    assert "n-10.0.0.1" in message
    with pytest.raises(ValueError):
        rules.instance_hostnames("node-{IP}", 2, "Linux", ["10.0.0.1"])  # one IP per instance needed


# =============================================================================================
# User data
# =============================================================================================
def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_user_data_accepted():
    script = b"#!/bin/bash\necho hello > /tmp/hello\n"
    assert rules.check_user_data(b64(script)) == script
    assert rules.check_user_data("") == b""
    limit = b"x" * (16 * 1024)
    assert rules.check_user_data(b64(limit)) == limit


def test_user_data_line_breaks_are_ignored():
    encoded = base64.encodebytes(b"y" * 200).decode()  # MIME style, a newline every 76 characters
    assert "\n" in encoded
    assert rules.check_user_data(encoded) == b"y" * 200
    assert rules.check_user_data(encoded.replace("\n", "\r\n")) == b"y" * 200


@pytest.mark.parametrize(
    "value",
    ["not base64!", "aGVsbG8", "aGVs bG8=", "aGVsbG8=\x00", "_-_-", "ä", "=aGVsbG8"],
)
def test_user_data_not_base64(value):
    message = refused(rules.check_user_data, value, code=USER_DATA_FORMAT)
    assert "UserData" in message and "base64" in message


def test_user_data_not_a_string():
    assert "UserData" in refused(rules.check_user_data, 42, code=USER_DATA_FORMAT)


def test_user_data_too_large():
    message = refused(rules.check_user_data, b64(b"x" * (16 * 1024 + 1)), code=TOO_LARGE)
    assert "16385 bytes" in message and "16384" in message and "UserData" in message
