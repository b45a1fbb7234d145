"""Typed posts (issue 13): a directive's kind, fields, urgency, schedule and cancellation;
answers to invitations, submissions to report requests, reminders, work schedules.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from provisioning.text import fold

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _directive_columns()
    _backfill_search_text()
    _answers()
    _submissions()
    _reminders()
    _work_schedules()


def _directive_columns() -> None:
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="message", nullable=False)
        )
        batch_op.add_column(sa.Column("fields", sa.Text(), server_default="{}", nullable=False))
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("summary_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_directives_status_scheduled_for", ["status", "scheduled_for"], unique=False
        )
        batch_op.create_index("ix_directives_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_directives_sender_user_id"), ["sender_user_id"], unique=False
        )


def _backfill_search_text() -> None:
    """Directives sent before: their folded text, for !tim."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, body FROM directives")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE directives SET search_text = :t WHERE id = :i"),
            [{"t": fold(body or ""), "i": directive_id} for directive_id, body in rows],
        )


def _answers() -> None:
    op.create_table(
        "directive_answers",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("deputy", sa.Text(), nullable=True),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_answers_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_directive_answers_person_id_people")
        ),
        sa.PrimaryKeyConstraint("directive_id", "person_id", name=op.f("pk_directive_answers")),
    )


def _submissions() -> None:
    op.create_table(
        "directive_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("files", sa.Text(), server_default="[]", nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_submissions_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_directive_submissions_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_submissions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_directive_submissions_event_id")),
    )
    with op.batch_alter_table("directive_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directive_submissions_directive_id_person_id",
            ["directive_id", "person_id"],
            unique=False,
        )


def _reminders() -> None:
    op.create_table(
        "directive_reminders",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_reminders_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("directive_id", "kind", name=op.f("pk_directive_reminders")),
    )
    with op.batch_alter_table("directive_reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directive_reminders_sent_at_due_at", ["sent_at", "due_at"], unique=False
        )


def _work_schedules() -> None:
    op.create_table(
        "work_schedules",
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("entries", sa.Text(), server_default="[]", nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_work_schedules_unit_code_units")
        ),
        sa.PrimaryKeyConstraint("unit_code", "week_start", name=op.f("pk_work_schedules")),
    )
    with op.batch_alter_table("work_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_schedules_week_start"), ["week_start"], unique=False
        )


def downgrade() -> None:
    op.drop_table("work_schedules")
    op.drop_table("directive_reminders")
    op.drop_table("directive_submissions")
    op.drop_table("directive_answers")
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directives_sender_user_id"))
        batch_op.drop_index("ix_directives_created_at")
        batch_op.drop_index("ix_directives_status_scheduled_for")
        for column in (
            "summary_sent_at",
            "search_text",
            "cancelled_at",
            "scheduled_for",
            "urgent",
            "fields",
            "kind",
        ):
            batch_op.drop_column(column)
