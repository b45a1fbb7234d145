"""Alembic environment: runs on the engine handed over by ``provisioning.db.engine``."""

from alembic import context

import provisioning.db.bridge_models  # noqa: F401  (the bridge's tables, for autogenerate)
from provisioning.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
