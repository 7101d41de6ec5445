"""Images on the S3 backends: chunks in an S3 bucket, ExportImages into an S3 bucket (real SeaweedFS)."""

from __future__ import annotations

import json
import uuid

import boto3
from botocore.config import Config
from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until

from .images_util import convert, import_image, make_raw, new_account, same_disk, wait_image


def test_import_and_export_on_s3(make_server, s3_creds, files, tmp_path):
    endpoint, key, secret = s3_creds
    blob_bucket, export_bucket = f"lc-blobs-{uuid.uuid4().hex[:6]}", f"lc-export-{uuid.uuid4().hex[:6]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=export_bucket)
    srv = make_server(extra_env={
        "LOCALCVM_BLOB_BACKEND": "s3", "LOCALCVM_COS_BACKEND": "s3", "LOCALCVM_S3_ENDPOINT": endpoint,
        "LOCALCVM_S3_BUCKET": blob_bucket, "LOCALCVM_S3_ACCESS_KEY": key, "LOCALCVM_S3_SECRET_KEY": secret,
    })
    _acct, client_for = new_account(srv, "s3user")
    c = client_for()
    raw = make_raw(tmp_path / "s.raw", 16, seed=3)
    url = files.add(f"{uuid.uuid4().hex[:6]}-s.qcow2", convert(raw, tmp_path / "s.qcow2", "qcow2"))
    image_id = import_image(c, url, "on-s3")
    assert wait_image(c, image_id).ImageState == "NORMAL"
    # the chunks are in the S3 bucket, not on local disk
    listed = s3.list_objects_v2(Bucket=blob_bucket, Prefix="blobs/ap-guangzhou/")
    assert listed.get("KeyCount", 0) == 5  # the 16 MiB disk has data in 5 of its 16 chunks (see make_raw)
    assert not (srv.data_dir / "blobs").exists() or not any((srv.data_dir / "blobs").rglob("*"))

    req = models.ExportImagesRequest()
    req.from_json_string(json.dumps({"BucketName": export_bucket, "ImageIds": [image_id], "ExportFormat": "QCOW2"}))
    name = c.ExportImages(req).CosPaths[0]

    def exported():
        try:
            s3.head_object(Bucket=export_bucket, Key=name)
            return True
        except s3.exceptions.ClientError:
            return False

    wait_until(exported, timeout=120, what="the exported object")
    out = tmp_path / "out.qcow2"
    s3.download_file(export_bucket, name, str(out))
    assert same_disk(raw, "raw", out, "qcow2")
    # a bucket that does not exist is refused up front
    req.from_json_string(json.dumps({"BucketName": "no-such-bucket-here", "ImageIds": [image_id]}))
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    import pytest

    with pytest.raises(TencentCloudSDKException) as err:
        c.ExportImages(req)
    assert err.value.code == "InvalidParameterValue.InvalidBucketPermissionForExport"


def test_s3_region_copies_are_server_side_and_survive_kill_9(make_server, s3_creds, files, tmp_path):
    """Two S3-backed regions of one endpoint: five concurrent SyncImages copies, the server killed
    (SIGKILL) at random points; every copy ends NORMAL with exactly the source's chunks (each
    object the same bytes: the same ETag), and gc leaves no orphan."""
    import random
    import signal

    from .images_util import image_of
    from .share_util import accounts, client, custom_image, sync

    endpoint, key, secret = s3_creds
    bucket = f"lc-blobs-{uuid.uuid4().hex[:6]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    srv = make_server(extra_env={
        "LOCALCVM_BLOB_BACKEND": "s3", "LOCALCVM_S3_ENDPOINT": endpoint, "LOCALCVM_S3_BUCKET": bucket,
        "LOCALCVM_S3_ACCESS_KEY": key, "LOCALCVM_S3_SECRET_KEY": secret, "LOCALCVM_WORKERS": "6",
        "LOCALCVM_TIME_SCALE": "0.01",
    })
    regions = ["ap-shanghai", "ap-nanjing", "ap-beijing", "ap-chengdu", "ap-chongqing"]
    (a,) = accounts(srv, 1, "s3crash")
    ca = client(srv, a)
    source = custom_image(ca, files, tmp_path, "s3-src", size_mib=24, seed=5, dense=True)
    copies = sync(ca, source, regions)
    rng = random.Random(7)
    for _ in range(5):
        try:  # not synchronisation: the kill point itself is what is random
            wait_until(lambda: False, timeout=rng.uniform(0.2, 1.5), interval=0.05, what="a random kill point")
        except TimeoutError:
            pass
        srv.stop(signal.SIGKILL)
        srv.start()

    def objects(region: str) -> dict[str, str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"blobs/{region}/chunks/")
        return {o["Key"].rsplit("/", 1)[1]: o["ETag"] for page in pages for o in page.get("Contents", [])}

    for region, copy_id in copies.items():
        c = client(srv, a, region)
        img = wait_until(lambda: (lambda i: i if i and i.ImageState != "SYNCING" else None)(image_of(c, copy_id)),
                         timeout=180, interval=0.2, what=f"{copy_id} to finish")
        assert img.ImageState == "NORMAL", (region, img.ImageState)
    src = objects("ap-guangzhou")
    assert len(src) == 24
    assert srv.cli("images", "gc", "--grace", "0").returncode == 0
    for region in regions:
        assert objects(region) == src, region  # the same chunks, the same bytes (ETag), no orphan
