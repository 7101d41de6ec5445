"""The tag product subset (tag 2018-08-13) over localcvm's tags; over the SDK."""

from __future__ import annotations

import json
import uuid

from tencentcloud.tag.v20180813 import models

from tests.compat import provider as tf

from .instances_util import call
from .sdk import cvm
from .share_util import code_of


def send(tc, action: str, body: dict):
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(tc, action)(req)


def key_pair(c) -> str:
    return call(c, "CreateKeyPair", {"KeyName": "tg_" + uuid.uuid4().hex[:10], "ProjectId": 0}).KeyPair.KeyId


def test_tag_untag_and_describe(server):
    c, tc = cvm(server), tf.tag(server)
    a, b = key_pair(c), key_pair(c)
    names = [tf.resource_name("cvm", "keypair", "ap-guangzhou", k) for k in (a, b)]
    got = send(tc, "TagResources", {"ResourceList": names, "Tags": [{"TagKey": "k1", "TagValue": "v1"},
                                                                    {"TagKey": "k2", "TagValue": "v2"}]})
    assert got.FailedResources == []
    send(tc, "UnTagResources", {"ResourceList": [names[1]], "TagKeys": ["k1"]})
    page = send(tc, "DescribeResourceTagsByResourceIds", {"ServiceType": "cvm", "ResourcePrefix": "keypair",
                                                         "ResourceRegion": "ap-guangzhou", "ResourceIds": [a, b]})
    assert page.TotalCount == 3 and page.Offset == 0 and page.Limit == 15
    assert sorted((t.ResourceId, t.TagKey, t.TagValue, t.ServiceType) for t in page.Tags) == sorted(
        [(a, "k1", "v1", "cvm"), (a, "k2", "v2", "cvm"), (b, "k2", "v2", "cvm")])
    one = send(tc, "DescribeResourceTagsByResourceIds", {"ServiceType": "cvm", "ResourcePrefix": "keypair",
                                                        "ResourceRegion": "ap-guangzhou", "ResourceIds": [a, b],
                                                        "Limit": 1, "Offset": 2})
    assert one.TotalCount == 3 and len(one.Tags) == 1
    rows = send(tc, "DescribeResourceTags", {"ResourceId": b}).Rows
    assert [(r.TagKey, r.TagValue) for r in rows] == [("k2", "v2")]
    # the tags are the resource's own: DescribeKeyPairs shows them
    kp = call(c, "DescribeKeyPairs", {"KeyIds": [a]}).KeyPairSet[0]
    assert {t.Key: t.Value for t in kp.Tags} == {"k1": "v1", "k2": "v2"}
    call(c, "DeleteKeyPairs", {"KeyIds": [a, b]})


def test_refusals_change_nothing(server):
    c, tc = cvm(server), tf.tag(server)
    k = key_pair(c)
    name = tf.resource_name("cvm", "keypair", "ap-guangzhou", k)
    tf.modify_tags(tc, name, {"keep": "1"}, [])
    assert code_of(lambda: send(tc, "ModifyResourceTags", {"Resource": name})) == \
        "InvalidParameterValue.DeleteTagsParamError"
    assert code_of(lambda: tf.modify_tags(tc, name, {"a": "1"}, ["a"])) == "InvalidParameterValue.DeleteTagsParamError"
    assert code_of(lambda: tf.modify_tags(tc, name, {f"k{i}": "v" for i in range(11)}, [])) == \
        "LimitExceeded"  # ModifyResourceTags documents no LimitExceeded.TagNumPerRequest
    assert code_of(lambda: tf.modify_tags(tc, "qcs::cvm:ap-guangzhou:keypair/" + k, {"a": "1"}, [])) == \
        "InvalidParameterValue.ResourceDescriptionError"
    assert code_of(lambda: tf.modify_tags(tc, tf.resource_name("cvm", "instance", "ap-guangzhou", "ins-00000000"),
                                          {"a": "1"}, [])) == "ResourceNotFound"  # ModifyResourceTags: no ResourceIdInvalid
    # one unknown resource in a batch: nothing is tagged
    missing = tf.resource_name("cvm", "keypair", "ap-guangzhou", "skey-00000000")
    assert code_of(lambda: send(tc, "TagResources", {"ResourceList": [name, missing],
                                                     "Tags": [{"TagKey": "b", "TagValue": "2"}]})) == \
        "ResourceNotFound"  # TagResources documents no ResourceIdInvalid
    assert tf.describe_resource_tags(tc, "cvm", "keypair", "ap-guangzhou", k) == {"keep": "1"}
    assert code_of(lambda: send(tc, "DescribeResourceTagsByResourceIds", {
        "ServiceType": "cvm", "ResourcePrefix": "volume", "ResourceRegion": "ap-guangzhou", "ResourceIds": [k]})) == \
        "InvalidParameterValue.ResourcePrefixInvalid"
    call(c, "DeleteKeyPairs", {"KeyIds": [k]})
