"""Directives: what was sent, to whom, through which rooms, who read it; drafts.

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
        "directive_drafts",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", name=op.f("pk_directive_drafts")),
    )
    op.create_table(
        "room_receipts",
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_receipts")),
    )
    op.create_table(
        "directives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("sender_person_id", sa.Integer(), nullable=False),
        sa.Column("sender_user_id", sa.String(length=255), nullable=False),
        sa.Column("origin_room_id", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("attachments", sa.Text(), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_person_id"], ["people.id"], name=op.f("fk_directives_sender_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
        sa.UniqueConstraint("code", name=op.f("uq_directives_code")),
    )
    op.create_table(
        "directive_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("room_key", sa.String(length=255), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_deliveries_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_directive_deliveries_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_deliveries")),
    )
    with op.batch_alter_table("directive_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directive_deliveries_directive_id"), ["directive_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directive_deliveries_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_directive_deliveries_room_id"), ["room_id"], unique=False
        )

    op.create_table(
        "directive_recipients",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_how", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["directive_deliveries.id"],
            name=op.f("fk_directive_recipients_delivery_id_directive_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_recipients_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_directive_recipients_person_id_people")
        ),
        sa.PrimaryKeyConstraint("directive_id", "person_id", name=op.f("pk_directive_recipients")),
    )
    with op.batch_alter_table("directive_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directive_recipients_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("directive_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_recipients_user_id"))

    op.drop_table("directive_recipients")
    with op.batch_alter_table("directive_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_deliveries_room_id"))
        batch_op.drop_index(batch_op.f("ix_directive_deliveries_event_id"))
        batch_op.drop_index(batch_op.f("ix_directive_deliveries_directive_id"))

    op.drop_table("directive_deliveries")
    op.drop_table("directives")
    op.drop_table("room_receipts")
    op.drop_table("directive_drafts")
