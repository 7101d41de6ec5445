"""public IP addresses of instances, unique per data dir (from LOCALCVM_PUBLIC_IP_RANGE)

Revision ID: 0011_public_ips
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_public_ips"
down_revision = "0009_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_ips",
        sa.Column("ip", sa.String(45), primary_key=True),
        sa.Column("instance_id", sa.String(16), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("public_ips")
