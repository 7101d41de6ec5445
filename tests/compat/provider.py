"""What the Terraform provider's shared service code does, replayed with the official Python SDK.

Each helper names the provider function it replays (tencentcloudstack/terraform-provider-tencentcloud);
the tests in this directory call them in the order each resource's Create/Read/Update/Delete does.
The provider retries a read until its condition holds; ``wait_until`` stands in for ``resource.Retry``.
"""

from __future__ import annotations

import json
import time

from tencentcloud.cbs.v20170312 import cbs_client
from tencentcloud.cbs.v20170312 import models as cbs_models
from tencentcloud.tag.v20180813 import models as tag_models
from tencentcloud.tag.v20180813 import tag_client
from tencentcloud.vpc.v20170312 import models as vpc_models
from tencentcloud.vpc.v20170312 import vpc_client

from tests.api import sdk
from tests.api.instances_util import call

REGION = "ap-guangzhou"
# tencentcloud/services/tag/extension_tags.go: DESCRIBE_TAGS_LIMIT
DESCRIBE_TAGS_LIMIT = 20


def tag(server, region: str = REGION, **kw) -> tag_client.TagClient:
    """The provider's UseTagClient: a tag client in the provider's region."""
    return tag_client.TagClient(sdk.cred(server, kw.get("secret_id"), kw.get("secret_key")), region, sdk.profile(server))


def cbs(server, region: str = REGION) -> cbs_client.CbsClient:
    return cbs_client.CbsClient(sdk.cred(server), region, sdk.profile(server))


def vpc(server, region: str = REGION) -> vpc_client.VpcClient:
    return vpc_client.VpcClient(sdk.cred(server), region, sdk.profile(server))


def _send(client, models, action: str, body: dict):
    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


# --- tencentcloud/common/common.go ------------------------------------------------------------------
def resource_name(service: str, prefix: str, region: str, resource_id: str) -> str:
    """BuildTagResourceName: the account segment is left empty (``uin/``)."""
    return f"qcs::{service}:{region}:uin/:{prefix}/{resource_id}"


# --- tencentcloud/services/tag/service_tencentcloud_tag.go ------------------------------------------
def modify_tags(tc, name: str, replace: dict[str, str], delete: list[str]) -> None:
    """TagService.ModifyTags: ReplaceTags and DeleteTags only when non-empty."""
    body: dict = {"Resource": name}
    if replace:
        body["ReplaceTags"] = [{"TagKey": k, "TagValue": v} for k, v in replace.items()]
    if delete:
        body["DeleteTags"] = [{"TagKey": k} for k in delete]
    _send(tc, tag_models, "ModifyResourceTags", body)


def describe_resource_tags(tc, service: str, prefix: str, region: str, resource_id: str) -> dict[str, str]:
    """TagService.DescribeResourceTags: pages of DESCRIBE_TAGS_LIMIT until a short page; keeps the
    tags whose ResourceId is the one asked for."""
    tags: dict[str, str] = {}
    offset, count = 0, DESCRIBE_TAGS_LIMIT
    while count == DESCRIBE_TAGS_LIMIT:
        got = _send(tc, tag_models, "DescribeResourceTagsByResourceIds", {
            "ServiceType": service, "ResourcePrefix": prefix, "ResourceRegion": region,
            "ResourceIds": [resource_id], "Limit": DESCRIBE_TAGS_LIMIT, "Offset": offset}).Tags
        count = len(got)
        tags.update({t.TagKey: t.TagValue for t in got if t.ResourceId == resource_id})
        offset += count
    return tags


