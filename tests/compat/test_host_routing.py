"""Acceptance 2 of issue 17: a request whose ``Host`` is ``<product>.localcvm.test:PORT`` is that product's.

Clients that take only a root domain (Terraform's ``domain``, the Go and Java SDKs) send
``Host: cvm.<domain>``. Each request here is signed by tencentcloud-sdk-python for that host
(endpoint ``<product>.localcvm.test:PORT``), captured before it is sent, and posted to
127.0.0.1 with that ``Host`` header, as /etc/hosts would route it.
"""

from __future__ import annotations

import httpx
import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from localcvm.api.hostnames import DEFAULT_DOMAIN
from localcvm.api.spec import PRODUCTS
from tests.helpers import sdk_signed_request

# product -> (API version, an action of that product and no other served one, its parameters)
CALLS = {
    "cvm": ("2017-03-12", "DescribeZones", {}),
    "cbs": ("2017-03-12", "DescribeDisks", {"Limit": 1}),
    "vpc": ("2017-03-12", "DescribeVpcs", {}),
    "cam": ("2019-01-16", "ListUsers", {}),
    "tag": ("2018-08-13", "DescribeTags", {}),
    "billing": ("2018-07-09", "DescribeAccountBalance", {}),
}
# How the request names its product: a TC3 scope naming it (Go SDK, Node.js SDK on cvm.<domain>),
# a TC3 scope naming something else (an IP label), a legacy signature (no scope at all).
SIGNINGS = {"tc3": ("TC3-HMAC-SHA256", None), "tc3-ip-scope": ("TC3-HMAC-SHA256", "127"), "legacy": ("HmacSHA256", None)}


def _send(server, host_label: str, product: str, signing: str, scope: str | None = None) -> dict:
    """``product``'s call sent with ``Host: <host_label>.localcvm.test:PORT``; a TC3 scope names
    ``scope``, else what ``signing`` says, else the host label."""
    version, action, params = CALLS[product]
    sign_method, scope = SIGNINGS[signing][0], scope or SIGNINGS[signing][1]
    host = f"{host_label}.{DEFAULT_DOMAIN}:{server.port}"
    hp = HttpProfile(endpoint=host, protocol=server.scheme)
    client = CommonClient(scope or host_label, version, credential.Credential(server.secret_id, server.secret_key),
                          "ap-guangzhou", ClientProfile(signMethod=sign_method, httpProfile=hp))
    req = sdk_signed_request(client, action, params)
    headers = dict(req.header, Host=host)
    resp = httpx.post(server.url + "/", content=req.data.encode(), headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["Response"]


def _served_as(answer: dict, product: str) -> bool:
    """Answered by ``product``: a result, or its own 'not implemented yet' (validated against its spec)."""
    error = answer.get("Error")
    return error is None or (error["Code"] == "UnsupportedOperation" and f"of {product} " in error["Message"])


@pytest.mark.parametrize("signing", SIGNINGS)
@pytest.mark.parametrize("product", CALLS)
def test_host_names_the_product(server, product, signing):
    answer = _send(server, product, product, signing)
    if product in PRODUCTS:
        assert _served_as(answer, product), answer
    else:  # a product localcvm does not serve (yet): the same answer as for any unknown service
        assert answer["Error"]["Code"] == "InvalidAction", answer


@pytest.mark.parametrize("signing", ["tc3-ip-scope", "legacy"])
def test_host_wins_over_the_action(server, signing):
    """Without a served product in the scope, the Host decides, not the action: cbs's action sent to
    ``cvm.<domain>`` is an action cvm does not have."""
    answer = _send(server, "cvm", "cbs", signing)
    assert answer["Error"]["Code"] == "InvalidAction" and "in cvm " in answer["Error"]["Message"], answer
    assert _served_as(_send(server, "cbs", "cbs", signing), "cbs")


def test_scope_wins_over_the_host(server):
    """A scope naming a served product is the product, whatever the Host."""
    assert _served_as(_send(server, "cvm", "cbs", "tc3", scope="cbs"), "cbs")
    answer = _send(server, "cbs", "cvm", "tc3", scope="cbs")  # cvm's action, signed for cbs
    assert answer["Error"]["Code"] == "InvalidAction" and "in cbs " in answer["Error"]["Message"], answer
