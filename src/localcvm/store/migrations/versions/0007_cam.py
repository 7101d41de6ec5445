"""CAM: sub-users, their access keys, groups, custom policies with versions, attachments

Revision ID: 0007_cam
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_cam"
down_revision = "0006_buckets_project_ids"
branch_labels = None
depends_on = None


def _owner():
    return sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                     index=True)


def upgrade() -> None:
    # plain ALTER TABLE (SQLite can add and drop a column in place): a batch copy of `accounts` would
    # cascade-delete every row that points at it
    op.add_column("accounts", sa.Column("cam_generation", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "cam_users",
        sa.Column("uin", sa.String(20), primary_key=True),
        sa.Column("uid", sa.BigInteger, nullable=False, unique=True),
        _owner(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("remark", sa.String(256), nullable=False, server_default=""),
        sa.Column("console_login", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("password_hash", sa.String(256), nullable=False, server_default=""),
        sa.Column("need_reset_password", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("phone", sa.String(32), nullable=False, server_default=""),
        sa.Column("country_code", sa.String(8), nullable=False, server_default=""),
        sa.Column("email", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("owner_uin", "name", name="uq_cam_users_owner_name"),
    )
    op.create_table(
        "cam_access_keys",
        sa.Column("secret_id", sa.String(64), primary_key=True),
        sa.Column("secret_key", sa.String(128), nullable=False),
        sa.Column("user_uin", sa.String(20), sa.ForeignKey("cam_users.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("description", sa.String(256), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cam_groups",
        sa.Column("group_id", sa.BigInteger, primary_key=True, autoincrement=False),
        _owner(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("remark", sa.String(256), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("owner_uin", "name", name="uq_cam_groups_owner_name"),
    )
    op.create_table(
        "cam_group_members",
        sa.Column("group_id", sa.BigInteger, sa.ForeignKey("cam_groups.group_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_uin", sa.String(20), sa.ForeignKey("cam_users.uin", ondelete="CASCADE"), primary_key=True,
                  index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cam_policies",
        sa.Column("policy_id", sa.BigInteger, primary_key=True, autoincrement=False),
        _owner(),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(300), nullable=False, server_default=""),
        sa.Column("default_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("owner_uin", "name", name="uq_cam_policies_owner_name"),
    )
    op.create_table(
        "cam_policy_versions",
        sa.Column("policy_id", sa.BigInteger, sa.ForeignKey("cam_policies.policy_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cam_attachments",
        _owner(),
        sa.Column("policy_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("target", sa.String(20), primary_key=True, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("cam_attachments", "cam_policy_versions", "cam_policies", "cam_group_members", "cam_groups",
                  "cam_access_keys", "cam_users"):
        op.drop_table(table)
    op.drop_column("accounts", "cam_generation")
