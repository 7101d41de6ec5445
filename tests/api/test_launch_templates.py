"""Issue 24: launch templates and RunInstances with LaunchTemplate, over the official SDK."""

from __future__ import annotations

import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from .images_util import new_account
from .instances_util import call, instance, public_image, wait_state


def _code(fn) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return err.value.code


def _template(c, name="web", **extra) -> str:
    body = {"LaunchTemplateName": name, "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c),
            "InstanceType": "S5.MEDIUM4", "InstanceName": "v1", "LaunchTemplateVersionDescription": "first", **extra}
    return call(c, "CreateLaunchTemplate", body).LaunchTemplateId


def test_template_versions_drive_run_instances(server):
    _, client_for = new_account(server, f"lt-{uuid.uuid4().hex[:8]}")
    c = client_for()
    lt = _template(c, SystemDisk={"DiskType": "CLOUD_PREMIUM", "DiskSize": 60},
                   LoginSettings={"Password": "Passw0rd-Secret"})
    assert lt.startswith("lt-")
    v2 = call(c, "CreateLaunchTemplateVersion", {"LaunchTemplateId": lt, "Placement": {"Zone": "ap-guangzhou-3"},
                                                 "InstanceType": "S5.LARGE8", "InstanceName": "v2",
                                                 "LaunchTemplateVersionDescription": "bigger"})
    assert v2.LaunchTemplateVersionNumber == 2
    got = call(c, "DescribeLaunchTemplates", {"LaunchTemplateIds": [lt]})
    info = got.LaunchTemplateSet[0]
    assert (got.TotalCount, info.LaunchTemplateName, info.DefaultVersionNumber, info.LatestVersionNumber,
            info.LaunchTemplateVersionCount) == (1, "web", 1, 2, 2)
    versions = call(c, "DescribeLaunchTemplateVersions", {"LaunchTemplateId": lt}).LaunchTemplateVersionSet
    by_number = {v.LaunchTemplateVersion: v for v in versions}
    assert by_number[1].IsDefaultVersion and not by_number[2].IsDefaultVersion
    # version 2 took what it did not give from version 1 (the image, the system disk)
    data2 = by_number[2].LaunchTemplateVersionData
    assert (data2.InstanceType, data2.ImageId, data2.SystemDisk.DiskSize) == ("S5.LARGE8", public_image(c), 60)
    assert by_number[1].LaunchTemplateVersionData.LoginSettings.Password is None  # never shown

    # the default version's settings
    first = call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}}).InstanceIdSet
    # a request's own value wins over the template's
    override = call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}, "InstanceType": "S5.SMALL2",
                                        "InstanceName": "own"}).InstanceIdSet
    # a given version
    pinned = call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt, "LaunchTemplateVersion": 2}}).InstanceIdSet
    call(c, "ModifyLaunchTemplateDefaultVersion", {"LaunchTemplateId": lt, "DefaultVersion": 2})
    after = call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}}).InstanceIdSet
    wait_state(c, first + override + pinned + after, "RUNNING")
    seen = {i: instance(c, i) for i in first + override + pinned + after}
    assert (seen[first[0]].InstanceType, seen[first[0]].InstanceName, seen[first[0]].SystemDisk.DiskSize) == \
        ("S5.MEDIUM4", "v1", 60)
    assert (seen[override[0]].InstanceType, seen[override[0]].InstanceName) == ("S5.SMALL2", "own")
    assert (seen[pinned[0]].InstanceType, seen[pinned[0]].InstanceName) == ("S5.LARGE8", "v2")
    assert (seen[after[0]].InstanceType, seen[after[0]].InstanceName, seen[after[0]].CPU) == ("S5.LARGE8", "v2", 4)

    assert _code(lambda: call(c, "ModifyLaunchTemplateDefaultVersion", {"LaunchTemplateId": lt, "DefaultVersion": 2})) \
        == "InvalidParameterValue.LaunchTemplateIdVerSetAlready"
    assert _code(lambda: call(c, "DeleteLaunchTemplateVersions", {"LaunchTemplateId": lt, "LaunchTemplateVersions": [2]})) \
        == "InvalidParameterValue.LaunchTemplateDefaultVersion"
    call(c, "DeleteLaunchTemplateVersions", {"LaunchTemplateId": lt, "LaunchTemplateVersions": [1]})
    assert [v.LaunchTemplateVersion for v in call(c, "DescribeLaunchTemplateVersions", {
        "LaunchTemplateId": lt}).LaunchTemplateVersionSet] == [2]
    assert _code(lambda: call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt, "LaunchTemplateVersion": 1}})) \
        == "InvalidParameterValue"  # RunInstances documents no LaunchTemplateIdVerNotExisted: the family
    call(c, "DeleteLaunchTemplate", {"LaunchTemplateId": lt})
    assert call(c, "DescribeLaunchTemplates", {"LaunchTemplateIds": [lt]}).TotalCount == 0
    assert _code(lambda: call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}})) == \
        "InvalidParameterValue.LaunchTemplateNotFound"


