"""Acceptance 1: the official SDK lists regions and zones with each sign method."""

from __future__ import annotations

import pytest
from tencentcloud.cvm.v20170312 import models

from . import sdk

SIGN_METHODS = ["TC3-HMAC-SHA256", "HmacSHA1", "HmacSHA256"]


@pytest.mark.parametrize("sign_method", SIGN_METHODS)
def test_regions_and_zones_with_each_sign_method(server, sign_method):
    client = sdk.cvm(server, sign_method=sign_method)
    regions = client.DescribeRegions(models.DescribeRegionsRequest())
    ids = [r.Region for r in regions.RegionSet]
    assert regions.TotalCount == len(ids) >= 10
    for expected in ("ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-hongkong", "ap-singapore"):
        assert expected in ids
    assert all(r.RegionState == "AVAILABLE" for r in regions.RegionSet)
    assert regions.RequestId
    for region in ids:
        zones = sdk.cvm(server, region, sign_method=sign_method).DescribeZones(models.DescribeZonesRequest())
        assert zones.TotalCount == len(zones.ZoneSet) >= 1
        for z in zones.ZoneSet:
            assert z.Zone.startswith(region + "-"), (region, z.Zone)
            assert z.ZoneId.isdigit() and z.ZoneName and z.ZoneState == "AVAILABLE"


@pytest.mark.parametrize("sign_method", SIGN_METHODS)
def test_get_requests(server, sign_method):
    """HttpProfile(reqMethod="GET"): parameters in the signed query string."""
    client = sdk.cvm(server, "ap-shanghai", sign_method=sign_method, method="GET")
    zones = client.DescribeZones(models.DescribeZonesRequest())
    assert "ap-shanghai-2" in [z.Zone for z in zones.ZoneSet]


def test_guangzhou_zones_are_the_real_ones(server):
    zones = sdk.cvm(server, "ap-guangzhou").DescribeZones(models.DescribeZonesRequest())
    by_zone = {z.Zone: z for z in zones.ZoneSet}
    assert by_zone["ap-guangzhou-3"].ZoneId == "100003"
    assert by_zone["ap-guangzhou-3"].ZoneName == "广州三区"


def test_english_names_with_language_header(server):
    client = sdk.cvm(server, language="en-US")
    names = {r.Region: r.RegionName for r in client.DescribeRegions(models.DescribeRegionsRequest()).RegionSet}
    assert names["ap-guangzhou"] == "South China(Guangzhou)"
    zones = client.DescribeZones(models.DescribeZonesRequest()).ZoneSet
    assert any(z.ZoneName == "Guangzhou Zone 3" for z in zones)


def test_every_request_gets_a_fresh_request_id(server):
    client = sdk.cvm(server)
    ids = {client.DescribeZones(models.DescribeZonesRequest()).RequestId for _ in range(5)}
    assert len(ids) == 5


def test_intl_sdk_works_unchanged(server, intl_sdk):
    """tencentcloud-sdk-python-intl-en (English names by default) against the same endpoint."""
    script = f"""
import json
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models
out = {{}}
for sm in ("TC3-HMAC-SHA256", "HmacSHA256"):
    prof = ClientProfile(signMethod=sm, httpProfile=HttpProfile(endpoint="{server.endpoint}", protocol="http"))
    client = cvm_client.CvmClient(credential.Credential("{server.secret_id}", "{server.secret_key}"), "ap-singapore", prof)
    regions = client.DescribeRegions(models.DescribeRegionsRequest())
    zones = client.DescribeZones(models.DescribeZonesRequest())
    out[sm] = [regions.TotalCount, {{r.Region: r.RegionName for r in regions.RegionSet}}["ap-singapore"], [z.Zone for z in zones.ZoneSet]]
import tencentcloud
out["sdk"] = tencentcloud.__file__
print(json.dumps(out))
"""
    result = intl_sdk(script)
    assert result["sdk"].startswith(str(intl_sdk.path))
    for sm in ("TC3-HMAC-SHA256", "HmacSHA256"):
        total, name, zones = result[sm]
        assert total >= 10
        assert name == "Southeast Asia(Singapore)"
        assert "ap-singapore-1" in zones


def test_mainland_flag_is_configurable(tmp_path, make_server):
    """A custom regions file replaces the built-in catalogue."""
    import json

    regions = {"regions": [
        {"Region": "ap-guangzhou", "RegionName": "华南地区(广州)", "Mainland": True,
         "Zones": [{"Zone": "ap-guangzhou-3", "ZoneId": "100003", "ZoneName": "广州三区"}]},
        {"Region": "ap-hongkong", "RegionName": "港澳台地区(中国香港)", "Mainland": False,
         "Zones": [{"Zone": "ap-hongkong-2", "ZoneId": "300002", "ZoneName": "香港二区"}]},
    ]}
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(regions, ensure_ascii=False))
    srv = make_server(extra_env={"LOCALCVM_REGIONS_FILE": str(path)})
    got = sdk.cvm(srv).DescribeRegions(models.DescribeRegionsRequest())
    assert [r.Region for r in got.RegionSet] == ["ap-guangzhou", "ap-hongkong"]
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    with pytest.raises(TencentCloudSDKException) as err:
        sdk.cvm(srv, "ap-shanghai").DescribeZones(models.DescribeZonesRequest())
    assert err.value.code == "UnsupportedRegion"
