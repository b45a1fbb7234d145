"""Matrix mirror: accounts, rooms, memberships as applied; the apply lock.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apply_locks",
        sa.Column("homeserver", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("homeserver", name=op.f("pk_apply_locks")),
    )
    op.create_table(
        "matrix_rooms",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("ownership", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("power_digest", sa.String(length=64), nullable=True),
        sa.Column("parent_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_matrix_rooms")),
        sa.UniqueConstraint("room_id", name=op.f("uq_matrix_rooms_room_id")),
    )
    with op.batch_alter_table("matrix_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matrix_rooms_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "matrix_accounts",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("displayname", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("deactivated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_matrix_accounts_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_matrix_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_matrix_accounts_user_id")),
    )
    op.create_table(
        "matrix_members",
        sa.Column("room_key", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_key"],
            ["matrix_rooms.key"],
            name=op.f("fk_matrix_members_room_key_matrix_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_key", "user_id", name=op.f("pk_matrix_members")),
    )


def downgrade() -> None:
    op.drop_table("matrix_members")
    op.drop_table("matrix_accounts")
    with op.batch_alter_table("matrix_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matrix_rooms_unit_code"))

    op.drop_table("matrix_rooms")
    op.drop_table("apply_locks")
