"""Acceptance 3: each validation error, with the right code and a message naming the parameter."""

from __future__ import annotations

import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

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
    assert err.code == "InvalidRegion.NotFound"
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
