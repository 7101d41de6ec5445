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


def _auth_code(srv, secret_id, secret_key) -> str:
    client = sdk.cvm(srv, secret_id=secret_id, secret_key=secret_key)
    try:
        client.DescribeZones(models.DescribeZonesRequest())
    except TencentCloudSDKException as err:
        return err.code
    return "ok"


def test_key_disable_enable_delete_apply_at_once_in_every_server(make_server):
    """A key changed with `localcvm accounts keys` is refused (or accepted) from the very next request,
    by this server and by a second server process on the same database (issue 16 item 10)."""
    from tests.helpers import Server

    srv = make_server()
    other = Server(data_dir=srv.data_dir, database_url=srv.database_url, extra_env={"LOCALCVM_WORKERS": "0"}).start()
    try:
        alice = json.loads(srv.cli("accounts", "create", "--name", "alice", "--json").stdout)
        sid, key = alice["SecretId"], alice["SecretKey"]
        for s in (srv, other):  # both servers have resolved the key once
            assert _auth_code(s, sid, key) == "ok"
        srv.cli("accounts", "keys", "disable", sid)
        for s in (srv, other):
            assert _auth_code(s, sid, key) == "AuthFailure.SecretIdNotFound"
        listed = {k["SecretId"]: k for k in json.loads(srv.cli("accounts", "keys", "list", "--json").stdout)}
        assert listed[sid]["Status"] == "Disabled" and listed[sid]["Uin"] == alice["Uin"]
        assert key not in json.dumps(listed)
        assert _auth_code(srv, srv.secret_id, srv.secret_key) == "ok"  # other keys unaffected

        srv.cli("accounts", "keys", "enable", sid)
        for s in (srv, other):
            assert _auth_code(s, sid, key) == "ok"

        second = json.loads(srv.cli("accounts", "keys", "create", "--uin", alice["Uin"], "--json").stdout)
        assert _auth_code(other, second["SecretId"], second["SecretKey"]) == "ok"
        srv.cli("accounts", "keys", "delete", sid)
        for s in (srv, other):
            assert _auth_code(s, sid, key) == "AuthFailure.SecretIdNotFound"
            assert _auth_code(s, second["SecretId"], second["SecretKey"]) == "ok"
        mine = json.loads(srv.cli("accounts", "keys", "list", "--uin", alice["Uin"], "--json").stdout)
        assert [k["SecretId"] for k in mine] == [second["SecretId"]]
    finally:
        other.stop()


def test_unknown_key_or_account_is_exit_code_2(make_server):
    srv = make_server()
    for command in ("disable", "enable", "delete"):
        done = srv.cli("accounts", "keys", command, "AKIDnosuchkey000000000000000000000000", check=False)
        assert done.returncode == 2, command
        assert "no API key with SecretId AKIDnosuchkey" in done.stderr
    done = srv.cli("accounts", "keys", "create", "--uin", "999", check=False)
    assert done.returncode == 2 and "no account with Uin 999" in done.stderr


def test_key_disabled_by_another_process_is_refused_at_once(make_server):
    """No per-process cache of keys: a change committed by any process is seen by the next request."""
    import sqlalchemy as sa

    srv = make_server()
    alice = json.loads(srv.cli("accounts", "create", "--name", "carol", "--json").stdout)
    assert _auth_code(srv, alice["SecretId"], alice["SecretKey"]) == "ok"
    url = srv.database_url or f"sqlite:///{srv.data_dir / 'localcvm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_keys SET active = :off WHERE secret_id = :sid"),
                     {"off": False, "sid": alice["SecretId"]})
    engine.dispose()
    assert _auth_code(srv, alice["SecretId"], alice["SecretKey"]) == "AuthFailure.SecretIdNotFound"


def test_listed_times_are_iso_and_cross_border_shows(make_server):
    """`accounts list` and `accounts keys list` print CVM's ISO times (YYYY-MM-DDThh:mm:ssZ) and the
    cross-border permission as it is set."""
    import re

    srv = make_server()
    dave = json.loads(srv.cli("accounts", "create", "--name", "dave", "--json").stdout)
    srv.cli("accounts", "allow-cross-border", dave["Uin"])
    listed = {a["Name"]: a for a in json.loads(srv.cli("accounts", "list", "--json").stdout)}
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert listed["dave"]["CrossBorder"] is True and listed["root"]["CrossBorder"] is False
    assert all(iso.match(a["CreatedTime"]) for a in listed.values()), listed
    assert listed["dave"]["AppId"] == dave["AppId"] and listed["dave"]["SecretIds"] == [dave["SecretId"]]
    keys = json.loads(srv.cli("accounts", "keys", "list", "--json").stdout)
    assert keys and all(iso.match(k["CreatedTime"]) for k in keys), keys
    srv.cli("accounts", "allow-cross-border", dave["Uin"], "--revoke")
    listed = {a["Name"]: a for a in json.loads(srv.cli("accounts", "list", "--json").stdout)}
    assert listed["dave"]["CrossBorder"] is False
