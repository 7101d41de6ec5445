"""Acceptance 3: each validation error, with the right code and a message naming the parameter."""

from __future__ import annotations

import json

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from . import raw, sdk


def _error(call) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as err:
        call()
    return err.value


def test_missing_parameter(server):
    # ImageId is required by the spec of DescribeImageSharePermission.
    err = _error(lambda: sdk.common(server).call_json("DescribeImageSharePermission", {}))
    assert err.code == "MissingParameter"
    assert "ImageId" in err.message


def test_missing_nested_parameter(server):
    # Filter.Name is required inside each Filters element.
    err = _error(lambda: sdk.common(server).call_json("DescribeImages", {"Filters": [{"Values": ["x"]}]}))
    assert err.code == "MissingParameter"
    assert "Filters.0.Name" in err.message


def test_unknown_parameter(server):
    err = _error(lambda: sdk.common(server).call_json("DescribeZones", {"Bogus": 1}))
    assert err.code == "UnknownParameter"
    assert "Bogus" in err.message


def test_unknown_nested_parameter(server):
    err = _error(lambda: sdk.common(server).call_json(
        "DescribeImages", {"Filters": [{"Name": "image-id", "Values": ["img-1"], "Extra": True}]}))
    assert err.code == "UnknownParameter"
    assert "Filters.0.Extra" in err.message


@pytest.mark.parametrize("params,path", [
    ({"Limit": "ten"}, "Limit"),
    ({"Limit": True}, "Limit"),
    ({"ImageIds": "img-12345678"}, "ImageIds"),
    ({"ImageIds": [1]}, "ImageIds.0"),
    ({"Filters": {"Name": "x"}}, "Filters"),
    ({"Filters": [{"Name": "image-id", "Values": "img-1"}]}, "Filters.0.Values"),
])
def test_wrong_type_is_invalid_parameter(server, params, path):
    err = _error(lambda: sdk.common(server).call_json("DescribeImages", params))
    assert err.code == "InvalidParameter"
    assert f"`{path}`" in err.message


def test_negative_unsigned_is_invalid_parameter_value(server):
    err = _error(lambda: sdk.common(server).call_json("DescribeImages", {"Offset": -1}))
    assert err.code == "InvalidParameterValue"
    assert "Offset" in err.message


def test_legacy_form_values_are_typed_by_the_spec(server):
    # Legacy (form) requests carry strings; a non-numeric Limit is a type error naming it.
    err = _error(lambda: sdk.common(server, sign_method="HmacSHA256").call_json("DescribeImages", {"Limit": "x"}))
    assert err.code == "InvalidParameter" and "Limit" in err.message


def test_invalid_action(server):
    err = _error(lambda: sdk.common(server).call_json("DescribeNoSuchThing", {}))
    assert err.code == "InvalidAction"
    assert "DescribeNoSuchThing" in err.message


def test_unsupported_operation_for_known_but_unimplemented_action(server):
    err = _error(lambda: sdk.common(server, "vpc").call_json("DescribeVpnGatewayRoutes", {"VpnGatewayId": "vpngw-1"}))
    assert err.code == "UnsupportedOperation"
    assert "DescribeVpnGatewayRoutes" in err.message


def test_wrong_version(server):
    body = b"{}"
    headers = raw.tc3_headers(server, "DescribeZones", body, version="2099-01-01")
    code, message = raw.error_of(raw.post(server, body, headers))
    assert code == "NoSuchVersion" and "2099-01-01" in message


def test_missing_region(server):
    err = _error(lambda: sdk.common(server, region="").call_json("DescribeZones", {}))
    assert err.code == "MissingParameter"
    assert "Region" in err.message


def test_invalid_region(server):
    err = _error(lambda: sdk.common(server, region="ap-atlantis").call_json("DescribeZones", {}))
    assert err.code == "UnsupportedRegion"  # DescribeZones documents no InvalidRegion.NotFound
    assert "ap-atlantis" in err.message


def test_malformed_json(server):
    body = b'{"Limit": 10,'
    code, message = raw.error_of(raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body)))
    assert code == "InvalidRequest" and "JSON" in message


