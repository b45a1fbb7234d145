"""The worker profile's tests.

Tests marked ``workers`` run the whole profile (Synapse with workers on PostgreSQL and
Redis, nginx in front): they are the slower end-to-end suite that `.ci/run` runs with
``DIEUHANH_TEST_WORKERS=1``, and are left out of a plain `make test` (deselected, not
skipped). Tests marked ``nginx`` need Debian's nginx: left out when it is not installed,
unless ``DIEUHANH_TEST_WORKERS`` is set (then a missing nginx fails them). Tests marked
``postgres`` run when ``DIEUHANH_TEST_POSTGRES_URL`` names a server (CI's does).
"""

from __future__ import annotations

import os

import pytest

from dieuhanh.deploy.run import RunError, nginx_binary

WORKERS = bool(os.environ.get("DIEUHANH_TEST_WORKERS"))
POSTGRES = bool(os.environ.get("DIEUHANH_TEST_POSTGRES_URL"))


def nginx_installed() -> bool:
    try:
        nginx_binary()
        return True
    except RunError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "workers: the worker-profile end-to-end suite")
    config.addinivalue_line("markers", "nginx: needs Debian's nginx")
    config.addinivalue_line("markers", "postgres: needs DIEUHANH_TEST_POSTGRES_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    has_nginx = WORKERS or nginx_installed()
    for item in items:
        if (
            (item.get_closest_marker("workers") and not WORKERS)
            or (item.get_closest_marker("nginx") and not has_nginx)
            or (item.get_closest_marker("postgres") and not POSTGRES)
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
