"""Helpers for the image sharing and copying tests (ModifyImageSharePermission, SyncImages)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from . import sdk
from .images_util import import_image, make_raw, wait_image
from .instances_util import call, wait_state

MiB = 1024 * 1024


def code_of(fn) -> str:
    """The error code ``fn()`` fails with (it must fail)."""
    try:
        fn()
    except TencentCloudSDKException as exc:
        return exc.code
    raise AssertionError("the call succeeded; an error was expected")


def accounts(server, n: int, prefix: str) -> list[dict]:
    """Create ``n`` accounts in one process (the CLI costs a process per account)."""
    names = [f"{prefix}-{uuid.uuid4().hex[:6]}-{i}" for i in range(n)]
    script = (
        "import json, sys\n"
        "from localcvm.config import Settings\n"
        "from localcvm.services.core import Services\n"
        "s = Services(Settings.load())\n"
        "out = []\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    c = s.accounts.create_account(name)\n"
        "    out.append({'Uin': c.uin, 'AppId': c.app_id, 'SecretId': c.secret_id, 'SecretKey': c.secret_key, 'Name': c.name})\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, json.dumps(names)], env=server.env(), capture_output=True,
                          text=True, check=True, timeout=120)
    return json.loads(done.stdout)


def client(server, acct: dict, region: str = "ap-guangzhou"):
    return sdk.cvm(server, region, secret_id=acct["SecretId"], secret_key=acct["SecretKey"])


def custom_image(c, files, tmp_path: Path, name: str, size_mib: int = 24, seed: int = 1, dense: bool = False) -> str:
    """Import a raw disk as a custom image of ``c``'s account; wait until it is NORMAL."""
    raw = tmp_path / f"{uuid.uuid4().hex[:8]}.raw"
    if dense:
        import random

        rng = random.Random(seed)
        with open(raw, "wb") as fh:
            for _ in range(size_mib):
                fh.write(rng.randbytes(MiB))
    else:
        make_raw(raw, size_mib, seed=seed)
    fname = f"{uuid.uuid4().hex[:6]}-{raw.name}"
    files.add(fname, raw)
    image_id = import_image(c, files.url(fname), name)
    assert wait_image(c, image_id, timeout=180).ImageState == "NORMAL"
    return image_id


def share(c, image_id: str, uins: list[str], permission: str = "SHARE"):
    return call(c, "ModifyImageSharePermission", {"ImageId": image_id, "AccountIds": uins, "Permission": permission})


def shared_with(c, image_id: str) -> list[str]:
    got = call(c, "DescribeImageSharePermission", {"ImageId": image_id}).SharePermissionSet
    return sorted(s.AccountId for s in got)


def sync(c, image_id: str, regions: list[str], **extra) -> dict[str, str]:
    """SyncImages; returns {region: new image id}."""
    got = call(c, "SyncImages", {"ImageIds": [image_id], "DestinationRegions": regions, "ImageSetRequired": True,
                                 **extra})
    return {i.Region: i.ImageId for i in got.ImageSet}


def zone_of(c) -> str:
    from tencentcloud.cvm.v20170312 import models

    return c.DescribeZones(models.DescribeZonesRequest()).ZoneSet[0].Zone


def run_instance(c, image_id: str) -> str:
    ids = call(c, "RunInstances", {
        "Placement": {"Zone": zone_of(c)}, "ImageId": image_id, "InstanceType": "S5.MEDIUM4",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50}, "InstanceCount": 1,
        "LoginSettings": {"Password": "Passw0rd!x"},
    }).InstanceIdSet
    wait_state(c, ids, "RUNNING", timeout=120)
    return ids[0]
