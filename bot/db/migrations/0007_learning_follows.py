"""Parents' "new marks" summaries (issue 14): who follows (``learning_follows``), the
marks each follower was last told about per child (``learning_seen``) and the summaries
to send (``learning_notices``).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_follows",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_learning_follows")),
    )
    op.create_table(
        "learning_seen",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "student_id", name=op.f("pk_learning_seen")),
    )
    op.create_table(
        "learning_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("txn_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_notices")),
        sa.UniqueConstraint("txn_id", name=op.f("uq_learning_notices_txn_id")),
    )
    op.create_index("ix_learning_notices_status", "learning_notices", ["status"])


def downgrade() -> None:
    op.drop_index("ix_learning_notices_status", table_name="learning_notices")
    op.drop_table("learning_notices")
    op.drop_table("learning_seen")
    op.drop_table("learning_follows")
