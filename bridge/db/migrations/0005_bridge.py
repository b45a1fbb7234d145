"""Bridge: feeds, relayed items and deliveries, ghosts, media, webhook tokens, admin sessions.

Revision ID: 0005
Revises: (the first of its chain; was 0004 when one chain held every table)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_admin_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_bridge_admin_sessions")),
    )
    with op.batch_alter_table("bridge_admin_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bridge_admin_sessions_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "bridge_feeds",
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("initialized", sa.Boolean(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_bridge_feeds")),
    )
    with op.batch_alter_table("bridge_feeds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bridge_feeds_next_poll_at"), ["next_poll_at"], unique=False
        )

    op.create_table(
        "bridge_ghost_rooms",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", name=op.f("pk_bridge_ghost_rooms")),
    )
    op.create_table(
        "bridge_ghosts",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("displayname", sa.String(length=255), nullable=True),
        sa.Column("device_ready", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_bridge_ghosts")),
        sa.UniqueConstraint("unit_code", name=op.f("uq_bridge_ghosts_unit_code")),
    )
    op.create_table(
        "bridge_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column("summary_html", sa.Text(), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_feed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_items")),
        sa.UniqueConstraint(
            "unit_code", "item_key", name=op.f("uq_bridge_items_unit_code_item_key")
        ),
    )
    with op.batch_alter_table("bridge_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bridge_items_unit_code_first_seen_at", ["unit_code", "first_seen_at"], unique=False
        )

    op.create_table(
        "bridge_media",
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("mxc", sa.String(length=255), nullable=True),
        sa.Column("mimetype", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url_hash", name=op.f("pk_bridge_media")),
    )
    op.create_table(
        "bridge_webhook_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_webhook_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_bridge_webhook_tokens_token_hash")),
    )
    with op.batch_alter_table("bridge_webhook_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bridge_webhook_tokens_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "bridge_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("by_user_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("image_event_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["bridge_items.id"],
            name=op.f("fk_bridge_deliveries_item_id_bridge_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_deliveries")),
        sa.UniqueConstraint(
            "item_id", "room_id", name=op.f("uq_bridge_deliveries_item_id_room_id")
        ),
    )
    with op.batch_alter_table("bridge_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bridge_deliveries_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bridge_deliveries_unit_code"), ["unit_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bridge_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_deliveries_unit_code"))
        batch_op.drop_index(batch_op.f("ix_bridge_deliveries_status"))

    op.drop_table("bridge_deliveries")
    with op.batch_alter_table("bridge_webhook_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_webhook_tokens_unit_code"))

    op.drop_table("bridge_webhook_tokens")
    op.drop_table("bridge_media")
    with op.batch_alter_table("bridge_items", schema=None) as batch_op:
        batch_op.drop_index("ix_bridge_items_unit_code_first_seen_at")

    op.drop_table("bridge_items")
    op.drop_table("bridge_ghosts")
    op.drop_table("bridge_ghost_rooms")
    with op.batch_alter_table("bridge_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_feeds_next_poll_at"))

    op.drop_table("bridge_feeds")
    with op.batch_alter_table("bridge_admin_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_admin_sessions_expires_at"))

    op.drop_table("bridge_admin_sessions")