def test_json_that_is_not_an_object(server):
    body = b"[1, 2]"
    code, message = raw.error_of(raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body)))
    assert code == "InvalidRequest" and "object" in message


def test_wrong_content_type(server):
    body = b"{}"
    headers = raw.tc3_headers(server, "DescribeZones", body, content_type="text/plain")
    code, message = raw.error_of(raw.post(server, body, headers))
    assert code == "InvalidRequest" and "text/plain" in message


def test_body_over_ten_mib(server):
    body = json.dumps({"InstanceName": "x" * (10 * 1024 * 1024 + 10)}).encode()
    code, message = raw.error_of(raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body)))
    assert code == "RequestSizeLimitExceeded"


def test_unsupported_http_method(server):
    import httpx

    resp = httpx.put(server.url + "/", content=b"{}", timeout=10)
    assert raw.error_of(resp)[0] == "UnsupportedProtocol"


def test_null_parameters_are_ignored(server):
    # The SDKs never send nulls, but hand-written JSON may: null means "not given".
    body = b'{"Limit": null}'
    resp = raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body))
    code, message = raw.error_of(resp)
    assert code == "UnknownParameter"  # DescribeZones has no Limit: still named
    assert "Limit" in message


def test_errors_never_leak_tracebacks(server):
    bodies = [b"\xff\xfe\x00", b"{" * 5000, b'{"a":' * 10 + b"1" + b"}" * 10, b'"\\ud800"']
    for body in bodies:
        code, message = raw.error_of(raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body)))
        assert code in ("InvalidRequest", "UnknownParameter"), (body[:20], code, message)
        assert "Traceback" not in message and "File \"" not in message


# --- integer kinds: each has its own range (issue 16 item 1) -----------------------------------
INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("product,action,params,path", [
    ("cvm", "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 2**63}}, "Placement.ProjectId"),
    ("cvm", "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 2**64 - 1}}, "Placement.ProjectId"),
    ("cvm", "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3", "ProjectId": -(2**63) - 1}}, "Placement.ProjectId"),
    ("cvm", "CreateKeyPair", {"KeyName": "k", "ProjectId": 2**63}, "ProjectId"),
    ("cvm", "ImportKeyPair", {"KeyName": "k", "ProjectId": 2**64 - 1, "PublicKey": "ssh-ed25519 AAAA"}, "ProjectId"),
    # uint64: the store keeps signed 64-bit integers, so 2^63 and above are refused too
    ("cbs", "CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 2**63}, "DiskChargeType": "POSTPAID_BY_HOUR",
                            "DiskType": "CLOUD_PREMIUM", "DiskSize": 10}, "Placement.ProjectId"),
    ("cvm", "DescribeImages", {"Offset": 2**63}, "Offset"),
    ("cvm", "DescribeImages", {"Limit": 2**64}, "Limit"),  # beyond u64: orjson reads a float
])
def test_out_of_range_integers_are_invalid_parameter_value(server, product, action, params, path):
    err = _error(lambda: sdk.common(server, product).call_json(action, params))
    assert err.code == "InvalidParameterValue", (err.code, err.message)
    assert f"`{path}`" in err.message and "out of range" in err.message


def test_largest_uint64_offset_does_not_overflow_the_store(server):
    """The top of the accepted uint64 range goes through validation and must not overflow the store."""
    offset = sdk.common(server).call_json("DescribeImages", {"Offset": INT64_MAX, "Limit": 1})["Response"]
    assert offset["ImageSet"] == []


@pytest.mark.parametrize("project_id", [2**31, INT64_MAX])
def test_largest_int64_project_id_does_not_overflow_the_store(server, project_id):
    """ProjectId is int64 in the spec; a value that passes validation must not reach the store as an
    overflow (the project_id columns are 64-bit, on PostgreSQL too)."""
    name = f"top{project_id % 997}"
    try:
        got = sdk.common(server).call_json("CreateKeyPair", {"KeyName": name, "ProjectId": project_id})["Response"]
    except TencentCloudSDKException as err:
        assert err.code != "InternalError", err.message
    else:
        sdk.common(server).call_json("DeleteKeyPairs", {"KeyIds": [got["KeyPair"]["KeyId"]]})


