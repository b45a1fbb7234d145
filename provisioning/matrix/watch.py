"""The reconcile loop: apply every change of the directory to Matrix while running.

A correction in chat (``!capnhat``) or an import bumps the directory's revision; the loop
reads it every few seconds (one cheap query) and runs ``apply`` when it differs from the
revision last applied, so a phone moves, an account is locked and room memberships
follow within a minute. ``dieuhanh up`` runs it beside the services; in production
``dieuhanh apply --watch`` runs it as its own service (``dieuhanh-apply.service``).

A plan the mass-removal guard refuses is not retried until the directory changes again
(an operator runs ``dieuhanh apply --allow-mass-removal``); failures back off to a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import Engine, select

from provisioning.config import ProvisioningSettings
from provisioning.db.models import DirectoryState
from provisioning.matrix.apply import ApplyResult, MassRemovalRefused, apply
from provisioning.matrix.lock import ApplyLocked
from provisioning.matrix.mirror import applied_revision

log = logging.getLogger(__name__)

BACKOFF = 60.0


def directory_revision(engine: Engine) -> int:
    """The directory's revision (bumped by every import and correction)."""
    with engine.connect() as conn:
        value = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
    return int(value or 0)


def pending(engine: Engine) -> int | None:
    """The revision to apply, or None when Matrix is up to date (two cheap queries)."""
    revision = directory_revision(engine)
    return None if applied_revision(engine) == revision else revision


async def watch(
    engine: Engine,
    config: ProvisioningSettings,
    stop: asyncio.Event,
    *,
    interval: float | None = None,
    on_result: Callable[[ApplyResult], None] | None = None,
) -> None:
    """Apply the directory's changes until ``stop`` is set."""
    interval = interval or config.provisioning.watch_interval_seconds
    refused: int | None = None  # a revision the mass-removal guard refused
    while not stop.is_set():
        wait = interval
        try:
            revision = await asyncio.to_thread(pending, engine)
            if revision is not None and revision != refused:
                result = await apply(
                    engine,
                    config,
                    concurrency=config.provisioning.concurrency,
                    max_removal_share=config.provisioning.max_removal_share,
                )
                log.info("applied revision %s: %d operations", revision, result.done)
                if on_result is not None:
                    on_result(result)
                if result.failures:
                    wait = BACKOFF
        except MassRemovalRefused as exc:
            refused = revision
            log.warning("revision %s not applied: %s", revision, exc)
        except ApplyLocked:
            log.info("another apply runs; trying again in %.0f s", interval)
        except Exception:
            log.exception("the reconcile loop failed; trying again in %.0f s", BACKOFF)
            wait = BACKOFF
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
