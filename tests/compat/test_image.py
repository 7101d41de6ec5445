"""tencentcloud_image: replays tencentcloud/services/cvm/resource_tc_image.go (Create from an instance
or from snapshots, Read, Update, Delete, import by ID) with CvmService.DescribeImageById /
ModifyImage / DeleteImage (service_tencentcloud_cvm.go) and the tag service."""

from __future__ import annotations

import uuid

from tests.api import sdk
from tests.api.create_image_util import launch
from tests.api.images_util import image_of
from tests.api.instances_util import call, wait_operation

from . import provider as tf


def create(c, tc, **args) -> str:
    """resourceTencentCloudImageCreate: CreateImage (tags in TagSpecification), the tags again through
    the tag API, then DescribeImageById until NORMAL; an image without snapshots is a failed create."""
    body = {"ImageName": args["name"], "ForcePoweroff": "true" if args.get("force_poweroff") else "false"}
    for key, param in (("description", "ImageDescription"), ("instance_id", "InstanceId"),
                       ("snapshot_ids", "SnapshotIds"), ("family", "ImageFamily")):
        if args.get(key):
            body[param] = args[key]
    if "sysprep" in args:
        body["Sysprep"] = "true" if args["sysprep"] else "false"
    if args.get("tags"):
        body["TagSpecification"] = [{"ResourceType": "image",
                                     "Tags": [{"Key": k, "Value": v} for k, v in args["tags"].items()]}]
    image_id = call(c, "CreateImage", body).ImageId
    if args.get("tags"):
        # the image is still CREATING here: the tag API must accept it
        tf.modify_tags(tc, tf.resource_name("cvm", "image", tf.REGION, image_id), args["tags"], [])
    _image, has = tf.describe_image_by_id(c, image_id, False)
    assert has, f"creating cvm image failed, image {image_id} doesn't exist"
    return image_id


def read(c, tc, image_id: str, instance_id: str = "") -> dict | None:
    """resourceTencentCloudImageRead."""
    image, has = tf.describe_image_by_id(c, image_id, False)
    if not has:
        return None
    state = {"image_name": image.ImageName, "image_family": image.ImageFamily,
             "tags": tf.describe_resource_tags(tc, "cvm", "image", tf.REGION, image_id)}
    if image.ImageDescription:
        state["image_description"] = image.ImageDescription
    if instance_id:
        state["instance_id"] = instance_id
    else:
        state["snapshot_ids"] = sorted(s.SnapshotId for s in image.SnapshotSet)
    return state


def delete(c, image_id: str) -> None:
    """resourceTencentCloudImageDelete: DeleteImages, then DescribeImageById(isDelete) until it is gone."""
    call(c, "DeleteImages", {"ImageIds": [image_id]})
    from tests.helpers import wait_until

    wait_until(lambda: not tf.describe_image_by_id(c, image_id, True)[1], timeout=60, what=f"{image_id} to go")


def test_image_from_an_instance(server):
    c, tc = sdk.cvm(server), tf.tag(server)
    (src,) = launch(c, name="tf-image-src")
    name = "tf-img-" + uuid.uuid4().hex[:6]
    tags = {"env": "test", "tf": "yes"}
    image_id = create(c, tc, name=name, instance_id=src, description="from terraform", sysprep=False, tags=tags)
    state = read(c, tc, image_id, instance_id=src)
    assert state == {"image_name": name, "image_family": "", "image_description": "from terraform",
                     "instance_id": src, "tags": tags}
    # no drift: the next refresh reads the same
    assert read(c, tc, image_id, instance_id=src) == state
    # the instance's CreateImage operation is over (tencentcloud_instance reads wait for it)
    assert wait_operation(c, src).LatestOperationState == "SUCCESS"

    # Update: name, description and family in one ModifyImageAttribute; tags through the tag API
    new_name = name + "-v2"
    call(c, "ModifyImageAttribute", {"ImageId": image_id, "ImageName": new_name, "ImageDescription": "v2",
                                     "ImageFamily": "tf-family"})
    replace, remove = tf.diff_tags(tags, {"env": "prod"})
    tf.modify_tags(tc, tf.resource_name("cvm", "image", tf.REGION, image_id), replace, remove)
    state = read(c, tc, image_id, instance_id=src)
    assert state == {"image_name": new_name, "image_family": "tf-family", "image_description": "v2",
                     "instance_id": src, "tags": {"env": "prod"}}
    # DescribeImages shows the tags the tag API set
    assert {t.Key: t.Value for t in image_of(c, image_id).Tags} == {"env": "prod"}

    # import by ID: without instance_id in the state, the read records the image's snapshots
    imported = read(c, tc, image_id)
    assert imported["snapshot_ids"] and all(s.startswith("snap-") for s in imported["snapshot_ids"])
    assert read(c, tc, image_id) == imported

    delete(c, image_id)
    assert tf.describe_image_by_id(c, image_id, True) == (None, False)  # what the delete waits for
    call(c, "TerminateInstances", {"InstanceIds": [src]})


def test_image_from_snapshots_reads_back_its_snapshots(server):
    c, tc = sdk.cvm(server), tf.tag(server)
    cb = tf.cbs(server)
    (src,) = launch(c, name="tf-snap-src")
    system_disk = tf.describe_instance_by_id(c, src).SystemDisk.DiskId
    from tencentcloud.cbs.v20170312 import models as cbs_models

    req = cbs_models.CreateSnapshotRequest()
    req.DiskId = system_disk
    snap = cb.CreateSnapshot(req).SnapshotId
    from tests.helpers import wait_until

    wait_until(lambda: cb.DescribeSnapshots(cbs_models.DescribeSnapshotsRequest()).SnapshotSet and all(
        s.SnapshotState == "NORMAL" for s in cb.DescribeSnapshots(cbs_models.DescribeSnapshotsRequest()).SnapshotSet
        if s.SnapshotId == snap), timeout=120, what="the snapshot")
    image_id = create(c, tc, name="tf-snap-" + uuid.uuid4().hex[:6], snapshot_ids=[snap])
    state = read(c, tc, image_id)
    assert state["snapshot_ids"] == [snap] and state["tags"] == {}
    assert read(c, tc, image_id) == state
    delete(c, image_id)
    assert tf.describe_image_by_id(c, image_id, True) == (None, False)
    call(c, "TerminateInstances", {"InstanceIds": [src]})


def test_an_image_without_snapshots_reads_as_gone(server):
    """DescribeImageById counts an image as present only with a non-empty SnapshotSet: every custom
    image localcvm shows NORMAL has one, public images have none (the provider never manages those)."""
    c = sdk.cvm(server)
    public = tf.describe_images_by_filter(c, {"image-type": ["PUBLIC_IMAGE"]})[0]
    assert public.SnapshotSet in (None, [])
    assert tf.describe_image_by_id(c, public.ImageId, False) == (None, False)
