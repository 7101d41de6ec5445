"""images, image disks, tags, jobs, locks

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("image_id", sa.String(16), primary_key=True),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=True, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(512), nullable=False, server_default=""),
        sa.Column("os_name", sa.String(128), nullable=False, server_default=""),
        sa.Column("platform", sa.String(64), nullable=False, server_default=""),
        sa.Column("os_type", sa.String(16), nullable=False, server_default="Linux"),
        sa.Column("architecture", sa.String(16), nullable=False, server_default="x86_64"),
        sa.Column("size_gib", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sync_percent", sa.Integer, nullable=True),
        sa.Column("cloudinit", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("license_type", sa.String(16), nullable=False, server_default="TencentCloud"),
        sa.Column("boot_mode", sa.String(16), nullable=False, server_default="Legacy BIOS"),
        sa.Column("family", sa.String(64), nullable=False, server_default=""),
        sa.Column("deprecated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("creator", sa.String(32), nullable=False, server_default=""),
        sa.Column("price_hourly", sa.Float, nullable=False, server_default="0"),
        sa.Column("provider", sa.String(64), nullable=False, server_default=""),
        sa.Column("error", sa.String(1024), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_images_owner_region", "images", ["owner_uin", "region"])
    op.create_table(
        "image_disks",
        sa.Column("image_id", sa.String(16), sa.ForeignKey("images.image_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("index", sa.Integer, primary_key=True),
        sa.Column("snapshot_id", sa.String(16), nullable=False),
        sa.Column("virtual_size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("manifest", sa.Text, nullable=True),
    )
    op.create_table(
        "tags",
        sa.Column("resource_id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False, server_default=""),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("resource_id", sa.String(32), nullable=False, index=True),
        sa.Column("owner_uin", sa.String(20), nullable=True),
        sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("checkpoint", sa.Text, nullable=False, server_default="{}"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires", sa.Float, nullable=False, server_default="0"),
        sa.Column("error", sa.String(1024), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table("locks", sa.Column("name", sa.String(128), primary_key=True))


def downgrade() -> None:
    for table in ("locks", "jobs", "tags", "image_disks", "images"):
        op.drop_table(table)