def diff_tags(old: dict[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """DiffTags."""
    return {k: v for k, v in new.items() if old.get(k) != v}, [k for k in old if k not in new]


# --- tencentcloud/services/cvm/service_tencentcloud_cvm.go ------------------------------------------
def describe_instance_by_id(c, instance_id: str):
    """CvmService.DescribeInstanceById: InstanceIds only; the first of the set, or None."""
    got = call(c, "DescribeInstances", {"InstanceIds": [instance_id]}).InstanceSet
    return got[0] if got else None


def describe_instances_by_filter(c, ids: list[str] | None, filters: dict[str, str]) -> list:
    """CvmService.DescribeInstanceByFilter: the IDs, or one single-value filter per name; pages of 100."""
    body: dict = {"InstanceIds": ids} if ids else {"Filters": [{"Name": k, "Values": [v]} for k, v in filters.items()]}
    out, offset = [], 0
    while True:
        got = call(c, "DescribeInstances", {**body, "Offset": offset, "Limit": 100}).InstanceSet
        out += got or []
        if len(got or []) < 100:
            return out
        offset += 100


def describe_key_pair_by_id(c, key_id: str):
    """CvmService.DescribeKeyPairById."""
    got = call(c, "DescribeKeyPairs", {"KeyIds": [key_id]}).KeyPairSet
    return got[0] if got else None


def describe_image_by_id(c, image_id: str, is_delete: bool, timeout: float = 180):
    """CvmService.DescribeImageById: retried while the set is empty (unless deleting) or the image is
    not NORMAL; CREATEFAILED is an error. The image "exists" (``has``) only with a non-empty SnapshotSet."""
    deadline = time.monotonic() + timeout
    while True:
        got = call(c, "DescribeImages", {"ImageIds": [image_id]}).ImageSet
        if got:
            assert got[0].ImageState != "CREATEFAILED", f"{image_id}: Create Image is failed"
        if (got or is_delete) and (not got or got[0].ImageState == "NORMAL"):
            break
        assert time.monotonic() < deadline, f"timed out waiting for {image_id} to be NORMAL"
        time.sleep(0.2)
    if got and got[0].SnapshotSet:
        return got[0], True
    return None, False


def describe_images_by_filter(c, filters: dict[str, list[str]], instance_type: str = "") -> list:
    """CvmService.DescribeImagesByFilter: pages of 100."""
    body: dict = {"Filters": [{"Name": k, "Values": v} for k, v in filters.items()]}
    if instance_type:
        body["InstanceType"] = instance_type
    out, offset = [], 0
    while True:
        got = call(c, "DescribeImages", {**body, "Offset": offset, "Limit": 100}).ImageSet
        out += got or []
        if len(got or []) < 100:
            return out
        offset += 100


def share_permission(c, image_id: str) -> list[str]:
    """CvmService.DescribeCvmImageSharePermissionByFilter: the AccountIds."""
    return [s.AccountId for s in call(c, "DescribeImageSharePermission", {"ImageId": image_id}).SharePermissionSet]


def modify_share(c, image_id: str, permission: str, accounts: list[str]) -> None:
    """CvmService.ModifyImageSharePermission."""
    call(c, "ModifyImageSharePermission", {"ImageId": image_id, "Permission": permission, "AccountIds": accounts})


# --- tencentcloud/services/cbs/service_tencentcloud_cbs.go ------------------------------------------
def describe_disk_list(cb, disk_ids: list[str]) -> list:
    """CbsService.DescribeDiskList: DiskIds, Limit 100."""
    return _send(cb, cbs_models, "DescribeDisks", {"DiskIds": disk_ids, "Limit": 100}).DiskSet or []


# --- tencentcloud/services/vpc/service_tencentcloud_vpc.go ------------------------------------------
def used_ip_addresses(vc, vpc_id: str, subnet_id: str, ips: list[str]) -> list:
    """VpcService.DescribeVpcUsedIpAddressByFilter: DescribeUsedIpAddress, pages of 20."""
    out, offset = [], 0
    while True:
        got = _send(vc, vpc_models, "DescribeUsedIpAddress", {"VpcId": vpc_id, "SubnetId": subnet_id,
                                                               "IpAddresses": ips, "Offset": offset, "Limit": 20})
        out += got.IpAddressStates or []
        if len(got.IpAddressStates or []) < 20:
            return out
        offset += 20
