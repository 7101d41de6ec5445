"""Issue 24: image families: DescribeImageFromFamily, ImageDeprecated, RunInstances refusing a
deprecated image."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import wait_until

from .create_image_util import create_and_wait, launch
from .images_util import image_of, new_account
from .instances_util import call, wait_state


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _after(image) -> None:
    """Wait until the wall clock is past the image's creation second (times are kept to the second, and
    "newest" is by creation time)."""
    made = datetime.strptime(image.CreatedTime, "%Y-%m-%dT%H:%M:%SZ")
    wait_until(lambda: datetime.now(timezone.utc).replace(tzinfo=None) >= made + timedelta(seconds=1),
               timeout=5, interval=0.05, what="the next second")


def _newest(c, family):
    return call(c, "DescribeImageFromFamily", {"ImageFamily": family}).Image


def test_family_newest_usable_image_and_deprecation(server):
    _, client_for = new_account(server, f"fam-{uuid.uuid4().hex[:8]}")
    c = client_for()
    family = f"web-{uuid.uuid4().hex[:6]}"
    (iid,) = launch(c)
    first = create_and_wait(c, InstanceId=iid, ImageName="web-1", ImageFamily=family)
    old = first.ImageId
    assert _newest(c, family).ImageId == old
    _after(first)
    new = create_and_wait(c, InstanceId=iid, ImageName="web-2", ImageFamily=family).ImageId
    other = create_and_wait(c, InstanceId=iid, ImageName="db-1", ImageFamily="db").ImageId
    got = _newest(c, family)
    assert (got.ImageId, got.ImageFamily, got.ImageState, got.ImageDeprecated) == (new, family, "NORMAL", False)
    assert _newest(c, "db").ImageId == other
    assert _newest(c, "no-such-family") is None

    # deprecating the newest falls back to the previous one; RunInstances refuses it
    call(c, "ModifyImageAttribute", {"ImageId": new, "ImageDeprecated": True})
    assert image_of(c, new).ImageDeprecated is True
    assert _newest(c, family).ImageId == old
    run = {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": new, "InstanceType": "S5.MEDIUM4"}
    assert _code(lambda: call(c, "RunInstances", run)) == "InvalidParameterValue.InvalidImageId"
    lt_body = {"LaunchTemplateName": "from-deprecated", "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": new}
    assert _code(lambda: call(c, "CreateLaunchTemplate", lt_body)) == "InvalidParameterValue.InvalidImageId"
    call(c, "ModifyImageAttribute", {"ImageId": old, "ImageDeprecated": True})
    assert _newest(c, family) is None

    # restoring it makes it the family's newest again, and launchable
    call(c, "ModifyImageAttribute", {"ImageId": new, "ImageDeprecated": False})
    assert _newest(c, family).ImageId == new
    ids = call(c, "RunInstances", run).InstanceIdSet
    wait_state(c, ids, "RUNNING")

    # another account sees nothing of this family
    _, other_for = new_account(server, f"fam-{uuid.uuid4().hex[:8]}")
    assert _newest(other_for(), family) is None
    assert _code(lambda: call(other_for(), "ModifyImageAttribute", {"ImageId": new, "ImageDeprecated": True})) == \
        "InvalidImageId.NotFound"
    assert _code(lambda: call(c, "DescribeImageFromFamily", {})) == "MissingParameter"
    assert _code(lambda: call(c, "DescribeImageFromFamily", {"ImageFamily": "-bad family"})) == \
        "InvalidParameterValue"  # the action documents no InvalidImageFamily: the common family
