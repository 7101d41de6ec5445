"""Helpers of the network tests: a vpc client of a fresh account, calls, refusals."""

from __future__ import annotations

import json
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vpc.v20170312 import models as vpc_models
from tencentcloud.vpc.v20170312 import vpc_client

from . import sdk
from .images_util import new_account


def vpc_for(server, created, region="ap-guangzhou"):
    return vpc_client.VpcClient(sdk.cred(server, created["SecretId"], created["SecretKey"]), region, sdk.profile(server))


def vcall(client, action: str, body: dict):
    req = getattr(vpc_models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def refused(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def network_account(server, prefix="net"):
    """(created, cvm client, vpc client) of a new account."""
    created, client_for = new_account(server, f"{prefix}-{uuid.uuid4().hex[:8]}")
    return created, client_for(), vpc_for(server, created)
