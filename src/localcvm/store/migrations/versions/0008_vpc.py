"""VPCs, subnets, private address allocations, security groups and their rules

Revision ID: 0008_vpc
Revises: 0006_buckets_project_ids
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_vpc"
down_revision = "0007_cam"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vpcs",
        sa.Column("vpc_id", sa.String(16), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("cidr", sa.String(43), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("enable_multicast", sa.Boolean, nullable=False),
        sa.Column("dns_servers", sa.Text, nullable=False),
        sa.Column("domain_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "subnets",
        sa.Column("subnet_id", sa.String(16), primary_key=True),
        sa.Column("vpc_id", sa.String(16), sa.ForeignKey("vpcs.vpc_id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("owner_uin", sa.String(20), nullable=False, index=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("cidr", sa.String(43), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("enable_broadcast", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ip_allocations",
        sa.Column("subnet_id", sa.String(16), sa.ForeignKey("subnets.subnet_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("ip", sa.String(45), primary_key=True),
        sa.Column("vpc_id", sa.String(16), nullable=False, index=True),
        sa.Column("owner_uin", sa.String(20), nullable=False),
        sa.Column("resource_type", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "security_groups",
        sa.Column("sg_id", sa.String(16), primary_key=True),
        sa.Column("owner_uin", sa.String(20), sa.ForeignKey("accounts.uin", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("region", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(256), nullable=False),
        sa.Column("project_id", sa.BigInteger, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "security_group_policies",
        sa.Column("sg_id", sa.String(16), sa.ForeignKey("security_groups.sg_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("port", sa.String(256), nullable=False),
        sa.Column("cidr", sa.String(43), nullable=False),
        sa.Column("ipv6_cidr", sa.String(64), nullable=False),
        sa.Column("ref_sg_id", sa.String(16), nullable=False, index=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("description", sa.String(256), nullable=False),
        sa.Column("modified_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("security_group_policies", "security_groups", "ip_allocations", "subnets", "vpcs"):
        op.drop_table(table)
