"""The identity tests that need a directory use its fixtures (SQLite, and PostgreSQL in CI)."""

from tests.directory.conftest import engine  # noqa: F401 - re-exported fixture
