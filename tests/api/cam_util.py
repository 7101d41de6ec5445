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
