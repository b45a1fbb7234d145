"""The outreach tests use the directory fixtures (SQLite, and PostgreSQL in CI)."""

from tests.directory.conftest import base_files, engine  # noqa: F401 - re-exported fixtures
