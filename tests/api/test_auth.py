"""Acceptance 2: signature failures get the real AuthFailure codes."""

from __future__ import annotations

import time

import httpx
import pytest
from tencentcloud.common import abstract_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

from tests.helpers import sdk_signed_request

from . import raw, sdk

SIGN_METHODS = ["TC3-HMAC-SHA256", "HmacSHA1", "HmacSHA256"]


def _code(call) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        call()
    assert err.value.requestId, "errors carry a RequestId"
    return err.value.code


@pytest.mark.parametrize("sign_method", SIGN_METHODS)
def test_wrong_secret_key(server, sign_method):
    client = sdk.cvm(server, sign_method=sign_method, secret_key="not-the-right-key")
    assert _code(lambda: client.DescribeZones(models.DescribeZonesRequest())) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("sign_method", SIGN_METHODS)
def test_unknown_secret_id(server, sign_method):
    client = sdk.cvm(server, sign_method=sign_method, secret_id="AKIDdoesnotexist000000000000000000000")
    assert _code(lambda: client.DescribeZones(models.DescribeZonesRequest())) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("sign_method", SIGN_METHODS)
def test_timestamp_ten_minutes_old(server, sign_method, monkeypatch):
    client = sdk.cvm(server, sign_method=sign_method)
    real_time = time.time
    # The SDK takes the request timestamp from time.time() in its own module.
    monkeypatch.setattr(abstract_client.time, "time", lambda: real_time() - 600)
    assert _code(lambda: client.DescribeZones(models.DescribeZonesRequest())) == "AuthFailure.SignatureExpire"


def test_timestamp_within_skew_is_accepted(server, monkeypatch):
    client = sdk.cvm(server)
    real_time = time.time
    monkeypatch.setattr(abstract_client.time, "time", lambda: real_time() - 240)
    assert client.DescribeZones(models.DescribeZonesRequest()).TotalCount > 0


def test_no_authorization_header(server):
    headers = raw.tc3_headers(server, "DescribeZones", b"{}")
    del headers["Authorization"]
    code, message = raw.error_of(raw.post(server, b"{}", headers))
    assert code == "AuthFailure.InvalidAuthorization"
    assert "Authorization" in message


@pytest.mark.parametrize("garbage", [
    "garbage",
    "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/cvm, SignedHeaders=content-type;host, Signature=abc",
    "TC3-HMAC-SHA256 Signature=deadbeef",
    "Basic dXNlcjpwYXNz",
])
def test_garbled_authorization_header(server, garbage):
    headers = raw.tc3_headers(server, "DescribeZones", b"{}")
    headers["Authorization"] = garbage
    code, _ = raw.error_of(raw.post(server, b"{}", headers))
    assert code == "AuthFailure.InvalidAuthorization"


def test_plain_post_without_any_signature(server):
    resp = httpx.post(server.url + "/", json={"Action": "DescribeZones"}, timeout=10)
    assert raw.error_of(resp)[0] == "AuthFailure.InvalidAuthorization"


def test_body_changed_after_signing(server):
    req = sdk_signed_request(sdk.cvm(server), "DescribeZones", {})  # the SDK's own signing
    assert req.header["Authorization"].startswith("TC3-HMAC-SHA256 ")
    tampered = req.data.replace("{}", '{"Foo": 1}') if req.data != "{}" else '{"Foo": 1}'
    resp = httpx.post(server.url + "/", content=tampered.encode(), headers=req.header, timeout=10)
    assert raw.error_of(resp)[0] == "AuthFailure.SignatureFailure"
    # the untouched request goes through
    ok = httpx.post(server.url + "/", content=req.data.encode(), headers=req.header, timeout=10)
    assert "Error" not in ok.json()["Response"]


def test_legacy_params_changed_after_signing(server):
    req = sdk_signed_request(sdk.cvm(server, sign_method="HmacSHA256"), "DescribeZones", {})
    tampered = req.data.replace("Region=ap-guangzhou", "Region=ap-shanghai")
    assert tampered != req.data
    resp = httpx.post(server.url + "/", content=tampered.encode(), headers=req.header, timeout=10)
    assert raw.error_of(resp)[0] == "AuthFailure.SignatureFailure"


def test_credential_scope_for_another_service_is_refused(server):
    """A signature computed for service cbs cannot be replayed as cvm's (service comes from the scope)."""
    body = b"{}"
    headers = raw.tc3_headers(server, "DescribeZones", body, service="cbs")
    code, message = raw.error_of(raw.post(server, body, headers))
    assert code == "InvalidAction" and "DescribeZones" in message


def test_request_log_has_no_secrets(server):
    client = sdk.cvm(server)
    rid = client.DescribeZones(models.DescribeZonesRequest()).RequestId
    bad = sdk.cvm(server, secret_key="wrong")
    with pytest.raises(TencentCloudSDKException):
        bad.DescribeZones(models.DescribeZonesRequest())
    import json

    from tests.helpers import wait_until

    def line_for(request_id):
        for line in server.log().splitlines():
            if request_id in line and line.startswith("{"):
                return json.loads(line)
        return None

    entry = wait_until(lambda: line_for(rid), timeout=10, what="the request log line")
    assert entry["action"] == "DescribeZones" and entry["service"] == "cvm"
    assert entry["region"] == "ap-guangzhou" and entry["status"] == "ok"
    assert entry["account"] and entry["duration_ms"] >= 0
    text = server.log()
    assert server.secret_key not in text
    assert "Signature=" not in text and "wrong" not in text
