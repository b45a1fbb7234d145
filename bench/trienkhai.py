"""Benchmark: how long the bot takes to answer !trienkhai (the Matrix round trip excluded),
p50/p95 for the Sở, a xã/phường and a principal, over a directory whose people all have
accounts and a rollout under way (each school logged in at its own rate); and the answer's
size against Synapse's 64 KiB event limit. It also prints the answer for the xã/phường
with the most schools (the text of the issue's note).

Baseline, measured in the same run: reading ``account_activity`` from the database once,
i.e. what each command would cost at least without the bot's per-minute cache.

    .venv/bin/python bench/trienkhai.py                                   # city preset
    .venv/bin/python bench/trienkhai.py --preset district --schools 600 --staff 15000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


class Fixed:
    def now(self) -> dt.datetime:
        return NOW


def directory(args, database: Path):
    """The preset (generated once under bench/out/), imported, everyone with an account."""
    from sqlalchemy import insert, select

    from dieuhanh.db import open_database
    from provisioning.db.models import MatrixAccount, Person
    from provisioning.demo import write_demo
    from provisioning.importer import import_paths

    data = ROOT / "bench" / "out" / f"{args.preset}-{args.schools}-{args.staff}"
    if not (data / "nhan_su.csv").exists():
        write_demo(data, args.preset, schools=args.schools, staff=args.staff)
    engine = open_database(f"sqlite:///{database}")
    started = time.perf_counter()
    import_paths(engine, sorted(data.glob("*.csv")))
    print(f"imported {data.name} in {time.perf_counter() - started:.1f} s")
    with engine.begin() as conn:
        people = conn.execute(select(Person.id, Person.code)).all()
        conn.execute(
            insert(MatrixAccount),
            [
                {"person_id": p, "user_id": f"@{c.lower()}:bench", "created": True}
                for p, c in people
            ],
        )
    return engine


def roll_out(engine, view) -> None:
    """Each school logs in at its own rate (some not at all); last seen within 14 days."""
    from sqlalchemy import insert

    from provisioning.db.models import AccountActivity, AccountActivityCopy
    from provisioning.domain import primary_position

    rng = random.Random(17)
    rates = {u: rng.choice([0.0, 0.2, 0.5, 0.7, 0.9, 1.0]) for u in view.units}
    rows = []
    for person in view.people.values():
        primary = primary_position(view, person)
        if primary is None or rng.random() >= rates[primary[1].id]:
            continue
        first = NOW - dt.timedelta(days=rng.uniform(1, 30))
        seen = max(first, NOW - dt.timedelta(days=rng.uniform(0, 14)))
        rows.append(
            {
                "user_id": f"@{person.code.lower()}:bench",
                "first_login_at": first,
                "last_seen_at": seen,
                "devices": 1,
                "checked_at": NOW,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(AccountActivity), rows)
        conn.execute(insert(AccountActivityCopy).values(id=1, copied_at=NOW))


def askers(view) -> dict[str, tuple[str, str]]:
    """(user id, label) of the Sở's director, the Trưởng phòng of the xã/phường with most
    schools, and a principal."""
    from provisioning.vocab import Position, UnitKind

    schools = Counter(
        u.parent_id for u in view.units.values() if u.kind is UnitKind.SCHOOL and u.active
    )
    busiest = max(
        (u for u in view.units.values() if u.kind is UnitKind.COMMUNE), key=lambda u: schools[u.id]
    )

    def holder(match) -> str:
        for person in view.people.values():
            if any(match(view.units[u], pos) for u, pos in person.positions):
                return f"@{person.code.lower()}:bench"
        raise SystemExit("no such official in the data")

    return {
        "Sở": (holder(lambda u, p: u.kind is UnitKind.DEPARTMENT and p is Position.DIRECTOR), ""),
        f"{busiest.name} ({schools[busiest.id]} trường)": (
            holder(lambda u, p: u.id == busiest.id and p in (Position.HEAD, Position.SPECIALIST)),
            "",
        ),
        "a principal": (holder(lambda u, p: p is Position.PRINCIPAL), ""),
    }


async def measure(service, user_id: str, repeat: int, *, cold: bool) -> tuple[list[float], object]:
    """Times of ``repeat`` answers; ``cold``: each computed afresh (as the first of a
    minute is), else from the bot's per-minute memo."""
    from bot.commands import Incoming, trienkhai

    times, reply = [], None
    for _ in range(repeat):
        if cold:
            trienkhai._ANSWERS.clear()
        started = time.perf_counter()
        reply = await service.handle(Incoming(user_id, "!trienkhai"))
        times.append((time.perf_counter() - started) * 1000)
    return times, reply


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(0.95 * len(values)) - 1)]


def size_of(reply) -> int:
    """Bytes of the event content the bot would send."""
    return len(json.dumps(reply.content(), ensure_ascii=False).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--schools", type=int, default=None)
    parser.add_argument("--staff", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()

    from bot.db.activity import load
    from bot.directory import DirectoryCache
    from bot.service import BotService

    with tempfile.TemporaryDirectory() as scratch:
        engine = directory(args, Path(scratch) / "directory.db")
        cache = DirectoryCache(engine, min_check_interval=1.0)
        view = asyncio.run(cache.get()).view
        roll_out(engine, view)
        t = time.perf_counter()
        asyncio.run(load(engine))
        baseline = (time.perf_counter() - t) * 1000
        print(f"{len(view.people):,} people, {len(view.units):,} units")
        print(f"baseline: reading account_activity once = {baseline:.0f} ms per command\n")
        service = BotService(cache, clock=Fixed())
        print(
            f"{'asker':40} {'first ms':>9} {'cold p50':>9} {'cold p95':>9} {'warm p95':>9} "
            f"{'bytes':>7}"
        )
        replies = {}
        for label, (user_id, _) in askers(view).items():
            first, _ = asyncio.run(measure(service, user_id, 1, cold=True))
            cold, reply = asyncio.run(measure(service, user_id, args.repeat, cold=True))
            warm, _ = asyncio.run(measure(service, user_id, args.repeat, cold=False))
            replies[label] = reply
            print(
                f"{label[:40]:40} {first[0]:>9.1f} {statistics.median(cold):>9.1f} "
                f"{p95(cold):>9.1f} {p95(warm):>9.1f} {size_of(reply):>7,}"
            )
        print("first: with the read of account_activity; cold: counted afresh (the first")
        print("answer of a minute); warm: from the per-minute memo. Goal: p95 under 100 ms.")
        for label, reply in list(replies.items())[:2]:
            print(f"\n--- !trienkhai as {label} ---\n{reply.text}")
        engine.dispose()


if __name__ == "__main__":
    main()
