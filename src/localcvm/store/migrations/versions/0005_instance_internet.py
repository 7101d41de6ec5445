"""instances: InternetAccessible as columns instead of a JSON copy of the request's dict

Revision ID: 0005_instance_internet
Revises: 0004_sharing_sync
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0005_instance_internet"
down_revision = "0004_sharing_sync"
branch_labels = None
depends_on = None

instances = sa.table(
    "instances",
    sa.column("instance_id", sa.String),
    sa.column("internet", sa.Text),
    sa.column("internet_charge_type", sa.String),
    sa.column("internet_max_bandwidth_out", sa.Integer),
    sa.column("bandwidth_package_id", sa.String),
    sa.column("public_ip", sa.String),
)


def _parse(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("internet_charge_type", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("internet_max_bandwidth_out", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("bandwidth_package_id", sa.String(32), nullable=False, server_default=""))
    conn = op.get_bind()
    for instance_id, text in conn.execute(sa.select(instances.c.instance_id, instances.c.internet)).all():
        wire = _parse(text)
        bandwidth = wire.get("InternetMaxBandwidthOut")
        conn.execute(instances.update().where(instances.c.instance_id == instance_id).values(
            internet_charge_type=str(wire.get("InternetChargeType") or ""),
            internet_max_bandwidth_out=int(bandwidth) if isinstance(bandwidth, int) else 0,
            bandwidth_package_id=str(wire.get("BandwidthPackageId") or ""),
        ))
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("internet")


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("internet", sa.Text, nullable=False, server_default="{}"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(instances.c.instance_id, instances.c.internet_charge_type,
                                  instances.c.internet_max_bandwidth_out, instances.c.bandwidth_package_id,
                                  instances.c.public_ip)).all()
    for instance_id, charge, bandwidth, package, public_ip in rows:
        wire = {"InternetChargeType": charge, "InternetMaxBandwidthOut": bandwidth,
                "PublicIpAssigned": bool(public_ip), "BandwidthPackageId": package}
        conn.execute(instances.update().where(instances.c.instance_id == instance_id).values(
            internet=json.dumps({k: v for k, v in wire.items() if v})))
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("bandwidth_package_id")
        batch.drop_column("internet_max_bandwidth_out")
        batch.drop_column("internet_charge_type")
