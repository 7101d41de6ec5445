"""Acceptance 1 of issue 17: every official client runs the same scenario over HTTP and HTTPS.

The Node.js SDK (npm, default TC3 signing and HmacSHA256) is configured as a user would:
endpoint ``127.0.0.1:PORT``, so it signs the host without the port and names ``127`` as the
credential scope's service; tencentcloud-sdk-python, tencentcloud-sdk-python-intl-en and tccli
(through ``localcvm tccli``) run the same steps (``scenario.py``).
"""

from __future__ import annotations

import pytest

from tests.conftest import INTL_SDK

from . import clients
from .node import NODE_SDK_VERSION
from .scenario import run_scenario

CLIENTS = ["node-default", "node-hmacsha256", "python", "python-intl", "tccli"]


def _client(kind: str, srv, request, tmp_path):
    if kind.startswith("node-"):
        sign_method = None if kind == "node-default" else "HmacSHA256"
        client = clients.node_client(srv, request.getfixturevalue("node_sdk"), tmp_path, sign_method)
        assert client.version == NODE_SDK_VERSION
    elif kind == "python":
        client = clients.PythonClient(srv)
    elif kind == "python-intl":
        client = clients.intl_client(srv, request.getfixturevalue("intl_sdk").path, "TC3-HMAC-SHA256")
        assert client.version == INTL_SDK.split("==")[1]  # the intl edition, not the one installed here
    else:
        client = clients.TccliClient(srv, tmp_path)
    return client


@pytest.mark.parametrize("kind", CLIENTS)
def test_scenario(kind, any_server, request, tmp_path):
    client = _client(kind, any_server, request, tmp_path)
    try:
        seen = run_scenario(client, f"{kind}-{any_server.scheme}")
    finally:
        client.close()
    assert seen["instance"]["InstanceState"] == "RUNNING"
    assert seen["image"]["ImageState"] == "NORMAL" and seen["image"]["ImageType"] == "PRIVATE_IMAGE"
    assert seen["copy"]["ImageState"] == "NORMAL" and seen["copy"]["ImageName"] == seen["image"]["ImageName"]
    assert seen["error"] == "InvalidInstanceId.Malformed"