def test_template_refusals(server):
    _, client_for = new_account(server, f"lt-{uuid.uuid4().hex[:8]}")
    c = client_for()
    image = public_image(c)
    # a template holds only what RunInstances accepts: its rules run on it
    assert _code(lambda: _template(c, InstanceType="S5.NOPE")) == "InvalidParameterValue"  # the documented family
    assert _code(lambda: _template(c, ImageId="img-zzzzzzzz")) == "InvalidImageId.NotFound"
    assert _code(lambda: _template(c, name="x")) == "InvalidParameterValue.InvalidLaunchTemplateName"
    assert _code(lambda: _template(c, LaunchTemplateVersionDescription="d" * 257)) == \
        "InvalidParameterValue.InvalidLaunchTemplateVersionDescription"
    lt = _template(c)
    # the merged request meets RunInstances' own rules
    assert _code(lambda: call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}, "InstanceCount": 501})) \
        == "InvalidParameterValue.Range"
    assert _code(lambda: call(c, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": "lt-bad"}})) == \
        "InvalidParameterValue.LaunchTemplateIdMalformed"
    assert _code(lambda: call(c, "CreateLaunchTemplateVersion", {
        "LaunchTemplateId": lt, "Placement": {"Zone": "ap-guangzhou-3"}, "LaunchTemplateVersion": 7})) == \
        "InvalidParameterValue.LaunchTemplateIdVerNotExisted"
    assert _code(lambda: call(c, "DescribeLaunchTemplateVersions", {
        "LaunchTemplateId": lt, "LaunchTemplateVersions": [1], "MaxVersion": 3})) == "InvalidParameterCombination"
    # another account's template is not found
    _, other_for = new_account(server, f"lt-{uuid.uuid4().hex[:8]}")
    other = other_for()
    for attempt in (lambda: call(other, "RunInstances", {"LaunchTemplate": {"LaunchTemplateId": lt}}),
                    lambda: call(other, "DeleteLaunchTemplate", {"LaunchTemplateId": lt}),
                    lambda: call(other, "DescribeLaunchTemplateVersions", {"LaunchTemplateId": lt})):
        assert _code(attempt) == "InvalidParameterValue.LaunchTemplateNotFound"
    assert call(other, "DescribeLaunchTemplates", {}).TotalCount == 0
    # quotas: 30 versions per template, 30 templates per region
    for n in range(2, 31):
        call(c, "CreateLaunchTemplateVersion", {"LaunchTemplateId": lt, "Placement": {"Zone": "ap-guangzhou-3"},
                                                "InstanceName": f"n{n}"})
    assert _code(lambda: call(c, "CreateLaunchTemplateVersion", {
        "LaunchTemplateId": lt, "Placement": {"Zone": "ap-guangzhou-3"}})) == "LimitExceeded.LaunchTemplateVersionQuota"
    for n in range(29):
        call(c, "CreateLaunchTemplate", {"LaunchTemplateName": f"t{n:02}", "Placement": {"Zone": "ap-guangzhou-3"},
                                         "ImageId": image})
    assert _code(lambda: _template(c, name="one-too-many")) == "LimitExceeded.LaunchTemplateQuota"
    named = call(c, "DescribeLaunchTemplates", {"Filters": [{"Name": "LaunchTemplateName", "Values": ["t05"]}]})
    assert named.TotalCount == 1 and named.LaunchTemplateSet[0].LaunchTemplateName == "t05"
    assert call(c, "DescribeLaunchTemplates", {"Limit": 100}).TotalCount == 30
