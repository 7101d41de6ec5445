"""accounts and API keys

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("app_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    )
    op.create_table(
        "api_keys",
        sa.Column("secret_id", sa.String(64), primary_key=True),
        sa.Column("secret_key", sa.String(128), nullable=False),
        sa.Column("uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("accounts")
