"""ModifyImageSharePermission / DescribeImageSharePermission, over the SDK."""

from __future__ import annotations

import json
import threading

from tencentcloud.cvm.v20170312 import models

from .images_util import describe, image_of
from .instances_util import call, states
from .share_util import accounts, client, code_of, custom_image, run_instance, share, shared_with, sync


def test_shared_image_is_usable_only_to_start_instances(server, files, tmp_path):
    a, b, c = accounts(server, 3, "share")
    ca, cb = client(server, a), client(server, b)
    image_id = custom_image(ca, files, tmp_path, "golden")
    share(ca, image_id, [b["Uin"]])
    assert shared_with(ca, image_id) == [b["Uin"]]

    # B sees it as SHARED_IMAGE in its region only; C (not shared with) does not see it at all
    seen = image_of(cb, image_id)
    assert seen is not None and seen.ImageType == "SHARED_IMAGE" and seen.ImageName == "golden"
    assert [i.ImageId for i in describe(cb, filters={"image-type": ["SHARED_IMAGE"]}).ImageSet] == [image_id]
    assert image_of(client(server, b, "ap-shanghai"), image_id) is None
    assert image_of(client(server, c), image_id) is None
    assert image_of(ca, image_id).ImageType == "PRIVATE_IMAGE"

    # B may start instances from it ...
    ins = run_instance(cb, image_id)
    # ... and nothing else, each refused with the real code
    assert code_of(lambda: call(cb, "ModifyImageAttribute", {"ImageId": image_id, "ImageName": "mine"})) \
        == "UnsupportedOperation.SharedImageModifyUnsupported"
    assert code_of(lambda: call(cb, "DeleteImages", {"ImageIds": [image_id]})) \
        == "InvalidParameterValue.InvalidImageId"
    (server.data_dir / "cos" / "sharebucket").mkdir(parents=True, exist_ok=True)
    assert code_of(lambda: call(cb, "ExportImages", {"BucketName": "sharebucket", "ImageIds": [image_id]})) \
        == "UnsupportedOperation.SharedImageExportUnsupported"
    assert code_of(lambda: share(cb, image_id, [c["Uin"]])) == "UnauthorizedOperation.ImageNotBelongToAccount"
    assert code_of(lambda: shared_with(cb, image_id)) == "UnauthorizedOperation.ImageNotBelongToAccount"
    assert code_of(lambda: sync(cb, image_id, ["ap-shanghai"])) == "InvalidParameterValue.InvalidRegion"
    # C, who does not see it, gets NotFound for all of it
    assert code_of(lambda: share(client(server, c), image_id, [b["Uin"]])) == "InvalidImageId.NotFound"
    assert image_of(cb, image_id).ImageName == "golden"

    # the owner cannot delete a shared image; sharing again, with itself or with no account is refused
    assert code_of(lambda: call(ca, "DeleteImages", {"ImageIds": [image_id]})) == "InvalidImageId.InShared"
    assert code_of(lambda: share(ca, image_id, [b["Uin"]])) == "FailedOperation.AccountAlreadyExists"
    assert code_of(lambda: share(ca, image_id, [a["Uin"]])) == "InvalidAccountIs.YourSelf"
    # an unknown account fails the whole call: C is not shared with either
    assert code_of(lambda: share(ca, image_id, [c["Uin"], "99999999999"])) == "InvalidAccountId.NotFound"
    assert shared_with(ca, image_id) == [b["Uin"]]
    assert code_of(lambda: share(ca, image_id, [b["Uin"]], "LEND")) == "InvalidParameterValue"

    # operators see who pays: the owner, for the storage; recipients nothing
    shown = json.loads(server.cli("images", "show", image_id).stdout)
    assert shown["Billing"]["StoragePayerUin"] == a["Uin"] and shown["Billing"]["RecipientCharge"] == 0
    assert [s["AccountId"] for s in shown["SharedWith"]] == [b["Uin"]]

    # CANCEL hides it again; B's instance keeps running
    share(ca, image_id, [b["Uin"]], "CANCEL")
    assert shared_with(ca, image_id) == []
    assert image_of(cb, image_id) is None
    assert code_of(lambda: run_instance(cb, image_id)) == "InvalidImageId.NotFound"
    assert states(cb, [ins]) == {ins: "RUNNING"}
    # now the owner may delete it, and B's instance still runs
    call(ca, "DeleteImages", {"ImageIds": [image_id]})
    assert image_of(ca, image_id) is None
    assert states(cb, [ins]) == {ins: "RUNNING"}


