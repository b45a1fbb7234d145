"""The reconcile loop without a homeserver: it applies only when the directory's revision
moved past the one applied, and does not retry a plan the mass-removal guard refused
until the directory changes again."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from provisioning.importer.merge import bump_revision
from provisioning.matrix import watch as watch_module
from provisioning.matrix.apply import ApplyResult, MassRemovalRefused
from provisioning.matrix.mirror import APPLIED_LAYOUT, APPLIED_REVISION, set_applied, set_state
from provisioning.matrix.watch import pending, watch


class Config:
    class provisioning:
        concurrency = 1
        max_removal_share = 0.1
        watch_interval_seconds = 0.01


def bump(engine: Engine) -> int:
    with engine.begin() as conn:
        return bump_revision(conn)


def run_loop(engine: Engine, monkeypatch, outcome, rounds: int) -> list[int]:
    """Run the loop for ``rounds`` of its checks; the revisions ``apply`` was called at."""
    calls: list[int] = []

    async def fake_apply(engine, config, **kwargs) -> ApplyResult:
        calls.append(pending(engine))
        return outcome(engine)

    monkeypatch.setattr(watch_module, "apply", fake_apply)
    checks = 0
    real_pending = watch_module.pending

    def counting(engine):
        nonlocal checks
        checks += 1
        if checks > rounds:
            stop.set()
        return real_pending(engine)

    monkeypatch.setattr(watch_module, "pending", counting)
    stop = asyncio.Event()

    async def main() -> None:
        await watch(engine, Config, stop)

    asyncio.run(main())
    return calls


def applied(engine: Engine) -> ApplyResult:
    set_applied(engine, pending(engine))
    return ApplyResult(done=1)


def refused(engine: Engine) -> ApplyResult:
    raise MassRemovalRefused("quá nhiều")


def test_applies_each_new_revision_once(engine, monkeypatch):
    revision = bump(engine)
    assert pending(engine) == revision
    assert run_loop(engine, monkeypatch, applied, 5) == [revision]
    assert pending(engine) is None


def test_a_new_layout_is_applied_without_a_change_of_the_directory(engine, monkeypatch):
    """Code that changes the layout (news moved into Thông tin điều hành) reaches a
    running deployment at once, and once: what an older layout applied counts as not."""
    revision = bump(engine)
    set_state(engine, APPLIED_REVISION, str(revision))  # before layout versions were kept
    assert pending(engine) == revision
    set_state(engine, APPLIED_LAYOUT, "1")  # applied with the layout before news moved
    assert pending(engine) == revision
    assert run_loop(engine, monkeypatch, applied, 5) == [revision]
    assert pending(engine) is None


def test_a_refused_revision_waits_for_the_next_change(engine, monkeypatch):
    first = bump(engine)
    assert run_loop(engine, monkeypatch, refused, 5) == [first]  # not retried
    second = bump(engine)
    assert run_loop(engine, monkeypatch, applied, 5) == [second]