def test_legacy_out_of_range_integer(server):
    resp = raw.legacy_post(server, "DescribeImages", {"Offset": str(2**63)})
    code, message = raw.error_of(resp)
    assert code == "InvalidParameterValue" and "`Offset`" in message


# --- legacy dotted keys (issue 16 item 5) -------------------------------------------------------
@pytest.mark.parametrize("parts", [500, 1000])
def test_legacy_deeply_dotted_key_is_refused(server, parts):
    key = ".".join(["Filters"] + ["0"] * (parts - 1))
    code, message = raw.error_of(raw.legacy_post(server, "DescribeImages", {key: "x"}))
    assert code == "InvalidParameter", (code, message)
    assert f"{parts} dotted parts" in message


def test_legacy_request_still_works(server):
    resp = raw.legacy_post(server, "DescribeImages", {"Limit": "1", "Filters.0.Name": "image-type",
                                                      "Filters.0.Values.0": "PUBLIC_IMAGE"})
    assert resp.json()["Response"]["TotalCount"] >= 1, resp.text


# --- bodies (issue 16 item 8) -------------------------------------------------------------------
@pytest.mark.parametrize("body", [b" ", b"\n\t \r\n"])
def test_whitespace_only_body_is_malformed_json(server, body):
    code, message = raw.error_of(raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body)))
    assert code == "InvalidRequest" and "JSON" in message


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-16", "application/json;charset=latin-1",
                                          'application/json; charset="UTF-32"'])
def test_charset_other_than_utf8_is_refused(server, content_type):
    body = b"{}"
    headers = raw.tc3_headers(server, "DescribeZones", body, content_type=content_type)
    code, message = raw.error_of(raw.post(server, body, headers))
    assert code == "InvalidRequest" and "charset" in message


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8"])
def test_utf8_charset_is_accepted(server, content_type):
    body = b"{}"
    resp = raw.post(server, body, raw.tc3_headers(server, "DescribeZones", body, content_type=content_type))
    assert resp.json()["Response"]["TotalCount"] > 0, resp.text


def test_legacy_body_that_is_not_utf8_is_refused(server):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": server.endpoint}
    resp = httpx.post(server.url + "/", content=b"Action=DescribeZones&Name=\xff\xfe", headers=headers, timeout=10)
    code, message = raw.error_of(resp)
    assert code == "InvalidRequest" and "UTF-8" in message


# --- a client that goes away mid-body (issue 16 item 6) -----------------------------------------
def test_client_disconnect_mid_body_logs_one_line(server):
    import socket

    before = len(server.log())
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":")
    new = wait_until(lambda: "ClientDisconnected" in server.log()[before:] and server.log()[before:],
                     timeout=20, what="the disconnect to be logged")
    assert "Traceback" not in new and "InternalError" not in new, new
    assert len([line for line in new.splitlines() if "ClientDisconnected" in line]) == 1


@pytest.mark.parametrize("product,action,params,path", [
    # found by the fuzzer: PostgreSQL text cannot hold NUL, so this was an InternalError there
    ("cbs", "DescribeSnapshots", {"SnapshotIds": ["\u0000"]}, "SnapshotIds.0"),
    ("cvm", "DescribeImages", {"Filters": [{"Name": "image-name", "Values": ["a\u0000b"]}]}, "Filters.0.Values.0"),
    ("cvm", "CreateKeyPair", {"KeyName": "k\u0000", "ProjectId": 0}, "KeyName"),
])
def test_nul_characters_are_invalid_parameter_value(server, product, action, params, path):
    err = _error(lambda: sdk.common(server, product).call_json(action, params))
    assert err.code == "InvalidParameterValue", (err.code, err.message)
    assert f"`{path}`" in err.message and "NUL" in err.message


def test_legacy_nul_character(server):
    code, message = raw.error_of(raw.legacy_post(server, "DescribeImages", {"ImageIds.0": "\u0000"}))
    assert code == "InvalidParameterValue" and "NUL" in message
