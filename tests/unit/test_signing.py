"""Our verifier accepts exactly what the official SDK signs."""

from __future__ import annotations

import hashlib
import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client

from localcvm.api import signing
from localcvm.services import errors
from tests.helpers import sdk_signed_request


def _sdk_request(sign_method="TC3-HMAC-SHA256", key="secret-key", method="POST"):
    prof = ClientProfile(signMethod=sign_method, httpProfile=HttpProfile(endpoint="127.0.0.1:4570", protocol="http", reqMethod=method))
    client = cvm_client.CvmClient(credential.Credential("AKIDx", key), "ap-guangzhou", prof)
    return sdk_signed_request(client, "DescribeImages", {"Limit": 3, "Filters": [{"Name": "image-id", "Values": ["img-1"]}]})


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_tc3_roundtrip(method):
    req = _sdk_request(method=method)
    auth = signing.parse_tc3_authorization(req.header["Authorization"])
    assert (auth.secret_id, auth.service) == ("AKIDx", "cvm")
    ts = signing.check_timestamp(req.header["X-TC-Timestamp"], time.time(), 300)
    body = b"" if method == "GET" else req.data.encode()
    parts = dict(method=method, path="/", query=req.data if method == "GET" else "",
                 headers={k.lower(): v for k, v in req.header.items()},
                 payload_hash=hashlib.sha256(body).hexdigest())
    signing.verify_tc3("secret-key", auth, timestamp=ts, **parts)
    with pytest.raises(errors.AuthFailureSignatureFailure):
        signing.verify_tc3("other-key", auth, timestamp=ts, **parts)


@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_legacy_roundtrip(sign_method):
    from urllib.parse import parse_qsl

    req = _sdk_request(sign_method)
    params = dict(parse_qsl(req.data, keep_blank_values=True))
    to_sign = signing.legacy_string_to_sign("POST", "127.0.0.1:4570", "/", params)
    signing.verify_legacy("secret-key", sign_method, to_sign, params["Signature"])
    with pytest.raises(errors.AuthFailureSignatureFailure):
        signing.verify_legacy("secret-key", sign_method, to_sign.replace("Limit=3", "Limit=4"), params["Signature"])


def test_expired_and_future_timestamps():
    now = time.time()
    with pytest.raises(errors.AuthFailureSignatureExpire):
        signing.check_timestamp(str(int(now - 301)), now, 300)
    with pytest.raises(errors.AuthFailureSignatureExpire):
        signing.check_timestamp(str(int(now + 400)), now, 300)
    assert signing.check_timestamp(str(int(now - 299)), now, 300)
