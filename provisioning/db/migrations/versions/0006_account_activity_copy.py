"""When the activity copy last finished a round: its own one-row table (it was the
``activity_copied_at`` key of ``directory_state``), so that Synapse's module can be given
``account_activity`` and this table only.

Revision ID: 0006
Revises: 0005
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_KEY = "activity_copied_at"


def upgrade() -> None:
    table = op.create_table(
        "account_activity_copy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("copied_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_account_activity_copy_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_activity_copy")),
    )
    bind = op.get_bind()
    old = bind.scalar(
        sa.text("SELECT value FROM directory_state WHERE key = :k").bindparams(k=OLD_KEY)
    )
    if old:
        op.bulk_insert(table, [{"id": 1, "copied_at": _utc(dt.datetime.fromisoformat(old))}])
    op.execute(sa.text("DELETE FROM directory_state WHERE key = :k").bindparams(k=OLD_KEY))


def downgrade() -> None:
    bind = op.get_bind()
    copied = sa.table("account_activity_copy", sa.column("copied_at", sa.DateTime(timezone=True)))
    copied_at = bind.scalar(sa.select(copied.c.copied_at))
    if copied_at is not None:
        state = sa.table("directory_state", sa.column("key"), sa.column("value"))
        op.bulk_insert(state, [{"key": OLD_KEY, "value": _utc(copied_at).isoformat()}])
    op.drop_table("account_activity_copy")


def _utc(value: dt.datetime) -> dt.datetime:
    """As UtcDateTime stores it: UTC (SQLite hands back naive values, in UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
