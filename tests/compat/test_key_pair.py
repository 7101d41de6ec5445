"""tencentcloud_key_pair: replays tencentcloud/services/cvm/resource_tc_key_pair.go (Create, Read,
Update, Delete, import by ID) and its service calls in service_tencentcloud_cvm.go and
services/tag/service_tencentcloud_tag.go."""

from __future__ import annotations

import uuid

from tests.api import sdk
from tests.api.create_image_util import launch
from tests.api.instances_util import call

from . import provider as tf

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvD1VqkKj0cR0pIzTjC1Q0m2n5Vw4t3GmQd3w5gk1xE "
              "someone@example")


def read(c, tc, key_id: str) -> dict | None:
    """resourceTencentCloudKeyPairRead: the state it sets (public_key cut to its first two fields)."""
    kp = tf.describe_key_pair_by_id(c, key_id)
    if kp is None:
        return None
    return {"key_name": kp.KeyName, "project_id": kp.ProjectId,
            "public_key": " ".join(kp.PublicKey.split(" ")[:2]) if kp.PublicKey else None,
            "created_time": kp.CreatedTime,
            "tags": tf.describe_resource_tags(tc, "cvm", "keypair", tf.REGION, key_id)}


def delete(c, key_id: str, force_stop: bool = False) -> None:
    """resourceTencentCloudKeyPairDelete: read, unbind the instances it is bound to, delete."""
    kp = tf.describe_key_pair_by_id(c, key_id)
    if kp is None:
        return
    if kp.AssociatedInstanceIds:
        call(c, "DisassociateInstancesKeyPairs", {"KeyIds": [key_id], "InstanceIds": kp.AssociatedInstanceIds,
                                                   "ForceStop": force_stop})
    call(c, "DeleteKeyPairs", {"KeyIds": [key_id]})


def name() -> str:
    return "tf_" + uuid.uuid4().hex[:10]


def test_create_read_update_import_delete(server):
    c, tc = sdk.cvm(server), tf.tag(server)
    key_name = name()
    # Create without public_key: CreateKeyPair (KeyName, ProjectId), then the tags through the tag API
    got = call(c, "CreateKeyPair", {"KeyName": key_name, "ProjectId": 0}).KeyPair
    key_id, private_key = got.KeyId, got.PrivateKey
    assert private_key
    tf.modify_tags(tc, tf.resource_name("cvm", "keypair", tf.REGION, key_id), {"env": "test", "team": "a"}, [])
    state = read(c, tc, key_id)
    assert state["key_name"] == key_name and state["project_id"] == 0
    assert state["tags"] == {"env": "test", "team": "a"}
    assert state["public_key"] and len(state["public_key"].split(" ")) == 2
    # a second read (plan/refresh) finds exactly what was written: no drift
    assert read(c, tc, key_id) == state
    # DescribeKeyPairs shows the same tags the tag API set
    assert {t.Key: t.Value for t in tf.describe_key_pair_by_id(c, key_id).Tags} == state["tags"]

    # Update: key_name (ModifyKeyPairAttribute) and tags (DiffTags -> ModifyResourceTags)
    new_name = name()
    call(c, "ModifyKeyPairAttribute", {"KeyId": key_id, "KeyName": new_name})
    replace, remove = tf.diff_tags(state["tags"], {"env": "prod", "owner": "b"})
    assert replace == {"env": "prod", "owner": "b"} and remove == ["team"]
    tf.modify_tags(tc, tf.resource_name("cvm", "keypair", tf.REGION, key_id), replace, remove)
    after = read(c, tc, key_id)
    assert after["key_name"] == new_name and after["tags"] == {"env": "prod", "owner": "b"}

    # import (ImportStatePassthrough): the ID alone reads back the whole state
    assert read(c, tc, key_id) == after

    delete(c, key_id)
    assert read(c, tc, key_id) is None  # the next read drops it from the state


def test_create_by_importing_a_public_key(server):
    c, tc = sdk.cvm(server), tf.tag(server)
    key_id = call(c, "ImportKeyPair", {"KeyName": name(), "ProjectId": 0, "PublicKey": PUBLIC_KEY}).KeyId
    state = read(c, tc, key_id)
    # the provider's StateFunc keeps "type base64": what it wrote is what it reads
    assert state["public_key"] == " ".join(PUBLIC_KEY.split(" ")[:2])
    assert state["tags"] == {}
    delete(c, key_id)
    assert read(c, tc, key_id) is None


def test_delete_unbinds_the_instances_first(server):
    c = sdk.cvm(server)
    key_id = call(c, "CreateKeyPair", {"KeyName": name(), "ProjectId": 0}).KeyPair.KeyId
    (instance_id,) = launch(c, name="tf-kp")
    call(c, "StopInstances", {"InstanceIds": [instance_id]})
    from tests.api.instances_util import wait_state

    wait_state(c, [instance_id], "STOPPED")
    call(c, "AssociateInstancesKeyPairs", {"InstanceIds": [instance_id], "KeyIds": [key_id]})
    assert tf.describe_key_pair_by_id(c, key_id).AssociatedInstanceIds == [instance_id]
    delete(c, key_id, force_stop=False)
    assert tf.describe_key_pair_by_id(c, key_id) is None
    call(c, "TerminateInstances", {"InstanceIds": [instance_id]})
