"""SMS messages: when each was claimed for sending (``claimed_at``), so that those a stopped
sender left "sending" can be told from those under way and settled ("unknown").

Messages already "sending" get their ``created_at``: the earliest they can have been claimed.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sms_messages", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(sa.text("UPDATE sms_messages SET claimed_at = created_at WHERE status = 'sending'"))


def downgrade() -> None:
    # the older code knows no "unknown": they are left as it left them, "sending"
    op.execute(sa.text("UPDATE sms_messages SET status = 'sending' WHERE status = 'unknown'"))
    with op.batch_alter_table("sms_messages") as batch:
        batch.drop_column("claimed_at")
