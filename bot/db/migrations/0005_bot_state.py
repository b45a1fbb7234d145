"""The bot's own key/value state; its sync token moves there from the directory's
``directory_state`` (key ``bot.sync_token``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_KEY = "bot.sync_token"
NEW_KEY = "sync_token"


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_state")),
    )
    op.execute(
        sa.text(
            "INSERT INTO bot_state (key, value) "
            "SELECT :new, value FROM directory_state WHERE key = :old"
        ).bindparams(new=NEW_KEY, old=OLD_KEY)
    )
    op.execute(sa.text("DELETE FROM directory_state WHERE key = :old").bindparams(old=OLD_KEY))


def downgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO directory_state (key, value) "
            "SELECT :old, value FROM bot_state WHERE key = :new"
        ).bindparams(new=NEW_KEY, old=OLD_KEY)
    )
    op.drop_table("bot_state")
