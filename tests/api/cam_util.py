"""Helpers for CAM tests: sub-users with policies, raw CAM calls."""

from __future__ import annotations

import json

from tencentcloud.cam.v20190116 import models

from . import sdk


def call(client, action: str, body: dict):
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def policy(*statements: dict) -> str:
    return json.dumps({"version": "2.0", "statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return dict({"effect": "allow", "action": action, "resource": resource}, **extra)


def deny(action, resource="*", **extra) -> dict:
    return dict({"effect": "deny", "action": action, "resource": resource}, **extra)


def owner_uin(srv) -> str:
    return call(sdk.cam(srv), "GetUserAppId", {}).OwnerUin


def sub_user(srv, name: str, *documents: str) -> tuple[int, str, str]:
    """A new sub-user with an API key and one custom policy per document: (Uin, SecretId, SecretKey)."""
    root = sdk.cam(srv)
    made = call(root, "AddUser", {"Name": name, "UseApi": 1})
    for i, doc in enumerate(documents):
        pid = call(root, "CreatePolicy", {"PolicyName": f"{name}-p{i}", "PolicyDocument": doc}).PolicyId
        call(root, "AttachUserPolicy", {"PolicyId": pid, "AttachUin": made.Uin})
    return made.Uin, made.SecretId, made.SecretKey


def decisions(srv) -> list[dict]:
    """The request log's CAM decisions (refused calls), oldest first."""
    out = []
    for line in srv.log().splitlines():
        if '"cam_decision"' in line:
            out.append(json.loads(line[line.index("{"):])["cam_decision"])
    return out


def call_from(srv, source: str, secret_id: str, secret_key: str, action: str, params: dict, *,
              service: str = "cvm", version: str = "2017-03-12", region: str = "ap-guangzhou") -> dict:
    """A TC3-signed call sent from the local address ``source`` (another 127.x.y.z): the SDK cannot
    bind its client address, so this signs like tests/api/raw.py and binds httpx's transport."""
    import hashlib
    import time
    from datetime import datetime, timezone

    import httpx
    from tencentcloud.common.sign import Sign

    body = json.dumps(params).encode()
    stamp = int(time.time())
    date = datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{srv.endpoint}\n", "content-type;host",
                           hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), f"{date}/{service}/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    sig = Sign.sign_tc3(secret_key, date, service, to_sign)
    headers = {"Content-Type": "application/json", "Host": srv.endpoint, "X-TC-Action": action, "X-TC-Version": version,
               "X-TC-Timestamp": str(stamp), "X-TC-Region": region,
               "Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
                                f"SignedHeaders=content-type;host, Signature={sig}"}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30) as client:
        return client.post(srv.url + "/", content=body, headers=headers).json()["Response"]
