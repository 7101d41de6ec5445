"""data "tencentcloud_images": replays tencentcloud/services/cvm/data_source_tc_images.go
(CvmService.DescribeImagesByFilter with image-id / image-type filters and InstanceType, newest first,
os_name / image_name_regex matched on the client; each image's snapshots through
CbsService.DescribeSnapshotByIds)."""

from __future__ import annotations

import re
from datetime import datetime

from tencentcloud.cbs.v20170312 import models as cbs_models

from tests.api import sdk
from tests.api.share_util import custom_image

from . import provider as tf


def read(c, cb, *, image_id: str = "", image_types: list[str] = (), instance_type: str = "", os_name: str = "",
         name_regex: str = "") -> list[dict]:
    filters: dict[str, list[str]] = {}
    if image_id:
        filters["image-id"] = [image_id]
    if image_types:
        filters["image-type"] = list(image_types)
    images = tf.describe_images_by_filter(c, filters, instance_type)
    # sortImages: by CreatedTime (RFC 3339), newest first
    images.sort(key=lambda i: datetime.strptime(i.CreatedTime, "%Y-%m-%dT%H:%M:%SZ"), reverse=True)
    if os_name or name_regex:
        images = [i for i in images if (os_name and os_name.lower() in i.OsName.lower())
                  or (name_regex and re.search(name_regex, i.ImageName))]
    out = []
    for i in images:
        snapshots = []
        if i.SnapshotSet:
            req = cbs_models.DescribeSnapshotsRequest()
            req.SnapshotIds = [s.SnapshotId for s in i.SnapshotSet]
            req.Offset, req.Limit = 0, 100
            snapshots = [{"snapshot_id": s.SnapshotId, "disk_size": s.DiskSize, "disk_usage": s.DiskUsage}
                         for s in cb.DescribeSnapshots(req).SnapshotSet]
        out.append({"image_id": i.ImageId, "os_name": i.OsName, "image_type": i.ImageType,
                    "image_name": i.ImageName, "image_state": i.ImageState, "image_size": i.ImageSize,
                    "architecture": i.Architecture, "platform": i.Platform, "image_creator": i.ImageCreator,
                    "image_source": i.ImageSource, "sync_percent": i.SyncPercent,
                    "support_cloud_init": i.IsSupportCloudinit, "snapshots": snapshots})
    return out


def test_public_images_by_type_os_and_instance_type(server):
    c, cb = sdk.cvm(server), tf.cbs(server)
    got = read(c, cb, image_types=["PUBLIC_IMAGE"], instance_type="S5.MEDIUM4", os_name="ubuntu")
    assert got and all("ubuntu" in i["os_name"].lower() and i["image_type"] == "PUBLIC_IMAGE" for i in got)
    assert read(c, cb, image_types=["PUBLIC_IMAGE"], instance_type="S5.MEDIUM4", os_name="ubuntu") == got
    regex = read(c, cb, image_types=["PUBLIC_IMAGE"], name_regex="^CentOS")
    assert regex and all(i["image_name"].startswith("CentOS") for i in regex)


def test_custom_image_by_id_with_its_snapshots(server, files, tmp_path):
    c, cb = sdk.cvm(server), tf.cbs(server)
    image_id = custom_image(c, files, tmp_path, "tf-ds-image")
    (img,) = read(c, cb, image_id=image_id)
    assert img["image_type"] == "PRIVATE_IMAGE" and img["image_state"] == "NORMAL"
    # the image has snapshots (the provider's resource read needs them) and DescribeSnapshots accepts
    # their IDs (localcvm does not list the snapshots behind an imported image: the list is empty)
    listed = tf.describe_images_by_filter(c, {"image-id": [image_id]})[0].SnapshotSet
    assert listed and all(s.SnapshotId.startswith("snap-") for s in listed)
    assert all(s["snapshot_id"] in [x.SnapshotId for x in listed] for s in img["snapshots"])
    assert read(c, cb, image_id=image_id) == [img]
    from tests.api.instances_util import call

    call(c, "DeleteImages", {"ImageIds": [image_id]})
