"""instances, disks, snapshots, key pairs, client tokens

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _owner():
    return sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False, index=True)


def _create_instances() -> None:
    op.create_table(
        "instances",
        sa.Column("instance_id", sa.String(16), primary_key=True),
        _owner(),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("instance_type", sa.String(32), nullable=False),
        sa.Column("cpu", sa.Integer, nullable=False),
        sa.Column("memory_gib", sa.Integer, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("hostname", sa.String(64), nullable=False, server_default=""),
        sa.Column("image_id", sa.String(16), nullable=False),
        sa.Column("os_name", sa.String(128), nullable=False, server_default=""),
        sa.Column("os_type", sa.String(16), nullable=False, server_default="Linux"),
        sa.Column("license_type", sa.String(16), nullable=False, server_default="TencentCloud"),
        sa.Column("charge_type", sa.String(32), nullable=False, server_default="POSTPAID_BY_HOUR"),
        sa.Column("renew_flag", sa.String(32), nullable=False, server_default=""),
        sa.Column("expired_at", sa.DateTime, nullable=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("latest_operation", sa.String(64), nullable=False, server_default=""),
        sa.Column("latest_operation_state", sa.String(16), nullable=False, server_default=""),
        sa.Column("latest_operation_request_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("latest_operation_error", sa.String(512), nullable=False, server_default=""),
        sa.Column("private_ip", sa.String(45), nullable=False, server_default=""),
        sa.Column("public_ip", sa.String(45), nullable=False, server_default=""),
        sa.Column("internet", sa.Text, nullable=False, server_default="{}"),
        sa.Column("security_group_ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("keep_image_login", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("password_set", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("user_data", sa.Text, nullable=False, server_default=""),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("disable_api_termination", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("stopped_mode", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_instances_owner_region", "instances", ["owner_uin", "region"])


def upgrade() -> None:
    _create_instances()
    op.create_table(
        "disks",
        sa.Column("disk_id", sa.String(16), primary_key=True),
        _owner(),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("usage", sa.String(16), nullable=False),
        sa.Column("disk_type", sa.String(32), nullable=False),
        sa.Column("size_gib", sa.Integer, nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("instance_id", sa.String(16), nullable=True, index=True),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delete_with_instance", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("charge_type", sa.String(32), nullable=False, server_default="POSTPAID_BY_HOUR"),
        sa.Column("base_kind", sa.String(16), nullable=False, server_default=""),
        sa.Column("base_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("base_index", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("snapshot_id", sa.String(16), primary_key=True),
        _owner(),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("zone", sa.String(32), nullable=False, server_default=""),
        sa.Column("disk_id", sa.String(16), nullable=False, server_default=""),
        sa.Column("usage", sa.String(16), nullable=False, server_default="DATA_DISK"),
        sa.Column("size_gib", sa.Integer, nullable=False, server_default="0"),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("manifest", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "key_pairs",
        sa.Column("key_id", sa.String(16), primary_key=True),
        _owner(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("description", sa.String(256), nullable=False, server_default=""),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "instance_key_pairs",
        sa.Column("instance_id", sa.String(16), primary_key=True),
        sa.Column("key_id", sa.String(16), primary_key=True, index=True),
    )
    op.create_table(
        "client_tokens",
        sa.Column("owner_uin", sa.String(20), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("action", sa.String(64), primary_key=True),
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("client_tokens", "instance_key_pairs", "key_pairs", "snapshots", "disks", "instances"):
        op.drop_table(table)
