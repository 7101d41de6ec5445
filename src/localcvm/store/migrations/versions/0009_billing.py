"""billing: the usage meter's segments

Revision ID: 0009_billing
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_billing"
down_revision = "0012_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_uin", sa.String(20), nullable=False, index=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False, index=True),
        sa.Column("resource_name", sa.String(128), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=False),
        sa.Column("product", sa.String(16), nullable=False),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("pay_mode", sa.String(32), nullable=False),
        sa.Column("quantity", sa.String(40), nullable=False),
        sa.Column("unit_price", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True, index=True),
    )


def downgrade() -> None:
    op.drop_table("usage_segments")
