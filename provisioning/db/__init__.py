"""The directory database: models, engine, migrations."""

from provisioning.db.engine import directory_is_empty, open_directory

__all__ = ["directory_is_empty", "open_directory"]
