"""Bot events: the messages the bot has answered.

Revision ID: 0003
Revises: (the first of its chain; was 0002 when one chain held every table)
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_bot_events")),
    )
    with op.batch_alter_table("bot_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_events_handled_at"), ["handled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_events_handled_at"))

    op.drop_table("bot_events")
