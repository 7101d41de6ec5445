"""Calls through a tencentcloud-sdk-python edition's typed CVM client (``<Action>Request`` models).

Imported by the tests for the SDK installed in the test environment, and run as a script
(``python pybridge.py CONFIG_JSON``) for the international edition, which ships the same
``tencentcloud`` package and so lives in its own directory (``PYTHONPATH``). As a script it
reads one JSON call per line on stdin and answers one JSON line on stdout. It imports only
the SDK and the standard library.
"""

from __future__ import annotations

import json
import sys


def make_clients(config: dict):
    """``client(region)``: a cached CvmClient for ``config`` (endpoint, scheme, ca, secret_id, secret_key,
    sign_method)."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.cvm.v20170312 import cvm_client

    cache: dict = {}

    def client(region: str):
        if region not in cache:
            hp = HttpProfile(endpoint=config["endpoint"], protocol=config["scheme"])
            if config.get("ca"):
                hp.certification = config["ca"]
            prof = ClientProfile(signMethod=config["sign_method"], httpProfile=hp)
            cred = credential.Credential(config["secret_id"], config["secret_key"])
            cache[region] = cvm_client.CvmClient(cred, region, prof)
        return cache[region]

    return client


def call(client, action: str, params: dict) -> dict:
    """``{"ok": response}`` or ``{"error": {"code", "message"}}`` for one call of ``action``."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.cvm.v20170312 import models

    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    try:
        resp = getattr(client, action)(req)
    except TencentCloudSDKException as exc:
        return {"error": {"code": exc.get_code(), "message": exc.get_message()}}
    return {"ok": json.loads(resp.to_json_string())}


def main() -> None:
    import tencentcloud

    client = make_clients(json.loads(sys.argv[1]))
    print(json.dumps({"ready": tencentcloud.__version__}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        print(json.dumps(call(client(msg["region"]), msg["action"], msg["params"])), flush=True)


if __name__ == "__main__":
    main()
