"""Posts to families (issue 14): a delivery may reach a family inbox (by user id, no
person), and a directive's family recipients (parents, students with an account) are
kept apart from staff recipients, with the classes they were reached for.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directive_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=255), nullable=True))
    op.create_table(
        "directive_family_recipients",
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_how", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["directive_deliveries.id"],
            name=op.f("fk_directive_family_recipients_delivery_id_directive_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_directive_family_recipients_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "directive_id", "user_id", name=op.f("pk_directive_family_recipients")
        ),
    )
    with op.batch_alter_table("directive_family_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directive_family_recipients_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("directive_family_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_family_recipients_user_id"))
    op.drop_table("directive_family_recipients")
    with op.batch_alter_table("directive_deliveries", schema=None) as batch_op:
        batch_op.drop_column("user_id")
