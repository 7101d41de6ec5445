"""snapshot states up to 32 characters; launch templates and their versions; snapshot retention terms; disk projects; auto-snapshot policies; snapshot copies and shares

Revision ID: 0010_core
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_core"
down_revision = "0008_vpc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:  # COPYING_FROM_REMOTE is 19 characters
        batch.alter_column("state", type_=sa.String(32), existing_type=sa.String(16), existing_nullable=False)
    op.create_table(
        "launch_templates",
        sa.Column("template_id", sa.String(16), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("default_version", sa.Integer, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "launch_template_versions",
        sa.Column("template_id", sa.String(16), sa.ForeignKey("launch_templates.template_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("description", sa.String(256), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "snapshot_terms",
        sa.Column("snapshot_id", sa.String(16), sa.ForeignKey("snapshots.snapshot_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("permanent", sa.Boolean, nullable=False),
        sa.Column("deadline", sa.DateTime, nullable=True),
        sa.Column("policy_id", sa.String(16), nullable=False, index=True),
        sa.Column("copy_source", sa.String(16), nullable=False, index=True),
        sa.Column("copy_source_region", sa.String(32), nullable=False),
    )
    op.create_table(
        "disk_terms",
        sa.Column("disk_id", sa.String(16), sa.ForeignKey("disks.disk_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("project_id", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "auto_snapshot_policies",
        sa.Column("policy_id", sa.String(16), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("activated", sa.Boolean, nullable=False),
        sa.Column("permanent", sa.Boolean, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_slot", sa.DateTime, nullable=False),
    )
    op.create_table(
        "auto_snapshot_bindings",
        sa.Column("policy_id", sa.String(16), sa.ForeignKey("auto_snapshot_policies.policy_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("disk_id", sa.String(16), sa.ForeignKey("disks.disk_id", ondelete="CASCADE"), primary_key=True,
                  index=True),
        sa.Column("bound_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "snapshot_shares",
        sa.Column("snapshot_id", sa.String(16), sa.ForeignKey("snapshots.snapshot_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("account_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True,
                  index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snapshot_shares")
    op.drop_table("auto_snapshot_bindings")
    op.drop_table("auto_snapshot_policies")
    op.drop_table("disk_terms")
    op.drop_table("snapshot_terms")
    op.drop_table("launch_template_versions")
    op.drop_table("launch_templates")
    with op.batch_alter_table("snapshots") as batch:
        batch.alter_column("state", type_=sa.String(16), existing_type=sa.String(32), existing_nullable=False)
