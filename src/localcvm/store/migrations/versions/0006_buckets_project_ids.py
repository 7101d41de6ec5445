"""export buckets belong to one account; project IDs are 64-bit (the API's ProjectId is an Integer)

Revision ID: 0006_buckets_project_ids
Revises: 0005_instance_internet
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_buckets_project_ids"
down_revision = "0005_instance_internet"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cos_buckets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    for table in ("instances", "key_pairs"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("project_id", type_=sa.BigInteger, existing_type=sa.Integer)


def downgrade() -> None:
    for table in ("instances", "key_pairs"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("project_id", type_=sa.Integer, existing_type=sa.BigInteger)
    op.drop_table("cos_buckets")
