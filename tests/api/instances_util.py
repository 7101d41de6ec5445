"""Helpers for instance tests."""

from __future__ import annotations

import json

from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until


def call(client, action: str, body: dict):
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def public_image(client, os_prefix: str = "Ubuntu Server 22.04 LTS 64") -> str:
    got = call(client, "DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}], "Limit": 100})
    return next(i.ImageId for i in got.ImageSet if i.OsName.startswith(os_prefix))


def states(client, ids) -> dict[str, str]:
    got = call(client, "DescribeInstancesStatus", {"InstanceIds": list(ids), "Limit": 100})
    return {s.InstanceId: s.InstanceState for s in got.InstanceStatusSet}


def wait_state(client, ids, state: str, timeout: float = 60):
    ids = list(ids)

    def done():
        got = states(client, ids)
        return got if all(got.get(i) == state for i in ids) else None

    return wait_until(done, timeout=timeout, interval=0.1, what=f"{ids} to be {state}")


def instance(client, instance_id: str):
    got = call(client, "DescribeInstances", {"InstanceIds": [instance_id]}).InstanceSet
    return got[0] if got else None


def wait_operation(client, instance_id: str, timeout: float = 60):
    def done():
        i = instance(client, instance_id)
        return i if i is not None and i.LatestOperationState in ("SUCCESS", "FAILED") else None

    return wait_until(done, timeout=timeout, interval=0.1, what=f"{instance_id}'s operation to finish")
