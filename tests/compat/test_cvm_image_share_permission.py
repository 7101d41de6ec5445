"""tencentcloud_cvm_image_share_permission: replays
tencentcloud/services/cvm/resource_tc_cvm_image_share_permission.go (Create: ModifyImageSharePermission
SHARE; Read: DescribeImageSharePermission; Update: SHARE the added, CANCEL the removed accounts; Delete:
read, then CANCEL every account; import by image ID) with service_tencentcloud_cvm.go."""

from __future__ import annotations

from tests.api import sdk
from tests.api.instances_util import call
from tests.api.share_util import accounts, client, custom_image

from . import provider as tf


def read(c, image_id: str) -> dict:
    return {"image_id": image_id, "account_ids": sorted(tf.share_permission(c, image_id))}


def test_share_update_import_delete(server, files, tmp_path):
    a, b, d = accounts(server, 3, "tf-share")
    c = sdk.cvm(server)
    image_id = custom_image(c, files, tmp_path, "tf-shared")
    # Create
    tf.modify_share(c, image_id, "SHARE", [a["Uin"], b["Uin"]])
    state = read(c, image_id)
    assert state == {"image_id": image_id, "account_ids": sorted([a["Uin"], b["Uin"]])}
    assert read(c, image_id) == state  # no drift
    # the accounts see it
    assert image_id in [i.ImageId for i in call(client(server, a), "DescribeImages", {
        "Filters": [{"Name": "image-type", "Values": ["SHARED_IMAGE"]}]}).ImageSet]
    # Update: account_ids {a, b} -> {b, d}: SHARE d, then CANCEL a
    old, new = set(state["account_ids"]), {b["Uin"], d["Uin"]}
    tf.modify_share(c, image_id, "SHARE", sorted(new - old))
    tf.modify_share(c, image_id, "CANCEL", sorted(old - new))
    assert read(c, image_id) == {"image_id": image_id, "account_ids": sorted(new)}
    # import by the image ID reads the same
    assert read(c, image_id) == {"image_id": image_id, "account_ids": sorted(new)}
    # Delete: read, then CANCEL them all; the image can be deleted afterwards
    tf.modify_share(c, image_id, "CANCEL", tf.share_permission(c, image_id))
    assert read(c, image_id)["account_ids"] == []
    call(c, "DeleteImages", {"ImageIds": [image_id]})
    assert tf.describe_image_by_id(c, image_id, True) == (None, False)
