"""Acceptance 6 (cont.): the pytest plugin `localcvm.testing`, run by pytest in a subprocess as a
user's suite would load it (`-p localcvm.testing`; installed, the `pytest11` entry point loads it),
and the same server as a context manager."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tencentcloud.cvm.v20170312 import models

from localcvm.testing import LocalCVM, wait_instance_state

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import json

from tencentcloud.cvm.v20170312 import models


def call(client, action, body):
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(body))
    return getattr(client, action)(req)


def test_regions(cvm_client):
    assert cvm_client.DescribeRegions(models.DescribeRegionsRequest()).TotalCount >= 10


def test_leaves_a_key_pair(localcvm, cvm_client):
    call(cvm_client, "CreateKeyPair", {"KeyName": "left", "ProjectId": 0})
    assert call(cvm_client, "DescribeKeyPairs", {}).TotalCount == 1


def test_starts_from_a_clean_slate(localcvm, cvm_client):
    assert call(cvm_client, "DescribeKeyPairs", {}).TotalCount == 0


def test_clients_per_region_and_product(localcvm_client):
    zones = call(localcvm_client("cvm", "ap-shanghai"), "DescribeZones", {}).ZoneSet
    assert all(z.Zone.startswith("ap-shanghai") for z in zones)
    assert localcvm_client("cbs", "ap-beijing").call_json("DescribeDisks", {})["Response"]["TotalCount"] == 0


def test_second_account(second_account, cvm_client):
    theirs = second_account.client("cvm")
    call(theirs, "CreateKeyPair", {"KeyName": "theirs", "ProjectId": 0})
    assert call(theirs, "DescribeKeyPairs", {}).TotalCount == 1
    assert call(cvm_client, "DescribeKeyPairs", {}).TotalCount == 0
    assert second_account.uin != "" and second_account.secret_id.startswith("AKID")


def test_wait_for_a_state(cvm_client, wait_for_state):
    image = next(i.ImageId for i in call(cvm_client, "DescribeImages", {"Limit": 100}).ImageSet
                 if i.ImageType == "PUBLIC_IMAGE")
    [instance] = call(cvm_client, "RunInstances", {"ImageId": image, "InstanceType": "S5.MEDIUM4",
                                                   "Placement": {"Zone": "ap-guangzhou-3"}}).InstanceIdSet
    assert wait_for_state.instance(cvm_client, instance, "RUNNING").InstanceId == instance


def test_a_server_of_its_own(localcvm_server, localcvm_session):
    assert localcvm_server.endpoint != localcvm_session.endpoint
    assert localcvm_server.client().DescribeRegions(models.DescribeRegionsRequest()).TotalCount >= 10
'''


def _entry_point_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "localcvm.testing" for ep in entry_points(group="pytest11"))


def test_the_plugin_in_a_users_suite(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    # installed (as scripts/test installs it), the pytest11 entry point loads the plugin by itself,
    # as in a user's suite; from a source tree only, name it
    load = [] if _entry_point_installed() else ["-p", "localcvm.testing"]
    result = pytester.runpytest_subprocess(*load, "-p", "no:cacheprovider", "-q", timeout=300)
    result.assert_outcomes(passed=7)
    leftovers = [p.name for p in Path(pytester.path).rglob("localcvm-test-*")]
    assert leftovers == []


def test_the_context_manager_removes_its_data_dir():
    with LocalCVM() as cloud:
        data_dir = Path(cloud.data_dir)
        assert (data_dir / "server.json").exists()
        cvm = cloud.client("cvm", "ap-guangzhou")
        image = next(i.ImageId for i in cvm.DescribeImages(models.DescribeImagesRequest()).ImageSet
                     if i.ImageType == "PUBLIC_IMAGE")
        req = models.RunInstancesRequest()
        req.from_json_string('{"ImageId": "%s", "InstanceType": "S5.MEDIUM4", '
                             '"Placement": {"Zone": "ap-guangzhou-3"}}' % image)
        [instance] = cvm.RunInstances(req).InstanceIdSet
        wait_instance_state(cvm, instance, "RUNNING")
        assert cloud.reset()["DeletedResources"] >= 1
        assert cvm.DescribeInstances(models.DescribeInstancesRequest()).TotalCount == 0
        other = cloud.create_account()
        assert other.client().DescribeInstances(models.DescribeInstancesRequest()).TotalCount == 0
    assert not data_dir.exists()


def test_the_entry_point_names_the_plugin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"localcvm": "localcvm.testing"}
    assert project["scripts"]["localcvm"] == "localcvm.cli:main"
