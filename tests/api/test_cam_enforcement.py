"""CAM acceptance 1 and 4: a sub-user may do exactly what its policies allow, on every cvm and cbs
action the server implements; Describe* lists only what it may read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tccli
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from localcvm.api.routes import load_all
from tests.api import cam_util as cu
from tests.api import sdk
from tests.api.instances_util import call, public_image, wait_state

ZONE = "ap-guangzhou-3"
SPECS = Path(tccli.__file__).parent / "services"
ALLOWED = {("cvm", "DescribeImages"), ("cvm", "RunInstances")}


def _spec(product: str) -> dict:
    return json.loads((SPECS / product / "v20170312" / "api.json").read_text(encoding="utf-8"))


def _value(spec: dict, name: str, member: dict, ids: dict):
    kind = member.get("type")
    if kind == "list":
        inner = dict(member, type=member.get("member"))
        if inner["type"] not in ("string", "int", "integer", "int64", "uint64", "float", "bool", "boolean"):
            inner["type"] = "object"
        return [_value(spec, name[:-1] if name.endswith("s") else name, inner, ids)]
    if kind == "object":
        obj = spec["objects"][member["member"]]
        return {m["name"]: _value(spec, m["name"], m, ids) for m in obj["members"] if m.get("required")}
    if kind in ("int", "integer", "int64", "uint64"):
        return 1
    if kind == "float":
        return 1.0
    if kind in ("bool", "boolean"):
        return False
    for suffix, value in ids.items():
        if name.endswith(suffix):
            return value
    return {"Zone": ZONE}.get(name, "x")


def minimal_params(product: str, action: str, ids: dict) -> dict:
    """The required parameters of an action, with valid values of the right types (the check runs on
    validated parameters, so anything else would be refused before it)."""
    spec = _spec(product)
    inp = spec["objects"][spec["actions"][action]["input"]]
    return {m["name"]: _value(spec, m["name"], m, ids) for m in inp["members"] if m.get("required")}


def _state(srv) -> dict:
    """What the root account has: a change by a refused call shows here."""
    cvm, cbs = sdk.common(srv, "cvm"), sdk.common(srv, "cbs")
    return {
        "instances": sorted((i["InstanceId"], i["InstanceState"], i["InstanceName"])
                            for i in cvm.call_json("DescribeInstances", {"Limit": 100})["Response"]["InstanceSet"]),
        "images": sorted(i["ImageId"] for i in cvm.call_json("DescribeImages", {
            "Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]})["Response"]["ImageSet"]),
        "keys": sorted((k["KeyId"], k["KeyName"]) for k in cvm.call_json("DescribeKeyPairs", {})["Response"]["KeyPairSet"]),
        "disks": sorted((d["DiskId"], d["DiskState"], d["DiskSize"])
                        for d in cbs.call_json("DescribeDisks", {"Limit": 100})["Response"]["DiskSet"]),
        "snapshots": sorted(s["SnapshotId"] for s in cbs.call_json("DescribeSnapshots", {})["Response"]["SnapshotSet"]),
    }


def _code(client, action: str, params: dict) -> str:
    try:
        client.call_json(action, params)
    except TencentCloudSDKException as exc:
        return exc.code
    return "ok"


def test_sub_user_may_do_only_what_its_policy_allows(make_server):
    srv = make_server()
    owner, root = cu.owner_uin(srv), sdk.cvm(srv)
    image = public_image(root)
    other_image = public_image(root, "CentOS")
    instance_id = call(root, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image}).InstanceIdSet[0]
    wait_state(root, [instance_id], "RUNNING")
    key_id = call(root, "CreateKeyPair", {"KeyName": "rootkey", "ProjectId": 0}).KeyPair.KeyId
    disk_id = sdk.common(srv, "cbs").call_json("CreateDisks", {
        "Placement": {"Zone": ZONE}, "DiskChargeType": "POSTPAID_BY_HOUR", "DiskType": "CLOUD_PREMIUM",
        "DiskSize": 20})["Response"]["DiskIdSet"][0]
    doc = cu.policy(cu.allow("cvm:DescribeImages"),
                    cu.allow("cvm:RunInstances", [f"qcs::cvm::uin/{owner}:image/{image}", f"qcs::cvm::uin/{owner}:instance/*"]))
    _, sid, skey = cu.sub_user(srv, "dev", doc)

    # allowed: list images, start an instance from that image (it belongs to the root account)
    me = sdk.cvm(srv, secret_id=sid, secret_key=skey)
    assert call(me, "DescribeImages", {"Limit": 100}).TotalCount > 0
    mine = call(me, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image}).InstanceIdSet[0]
    wait_state(root, [mine], "RUNNING")
    before = _state(srv)
    assert mine in {i[0] for i in before["instances"]}

    ids = {"InstanceId": instance_id, "ImageId": other_image, "DiskId": disk_id, "KeyId": key_id,
           "SnapshotId": "snap-aaaaaaaa", "Region": "ap-shanghai"}
    walked = []
    for product, action in sorted(k for k in load_all() if k[0] in ("cvm", "cbs")):
        if (product, action) in ALLOWED:
            continue
        client = sdk.common(srv, product, secret_id=sid, secret_key=skey)
        code = _code(client, action, minimal_params(product, action, ids))
        assert code == "UnauthorizedOperation", f"{product}:{action} answered {code}"
        walked.append(action)
    # RunInstances from any other image is refused too
    assert _code(sdk.common(srv, "cvm", secret_id=sid, secret_key=skey), "RunInstances",
                 {"Placement": {"Zone": ZONE}, "ImageId": other_image}) == "UnauthorizedOperation"
    assert len(walked) >= 35
    assert _state(srv) == before


def test_explicit_deny_on_an_image_beats_allow_all(make_server):
    srv = make_server()
    owner, root = cu.owner_uin(srv), sdk.cvm(srv)
    image, other = public_image(root), public_image(root, "CentOS")
    doc = cu.policy(cu.allow("*"), cu.deny("cvm:*", f"qcs::cvm::uin/{owner}:image/{image}"))
    _, sid, skey = cu.sub_user(srv, "ops", doc)
    me = sdk.cvm(srv, secret_id=sid, secret_key=skey)
    with pytest.raises(TencentCloudSDKException) as err:
        call(me, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image})
    assert err.value.code == "UnauthorizedOperation" and image in err.value.message and "deny" in err.value.message
    listed = {i.ImageId for i in call(me, "DescribeImages", {"Limit": 100}).ImageSet}
    assert image not in listed and other in listed
    assert call(me, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": other}).InstanceIdSet
    refused = cu.decisions(srv)
    assert refused and refused[-1]["resource"].endswith(f"image/{image}")
    assert refused[-1]["decided_by"].endswith("(deny)") and refused[-1]["action"] == "cvm:RunInstances"


def test_describe_lists_only_what_the_policy_lets_it_read(make_server):
    srv = make_server()
    owner, root = cu.owner_uin(srv), sdk.cvm(srv)
    image = public_image(root)
    ids = call(root, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image, "InstanceCount": 3}).InstanceIdSet
    # another root account's instance: never visible to this owner's sub-users
    other = json.loads(srv.cli("accounts", "create", "--name", "other", "--json").stdout)
    theirs = sdk.cvm(srv, secret_id=other["SecretId"], secret_key=other["SecretKey"])
    foreign = call(theirs, "RunInstances", {"Placement": {"Zone": ZONE}, "ImageId": image}).InstanceIdSet[0]
    doc = cu.policy(cu.allow("cvm:DescribeInstances", [f"qcs::cvm::uin/{owner}:instance/{ids[0]}",
                                                       f"qcs::cvm::uin/{owner}:instance/{ids[1]}"]),
                    cu.allow("cvm:DescribeImages", f"qcs::cvm::uin/{owner}:image/{image}"),
                    cu.allow("cvm:DescribeInstances", f"qcs::cvm::uin/{other['Uin']}:instance/*"))
    _, sid, skey = cu.sub_user(srv, "reader", doc)
    me = sdk.cvm(srv, secret_id=sid, secret_key=skey)
    got = call(me, "DescribeInstances", {"Limit": 100})
    assert got.TotalCount == 2 and {i.InstanceId for i in got.InstanceSet} == set(ids[:2])
    assert call(me, "DescribeInstances", {"InstanceIds": [foreign]}).TotalCount == 0
    images = call(me, "DescribeImages", {"Limit": 100})
    assert [i.ImageId for i in images.ImageSet] == [image]
    with pytest.raises(TencentCloudSDKException) as err:
        call(me, "DescribeKeyPairs", {})
    assert err.value.code == "UnauthorizedOperation"


def test_sync_images_is_checked_on_the_source_image_and_each_destination_region(make_server):
    srv = make_server()
    owner = cu.owner_uin(srv)
    doc = cu.policy(cu.allow("cvm:SyncImages", [f"qcs::cvm:ap-guangzhou:uin/{owner}:image/img-aaaaaaaa",
                                                f"qcs::cvm:ap-shanghai:uin/{owner}:image/*"]))
    _, sid, skey = cu.sub_user(srv, "syncer", doc)
    me = sdk.common(srv, "cvm", secret_id=sid, secret_key=skey)
    body = {"ImageIds": ["img-aaaaaaaa"], "DestinationRegions": ["ap-shanghai"]}
    # allowed by CAM: the service itself then answers (no such image)
    assert _code(me, "SyncImages", body) not in ("UnauthorizedOperation", "ok")
    assert _code(me, "SyncImages", dict(body, DestinationRegions=["ap-shanghai", "ap-beijing"])) == "UnauthorizedOperation"
    assert cu.decisions(srv)[-1]["resource"] == f"qcs::cvm:ap-beijing:uin/{owner}:image/*"
    assert _code(me, "SyncImages", dict(body, ImageIds=["img-bbbbbbbb"])) == "UnauthorizedOperation"
