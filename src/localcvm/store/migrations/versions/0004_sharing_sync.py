"""image shares, cross-border permission, sync bookkeeping

Revision ID: 0004_sharing_sync
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_sharing_sync"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_shares",
        sa.Column("image_id", sa.String(16), sa.ForeignKey("images.image_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("account_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True,
                  index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("cross_border", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("sync_source", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sync_source_region", sa.String(32), nullable=True))
        batch.create_index("ix_images_sync_source", ["sync_source"])


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_index("ix_images_sync_source")
        batch.drop_column("sync_source_region")
        batch.drop_column("sync_source")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("cross_border")
    op.drop_table("image_shares")
