"""Acceptance 4: accounts created with the CLI call the API; accounts persist across restarts."""

from __future__ import annotations

import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

from . import sdk


def test_second_account_uses_its_own_keys_and_survives_restart(make_server):
    srv = make_server()
    created = json.loads(srv.cli("accounts", "create", "--name", "alice", "--json").stdout)
    assert created["Uin"].isdigit() and created["SecretId"].startswith("AKID") and len(created["SecretKey"]) >= 32
    alice = sdk.cvm(srv, secret_id=created["SecretId"], secret_key=created["SecretKey"])
    assert alice.DescribeZones(models.DescribeZonesRequest()).TotalCount > 0
    # alice's id with someone else's key fails
    wrong = sdk.cvm(srv, secret_id=created["SecretId"], secret_key=srv.secret_key)
    with pytest.raises(TencentCloudSDKException) as err:
        wrong.DescribeZones(models.DescribeZonesRequest())
    assert err.value.code == "AuthFailure.SignatureFailure"

    srv.restart()
    assert alice.DescribeZones(models.DescribeZonesRequest()).TotalCount > 0
    assert sdk.cvm(srv).DescribeRegions(models.DescribeRegionsRequest()).TotalCount > 0
    listed = json.loads(srv.cli("accounts", "list", "--json").stdout)
    names = {a["Name"]: a for a in listed}
    assert set(names) == {"root", "alice"}
    assert names["alice"]["Uin"] == created["Uin"]
    assert created["SecretId"] in names["alice"]["SecretIds"]
    assert srv.secret_key not in json.dumps(listed) and created["SecretKey"] not in json.dumps(listed)


def test_duplicate_account_name_is_refused(make_server):
    srv = make_server()
    srv.cli("accounts", "create", "--name", "bob")
    again = srv.cli("accounts", "create", "--name", "bob", check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    listed = json.loads(srv.cli("accounts", "list", "--json").stdout)
    assert [a["Name"] for a in listed].count("bob") == 1


def test_generated_root_keys_are_printed_once(tmp_path):
    """Without LOCALCVM_SECRET_ID/KEY a new data dir gets generated root keys, printed on first start only."""
    from tests.helpers import Server

    srv = Server(data_dir=tmp_path / "gen")

    def env():
        e = Server.env(srv)
        e.pop("LOCALCVM_SECRET_ID"), e.pop("LOCALCVM_SECRET_KEY")
        return e

    srv.env = env  # instance override: no preset keys
    srv.start()
    try:
        first = srv.log()
        assert "SecretKey:" in first
        secret_id = first.split("SecretId:")[1].split()[0]
        secret_key = first.split("SecretKey:")[1].split()[0]
        srv.secret_id, srv.secret_key = secret_id, secret_key
        assert sdk.cvm(srv).DescribeZones(models.DescribeZonesRequest()).TotalCount > 0
        size = len(srv.log())
        srv.restart()
        assert "SecretKey:" not in srv.log()[size:]
        assert sdk.cvm(srv).DescribeZones(models.DescribeZonesRequest()).TotalCount > 0
    finally:
        srv.stop()
