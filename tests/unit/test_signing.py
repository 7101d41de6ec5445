"""Our verifier accepts exactly what the official SDK signs."""

from __future__ import annotations

import hashlib
import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client

from localcvm.api import hostnames, signing
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


# --- how other SDKs sign: the Node.js SDK signs `host` without the port and puts the endpoint's
# first label in the credential scope (`Credential=…/127/tc3_request` for 127.0.0.1:PORT).

def _hand_signed(key: str, *, signed_host: str, service: str, body: bytes, timestamp: int) -> str:
    """A TC3 Authorization header built as tencentcloud-sdk-nodejs's ``Sign.sign3`` builds it
    (key derivation by the Python SDK's ``Sign.sign_tc3``, not by the code under test)."""
    from datetime import datetime, timezone

    from tencentcloud.common.sign import Sign

    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{signed_host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), f"{date}/{service}/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    sig = Sign.sign_tc3(key, date, service, to_sign)
    return f"TC3-HMAC-SHA256 Credential=AKIDx/{date}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={sig}"


BODY = b'{"Limit":3}'


def _verify(authorization: str, *, host: str, key="secret-key", body=BODY, timestamp: int) -> signing.Tc3Authorization:
    auth = signing.parse_tc3_authorization(authorization)
    signing.verify_tc3(key, auth, timestamp=timestamp, method="POST", path="/", query="",
                       headers={"content-type": "application/json", "host": host},
                       payload_hash=hashlib.sha256(body).hexdigest())
    return auth


@pytest.mark.parametrize("signed_host, service, host", [
    ("127.0.0.1:4570", "cvm", "127.0.0.1:4570"),           # Python SDK, tccli: with the port
    ("127.0.0.1", "127", "127.0.0.1:4570"),                 # Node.js SDK on 127.0.0.1:PORT
    ("cvm.localcvm.test", "cvm", "cvm.localcvm.test:4570"),  # Node.js SDK on cvm.<domain>:PORT
    ("[::1]", "[::1]", "[::1]:4570"),                       # an IPv6 endpoint
    ("cvm.localcvm.test", "cvm", "cvm.localcvm.test"),      # default port: nothing to strip
])
def test_tc3_host_signed_with_or_without_port(signed_host, service, host):
    ts = int(time.time())
    auth = _verify(_hand_signed("secret-key", signed_host=signed_host, service=service, body=BODY, timestamp=ts),
                   host=host, timestamp=ts)
    assert auth.service == service  # checked with exactly the scope's service


@pytest.mark.parametrize("change", ["key", "body", "other host", "other port", "scope service", "port added"])
def test_tc3_still_refuses_what_was_not_signed(change):
    ts = int(time.time())
    signed_host, service, host, key, body = "127.0.0.1", "127", "127.0.0.1:4570", "secret-key", BODY
    if change == "key":
        key = "other-key"
    elif change == "body":
        body = b'{"Limit":4}'
    elif change == "other host":
        host = "127.0.0.2:4570"
    elif change == "other port":  # signed with one port, sent with another
        signed_host = "127.0.0.1:4571"
    elif change == "port added":  # signed with a port the request was not sent with: no port is guessed
        signed_host, host = "127.0.0.1:4570", "127.0.0.1"
    authorization = _hand_signed(key, signed_host=signed_host, service=service, body=BODY, timestamp=ts)
    if change == "scope service":  # the signature was made for "cvm", the scope says "127"
        authorization = _hand_signed(key, signed_host=signed_host, service="cvm", body=BODY, timestamp=ts).replace(
            "/cvm/tc3_request", "/127/tc3_request")
    with pytest.raises(errors.AuthFailureSignatureFailure):
        _verify(authorization, host=host, body=body, timestamp=ts)


@pytest.fixture(scope="module")
def specs():
    from localcvm.api.spec import SpecRegistry

    return SpecRegistry()


@pytest.mark.parametrize("named, host, action, version, product", [
    ("cvm", "127.0.0.1:4570", "DescribeImages", "2017-03-12", "cvm"),        # the scope's service wins
    ("cbs", "cvm.localcvm.test:4570", "DescribeDisks", "2017-03-12", "cbs"),  # ... over the host
    ("127", "127.0.0.1:4570", "DescribeImages", "2017-03-12", "cvm"),        # IP label: by the action
    ("127", "127.0.0.1:4570", "CreateDisks", "2017-03-12", "cbs"),
    ("127", "127.0.0.1:4570", "GetUser", "2019-01-16", "cam"),
    ("cvm", "cvm.localcvm.test:4570", "DescribeRegions", "2017-03-12", "cvm"),
    ("localhost", "vpc.localhost:4570", "DescribeVpcs", "2017-03-12", "vpc"),  # by the host's first label
    ("127", "CBS.localcvm.test:4570", "DescribeRegions", "2017-03-12", "cbs"),  # host before the action
    (None, "cam.localcvm.test", "GetUser", "2019-01-16", "cam"),              # legacy: no scope
    (None, "127.0.0.1:4570", "DescribeZones", "2017-03-12", "cvm"),
    ("tag", "tag.localcvm.test:4570", "NoSuchTagAction", "2018-08-13", "tag"),  # unknown: kept for the error
    (None, "127.0.0.1:4570", "NoSuchAction", "2017-03-12", None),
])
def test_route_by_scope_then_host_then_action(specs, named, host, action, version, product):
    assert hostnames.route(specs, named, host, action, version) == product


def test_hosts_lines_name_every_product():
    from localcvm.api.spec import PRODUCTS

    assert hostnames.hosts_lines() == ["127.0.0.1 " + " ".join(f"{p}.localcvm.test" for p in PRODUCTS)]
    assert hostnames.hosts_lines("example.internal.") == [
        "127.0.0.1 " + " ".join(f"{p}.example.internal" for p in PRODUCTS)]
    assert hostnames.first_label("CVM.localcvm.test:4570") == "cvm"
    assert hostnames.hostname_of("[::1]:4570") == "[::1]"
