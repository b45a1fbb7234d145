"""Alembic environment shared by every migration chain of the database (the directory's,
the bot's, the bridge's): each runs on the engine, with the version table and metadata
that ``provisioning.db.migrate`` hands over."""

from alembic import context

attributes = context.config.attributes
with attributes["engine"].begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=attributes.get("metadata"),
        version_table=attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
