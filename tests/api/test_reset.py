"""Acceptance 6: POST /_localcvm/reset and `localcvm reset` drop every resource, keep the accounts,
in under a second with 1,000 resources; only the data dir's root account may ask."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import sqlalchemy as sa

from localcvm.client import Endpoint, reset

from . import sdk
from .create_image_util import launch
from .images_util import new_account, wait_image
from .instances_util import call, wait_state

ZONE = "ap-guangzhou-3"


def endpoint(srv) -> Endpoint:
    return Endpoint(srv.scheme, "127.0.0.1", srv.port)


def insert_key_pairs(srv, uin: str, count: int) -> None:
    """``count`` key pairs written straight into the database (the API would take minutes to make them)."""
    url = srv.database_url or f"sqlite:///{srv.data_dir / 'localcvm.db'}"
    engine = sa.create_engine(url)
    now = datetime.utcnow()
    rows = [{"key_id": f"skey-{uuid.uuid4().hex[:8]}", "owner_uin": uin, "name": f"bulk{i}", "project_id": 0,
             "description": "", "public_key": "ssh-ed25519 AAAA bulk", "fingerprint": "", "created_at": now}
            for i in range(count)]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO key_pairs (key_id, owner_uin, name, project_id, description, public_key, "
                             "fingerprint, created_at) VALUES (:key_id, :owner_uin, :name, :project_id, "
                             ":description, :public_key, :fingerprint, :created_at)"), rows)
    engine.dispose()


def rows_left(srv) -> dict:
    """Rows of every table but the accounts' (jobs, tags, buckets, client tokens, ... included)."""
    from localcvm.store.models import Base

    engine = sa.create_engine(srv.database_url or f"sqlite:///{srv.data_dir / 'localcvm.db'}")
    with engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for t in Base.metadata.sorted_tables if t.name not in ("accounts", "api_keys")}
    engine.dispose()
    return {name: n for name, n in counts.items() if n}


def everything(c) -> dict:
    own = {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}], "Limit": 100}
    return {
        "instances": call(c, "DescribeInstances", {"Limit": 100}).TotalCount,
        "key pairs": call(c, "DescribeKeyPairs", {"Limit": 100}).TotalCount,
        "images": call(c, "DescribeImages", own).TotalCount,
    }


def cbs_counts(srv, secret_id=None, secret_key=None) -> dict:
    cbs = sdk.common(srv, "cbs", secret_id=secret_id, secret_key=secret_key)
    return {"disks": cbs.call_json("DescribeDisks", {"Limit": 100})["Response"]["TotalCount"],
            "snapshots": cbs.call_json("DescribeSnapshots", {"Limit": 100})["Response"]["TotalCount"]}


def test_reset_drops_every_resource_and_keeps_the_accounts(make_server):
    srv = make_server()
    alice, client_for = new_account(srv, f"alice-{uuid.uuid4().hex[:6]}")
    c = client_for()
    [instance] = launch(c, data_disks=(10,), name="before-reset")
    call(c, "CreateKeyPair", {"KeyName": "k1", "ProjectId": 0})
    image = call(c, "CreateImage", {"InstanceId": instance, "ImageName": "captured"}).ImageId
    wait_image(c, image)
    disks = sdk.common(srv, "cbs", secret_id=alice["SecretId"], secret_key=alice["SecretKey"])
    disk = disks.call_json("CreateDisks", {"Placement": {"Zone": ZONE}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 20,
                                           "DiskChargeType": "POSTPAID_BY_HOUR"})["Response"]["DiskIdSet"][0]
    disks.call_json("CreateSnapshot", {"DiskId": disk})
    insert_key_pairs(srv, alice["Uin"], 1000)
    before = everything(c)
    assert before["instances"] == 1 and before["key pairs"] == 1001 and before["images"] == 1
    assert all(n > 0 for n in cbs_counts(srv, alice["SecretId"], alice["SecretKey"]).values())
    accounts = json.loads(srv.cli("accounts", "list", "--json").stdout)

    started = time.perf_counter()
    answer = reset(endpoint(srv), srv.secret_id, srv.secret_key)
    took = time.perf_counter() - started
    assert "Error" not in answer, answer
    assert took < 1.0, f"reset took {took:.2f} s"
    assert answer["DeletedResources"] >= 1005 and answer["DeletedAccounts"] == 0

    assert everything(c) == {"instances": 0, "key pairs": 0, "images": 0}
    assert cbs_counts(srv, alice["SecretId"], alice["SecretKey"]) == {"disks": 0, "snapshots": 0}
    assert json.loads(srv.cli("accounts", "list", "--json").stdout) == accounts
    assert rows_left(srv) == {}
    for name in ("disks", "bases", "blobs", "cos"):
        left = [p for p in (srv.data_dir / name).rglob("*") if p.is_file()] if (srv.data_dir / name).exists() else []
        assert left == [], (name, left[:5])
    assert not list(srv.data_dir.glob(".reset-*"))
    # and the server works on: a new instance from a public image runs
    [again] = launch(c, name="after-reset", wait=False)
    wait_state(c, [again], "RUNNING")


def test_reset_all_drops_the_other_accounts_and_the_cli_does_the_same(make_server):
    srv = make_server()
    bob, client_for = new_account(srv, f"bob-{uuid.uuid4().hex[:6]}")
    call(client_for(), "CreateKeyPair", {"KeyName": "kb", "ProjectId": 0})
    done = srv.cli("reset", "--json")
    assert json.loads(done.stdout)["DeletedResources"] >= 1
    assert [a["Name"] for a in json.loads(srv.cli("accounts", "list", "--json").stdout)] == ["root", bob["Name"]]
    done = srv.cli("reset", "--all", "--json")
    assert json.loads(done.stdout)["DeletedAccounts"] == 1
    assert [a["Name"] for a in json.loads(srv.cli("accounts", "list", "--json").stdout)] == ["root"]


def test_only_the_root_account_may_reset(make_server):
    import httpx

    srv = make_server()
    bob, client_for = new_account(srv, f"bob-{uuid.uuid4().hex[:6]}")
    call(client_for(), "CreateKeyPair", {"KeyName": "kept", "ProjectId": 0})
    refused = reset(endpoint(srv), bob["SecretId"], bob["SecretKey"])
    assert refused["Error"]["Code"] == "AuthFailure.UnauthorizedOperation"
    wrong = reset(endpoint(srv), srv.secret_id, "not-the-key-000000000000000000000")
    assert wrong["Error"]["Code"] == "AuthFailure.SignatureFailure"
    unsigned = httpx.post(srv.url + "/_localcvm/reset", json={}, timeout=10).json()["Response"]
    assert unsigned["Error"]["Code"].startswith("AuthFailure")
    assert everything(client_for())["key pairs"] == 1


def test_cli_reset_without_a_running_server_works_on_the_data_dir(make_server):
    srv = make_server()
    _bob, client_for = new_account(srv, f"bob-{uuid.uuid4().hex[:6]}")
    call(client_for(), "CreateKeyPair", {"KeyName": "offline", "ProjectId": 0})
    srv.stop()
    done = srv.cli("reset", "--json")
    assert json.loads(done.stdout)["DeletedResources"] >= 1
    srv.start()
    assert everything(client_for())["key pairs"] == 0
