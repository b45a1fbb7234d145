"""Family accounts: one Matrix account per parent's or student's phone.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_accounts",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("displayname", sa.String(length=255), nullable=True),
        sa.Column("deactivated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_family_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_family_accounts_user_id")),
    )


def downgrade() -> None:
    op.drop_table("family_accounts")
