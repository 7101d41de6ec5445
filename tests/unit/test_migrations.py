"""Migration 0005: an instance's InternetAccessible moves from a JSON copy of the request into
columns (upgrade parses existing rows; downgrade rebuilds the JSON)."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from localcvm.store.db import MIGRATIONS_DIR, Database

ROW = {
    "instance_id": "ins-old00001", "owner_uin": "100000000001", "region": "ap-guangzhou", "zone": "ap-guangzhou-3",
    "project_id": 0, "instance_type": "S5.SMALL1", "cpu": 1, "memory_gib": 1, "name": "old", "image_id": "img-1",
    "state": "RUNNING", "uuid": "u", "created_at": datetime(2025, 1, 1),
}


def _alembic(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _instances(db: Database) -> list[dict]:
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM instances ORDER BY instance_id")).mappings()]


def test_internet_json_becomes_columns_and_back(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _alembic(db, "0004_sharing_sync")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO accounts (uin, app_id, name) VALUES ('100000000001', 1300000001, 'a')"))
            rows = [
                dict(ROW, internet=json.dumps({"InternetChargeType": "BANDWIDTH_PACKAGE", "InternetMaxBandwidthOut": 5,
                                               "PublicIpAssigned": True, "BandwidthPackageId": "bwp-1234abcd"}),
                     public_ip="203.0.113.5"),
                dict(ROW, instance_id="ins-old00002", internet="{}"),
                dict(ROW, instance_id="ins-old00003", internet="not json"),
            ]
            for row in rows:
                columns, values = ", ".join(row), ", ".join(f":{k}" for k in row)
                conn.execute(sa.text(f"INSERT INTO instances ({columns}) VALUES ({values})"), row)

        _alembic(db, "head")
        got = _instances(db)
        assert "internet" not in got[0]
        assert [(r["internet_charge_type"], r["internet_max_bandwidth_out"], r["bandwidth_package_id"]) for r in got] == [
            ("BANDWIDTH_PACKAGE", 5, "bwp-1234abcd"), ("", 0, ""), ("", 0, "")]

        _alembic(db, "0004_sharing_sync", down=True)
        got = _instances(db)
        assert "internet_charge_type" not in got[0]
        assert json.loads(got[0]["internet"]) == {"InternetChargeType": "BANDWIDTH_PACKAGE", "InternetMaxBandwidthOut": 5,
                                                  "PublicIpAssigned": True, "BandwidthPackageId": "bwp-1234abcd"}
        assert json.loads(got[1]["internet"]) == {}
    finally:
        db.dispose()


def test_cam_migration_keeps_accounts_and_their_rows(tmp_path):
    """0007_cam adds CAM's tables and accounts.cam_generation in place, and drops them again, without
    touching the rows that point at accounts."""
    db = Database(f"sqlite:///{tmp_path / 'cam.db'}")
    try:
        _alembic(db, "0006_buckets_project_ids")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO accounts (uin, app_id, name) VALUES ('100000000001', 1300000001, 'a')"))
            row = dict(ROW, internet_charge_type="", internet_max_bandwidth_out=0, bandwidth_package_id="")
            conn.execute(sa.text(f"INSERT INTO instances ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)
        _alembic(db, "0007_cam")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT cam_generation FROM accounts")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM cam_users")).scalar() == 0
        _alembic(db, "0006_buckets_project_ids", down=True)
        assert [r["instance_id"] for r in _instances(db)] == ["ins-old00001"]
    finally:
        db.dispose()
