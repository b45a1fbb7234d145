"""Account activity: who has logged in and when each account was last seen (from Synapse).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_activity",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("first_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_activity")),
    )
    with op.batch_alter_table("account_activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_activity_last_seen_at"), ["last_seen_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_activity_last_seen_at"))
    op.drop_table("account_activity")
