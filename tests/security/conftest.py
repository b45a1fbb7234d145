"""Security tests use the directory fixtures (SQLite, and PostgreSQL in CI) and the
provisioning ``world`` (a small district wired to the session's real Synapse)."""

from tests.directory.conftest import base_files, engine  # noqa: F401 - re-exported fixtures
from tests.provisioning.conftest import world  # noqa: F401 - re-exported fixture