def test_only_normal_custom_images_of_the_owner_can_be_shared(server, files, tmp_path):
    a, b = accounts(server, 2, "share2")
    ca = client(server, a)
    public = describe(ca, filters={"image-type": ["PUBLIC_IMAGE"]}).ImageSet[0].ImageId
    assert code_of(lambda: share(ca, public, [b["Uin"]])) == "UnauthorizedOperation.ImageNotBelongToAccount"
    assert code_of(lambda: share(ca, "img-zzzzzzzz", [b["Uin"]])) == "InvalidImageId.NotFound"
    assert code_of(lambda: share(ca, "image-1", [b["Uin"]])) == "InvalidImageId.Malformed"
    # sharing is per region: the image is not found through another region's endpoint
    image_id = custom_image(ca, files, tmp_path, "regional", size_mib=4)
    assert code_of(lambda: share(client(server, a, "ap-shanghai"), image_id, [b["Uin"]])) == "InvalidImageId.NotFound"
    # BYOL images cannot be shared
    from .images_util import import_image, make_raw, wait_image

    raw = make_raw(tmp_path / "byol.raw", 4, seed=9)
    files.add("share-byol.raw", raw)
    byol = import_image(ca, files.url("share-byol.raw"), "byol", LicenseType="BYOL")
    assert wait_image(ca, byol).ImageState == "NORMAL"
    assert code_of(lambda: share(ca, byol, [b["Uin"]])) == "FailedOperation.BYOLImageShareFailed"
    assert shared_with(ca, byol) == []


def test_fifty_accounts_at_most_exact_under_concurrency(server, files, tmp_path):
    owner, *others = accounts(server, 52, "fifty")
    co = client(server, owner)
    image_id = custom_image(co, files, tmp_path, "popular", size_mib=4)
    share(co, image_id, [o["Uin"] for o in others[:40]])
    # 11 concurrent calls for the last 10 places: exactly 10 succeed
    results: list[str] = []
    lock = threading.Lock()

    def one(uin):
        try:
            share(client(server, owner), image_id, [uin])
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - the SDK exception carries the code
            outcome = getattr(exc, "code", repr(exc))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(o["Uin"],)) for o in others[40:51]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["OverQuota"] + ["ok"] * 10
    assert len(shared_with(co, image_id)) == 50
    # the 51st account is refused and nothing changes
    last = next(o["Uin"] for o in others if o["Uin"] not in shared_with(co, image_id))
    assert code_of(lambda: share(co, image_id, [last])) == "OverQuota"
    assert len(shared_with(co, image_id)) == 50
    assert image_of(client(server, next(o for o in others if o["Uin"] == last)), image_id) is None
    # cancelling one frees a place
    share(co, image_id, [shared_with(co, image_id)[0]], "CANCEL")
    share(co, image_id, [last])
    assert len(shared_with(co, image_id)) == 50 and last in shared_with(co, image_id)


def test_describe_share_permission_shape(server, files, tmp_path):
    a, b = accounts(server, 2, "shape")
    ca = client(server, a)
    image_id = custom_image(ca, files, tmp_path, "shape", size_mib=4)
    req = models.DescribeImageSharePermissionRequest()
    req.from_json_string(json.dumps({"ImageId": image_id}))
    assert ca.DescribeImageSharePermission(req).SharePermissionSet == []
    share(ca, image_id, [b["Uin"]])
    got = ca.DescribeImageSharePermission(req).SharePermissionSet
    assert [g.AccountId for g in got] == [b["Uin"]]
    assert len(got[0].CreatedTime) == 20 and got[0].CreatedTime.endswith("Z")
