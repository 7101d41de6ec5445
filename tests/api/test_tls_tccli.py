"""Acceptance 1 (cont.): `localcvm tccli` runs the real tccli; the SDK works over --tls with the CA."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

from . import sdk


def _tccli(srv, *args):
    done = srv.cli("tccli", "--lc-endpoint", srv.endpoint, *args, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_tccli_describe_regions_and_zones(server):
    regions = _tccli(server, "cvm", "DescribeRegions")
    assert regions["TotalCount"] >= 10
    assert "ap-guangzhou" in [r["Region"] for r in regions["RegionSet"]]
    zones = _tccli(server, "cvm", "DescribeZones", "--region", "ap-shanghai")
    assert {z["Zone"] for z in zones["ZoneSet"]} >= {"ap-shanghai-2", "ap-shanghai-8"}


def test_tccli_reports_api_errors(server):
    done = server.cli("tccli", "--lc-endpoint", server.endpoint, "cvm", "DescribeZones", "--region", "ap-atlantis", check=False)
    assert done.returncode != 0
    assert "UnsupportedRegion" in done.stdout + done.stderr


def test_sdk_and_tccli_over_tls(make_server):
    srv = make_server(tls=True)
    assert srv.ca_file.exists()
    client = sdk.cvm(srv)  # HttpProfile(protocol="https", certification=ca.pem)
    assert client.DescribeRegions(models.DescribeRegionsRequest()).TotalCount >= 10
    assert client.DescribeZones(models.DescribeZonesRequest()).TotalCount >= 1
    # The certificate really is checked: without the CA the handshake fails.
    with pytest.raises(httpx.ConnectError) as err:
        httpx.get(srv.url + "/_localcvm/health", timeout=10)
    assert isinstance(err.value.__context__, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(err.value)
    with pytest.raises(TencentCloudSDKException):
        # plain http against the TLS port is not served
        sdk.cvm(type(srv)(data_dir=srv.data_dir, port=srv.port)).DescribeZones(models.DescribeZonesRequest())
    done = srv.cli("tccli", "--lc-endpoint", srv.endpoint, "--lc-tls", "cvm", "DescribeRegions", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["TotalCount"] >= 10
