"""tencentcloud_cvm_sync_image: replays tencentcloud/services/cvm/resource_tc_cvm_sync_image.go
(Create: SyncImages, then CvmService.CvmSyncImagesStateRefreshFunc until the source image is NORMAL;
Read and Delete call nothing) from service_tencentcloud_cvm.go."""

from __future__ import annotations

from tests.api import sdk
from tests.api.images_util import image_of
from tests.api.instances_util import call
from tests.api.share_util import code_of, custom_image
from tests.helpers import wait_until

from . import provider as tf


def create(c, image_id: str, regions: list[str], name: str | None = None, dry_run: bool = False,
           seen: list[str] | None = None) -> list[dict]:
    """resourceTencentCloudCvmSyncImageCreate: the ID is the source image; image_set comes from the
    response (ImageSetRequired); then it waits for the source (in the provider's region) to be NORMAL."""
    body = {"ImageIds": [image_id], "DestinationRegions": regions, "DryRun": dry_run, "ImageSetRequired": True}
    if name:
        body["ImageName"] = name
    got = call(c, "SyncImages", body)
    assert got.ImageSet is not None, "Response is nil"
    image_set = [{"image_id": i.ImageId, "region": i.Region} for i in got.ImageSet]

    def source_state():
        found = call(c, "DescribeImages", {"ImageIds": [image_id]}).ImageSet
        assert found, "Not found instance."
        if seen is not None:
            seen.append(found[0].ImageState)
        return found[0].ImageState == "NORMAL"

    wait_until(source_state, timeout=120, interval=0.2, what=f"{image_id} to be NORMAL")
    return image_set


def test_sync_image_waits_for_the_copy_then_the_source_can_be_destroyed(make_server, files, tmp_path):
    """The provider's wait ends when the source is NORMAL again: the source shows SYNCING while its copy
    runs (as the real service does), so by then the copy is done and the source's destroy succeeds."""
    server = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.003"})  # a copy takes 1.8-5.4 s
    c = sdk.cvm(server)
    image_id = custom_image(c, files, tmp_path, "tf-sync-src")
    seen: list[str] = []
    image_set = create(c, image_id, ["ap-shanghai"], name="tf-sync-copy", seen=seen)
    assert seen[0] == "SYNCING" and seen[-1] == "NORMAL", seen
    assert [i["region"] for i in image_set] == ["ap-shanghai"] and image_set[0]["image_id"].startswith("img-")
    cs = sdk.cvm(server, "ap-shanghai")
    copy = image_of(cs, image_set[0]["image_id"])
    assert copy is not None and copy.ImageName == "tf-sync-copy" and copy.ImageState == "NORMAL"
    # dry_run = true: SyncImages checks and answers DryRunOperation, and the apply fails as it does for real
    assert code_of(lambda: create(c, image_id, ["ap-beijing"], dry_run=True)) == "DryRunOperation"
    assert not [i for i in call(sdk.cvm(server, "ap-beijing"), "DescribeImages", {
        "Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]}).ImageSet if i.ImageName == "tf-sync-src"]
    # the source's tencentcloud_image destroy (DeleteImages, then DescribeImageById until gone) works
    # once the copy is done
    call(c, "DeleteImages", {"ImageIds": [image_id]})
    assert tf.describe_image_by_id(c, image_id, True) == (None, False)
    call(cs, "DeleteImages", {"ImageIds": [copy.ImageId]})
