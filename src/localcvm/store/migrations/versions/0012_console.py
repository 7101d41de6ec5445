"""web console: console passwords (scrypt) and server-side sessions

Revision ID: 0012_console
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_console"
down_revision = "0010_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_passwords",
        sa.Column("uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), primary_key=True),
        sa.Column("salt", sa.LargeBinary(32), nullable=False),
        sa.Column("digest", sa.LargeBinary(64), nullable=False),
        sa.Column("cost_n", sa.Integer, nullable=False),
        sa.Column("cost_r", sa.Integer, nullable=False),
        sa.Column("cost_p", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("user_name", sa.String(64), nullable=False, server_default=""),
        sa.Column("secret_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("source_ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_passwords")
