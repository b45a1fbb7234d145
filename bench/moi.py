"""Benchmark: ``dieuhanh moi`` / ``!moi`` for a whole city on its first day — nobody has
logged in, every person has an account: planning who is invited, queueing within each
unit's budget (one transaction per paying unit), and sending through the file sink
(8 at a time, each claimed and recorded). Also the month's figures under the default
budget, as the ledger counts them.

    .venv/bin/python bench/moi.py                  # city preset, SQLite
    .venv/bin/python bench/moi.py --preset district
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="city")
    parser.add_argument("--send", type=int, default=5000, help="SMS sent through the sink")
    args = parser.parse_args()
    from bench._directory import directory_with_accounts
    from provisioning.db.models import AccountActivityCopy
    from provisioning.identity.sms import FileSink
    from provisioning.outreach import invitations, texts
    from provisioning.outreach.budget import Budget
    from provisioning.outreach.sender import send_queued
    from provisioning.view import load_view

    with tempfile.TemporaryDirectory() as tmp:
        engine = directory_with_accounts(args.preset, Path(tmp) / "directory.db")
        with engine.begin() as conn:
            conn.execute(AccountActivityCopy.__table__.insert().values(id=1, copied_at=NOW))
        view = load_view(engine)
        text = texts.invitation("https://dieuhanh.hcm.edu.vn/_dieuhanh/dang-nhap")
        started = time.perf_counter()
        accounts = invitations.read_accounts(engine)
        people = invitations.people_in(view, [u.id for u in view.units.values() if u.active])
        planned = invitations.plan(view, accounts.user_of, accounts.logged_in, people)
        print(
            f"plan: {time.perf_counter() - started:.2f} s, {planned.never:,} never logged in, "
            f"{len(planned.by_payer):,} paying units"
        )
        for dry in (True, False):
            started = time.perf_counter()
            outcome = invitations.queue_invitations(
                engine, view, planned, Budget(), text, NOW, "bench", dry_run=dry
            )
            print(
                f"queue{' (dry run)' if dry else ''}: {time.perf_counter() - started:.2f} s, "
                f"{outcome.chosen:,} queued, {outcome.count('over_budget'):,} over budget"
            )
        sink = FileSink(Path(tmp) / "sms.jsonl")
        ids = outcome.queued[: args.send]
        started = time.perf_counter()
        results = asyncio.run(send_queued(engine, sink, ids, lambda: NOW))
        took = time.perf_counter() - started
        print(
            f"send: {len(results):,} through the file sink in {took:.2f} s "
            f"({len(results) / took:,.0f}/s; the ledger's claim and record per SMS)"
        )


if __name__ == "__main__":
    main()
