"""Benchmark: !baocao, !tim and ``dieuhanh export`` for posts to 20,000 people (the city's
MN teachers) on the 150,000-staff synthetic city.

Two posts from the Sở's director to 20,000 MN teachers, delivered through one room per
school: a report request (30 % submitted, one file each, a tenth of them late) and an
invitation (40 % answered). Half of the recipients read them; 70 % send public receipts.

Measured in process (no Matrix round trip): !baocao's handling time p50/p95 over
``--repeat`` runs per post; !tim for a recipient and for the sender; the export's rows
(``collect``) and its XLSX (``write``) in seconds, for everything and for one school (the
report files are not fetched: that is the homeserver's speed). Baseline, in the same run:
a plain SELECT of one post's 20,000 recipient rows; every figure is also given as a ratio
to it, so it travels between machines.

    .venv/bin/python bench/baocao_export.py                 # city preset
    .venv/bin/python bench/baocao_export.py --preset district --recipients 300
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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

VN = dt.timezone(dt.timedelta(hours=7))
SELECTION = {"levels": ["MN"], "roles": ["teacher"]}  # as !gui stores "MN GV"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def audience(view, size: int) -> tuple[int, list[int]]:
    """(the Sở's director, ``size`` MN teachers) as person ids."""
    from provisioning.vocab import Level, Position, UnitKind

    director = next(
        p.id
        for p in view.people.values()
        if any(
            view.units[u].kind is UnitKind.DEPARTMENT and pos is Position.DIRECTOR
            for u, pos in p.positions
        )
    )
    teachers = sorted(
        p.id
        for p in view.people.values()
        if p.active
        and any(
            view.units[u].kind is UnitKind.SCHOOL
            and view.units[u].level is Level.MN
            and pos is Position.TEACHER
            for u, pos in p.positions
        )
    )
    if len(teachers) < size:
        raise SystemExit(f"only {len(teachers)} MN teachers in the data, {size} asked")
    return director, teachers[:size]


async def store_posts(engine, view, director: int, people: list[int]) -> dict[str, int]:
    """The two posts, planned and marked delivered; kind -> directive id."""
    from _directory import user_id

    from bot.db.delivery import Delivery
    from bot.db.directive import Directive, NewDirective, Planned
    from bot.directives.kinds import search_text

    user_of = {pid: user_id(view.people[pid].code) for pid in [director, *people]}
    by_school: dict[str, list[int]] = defaultdict(list)
    for pid in people:
        unit = next(u for u, _ in view.people[pid].positions)
        by_school[view.units[unit].code].append(pid)
    rooms = {f"role:{code}": (f"!{code}:bench", pids) for code, pids in by_school.items()}
    posts = {
        "report_request": ("Báo cáo số trẻ ra lớp", {"deadline": "2030-12-10T17:00:00+07:00"}),
        "invitation": (
            "Tập huấn chuyên đề giáo dục mầm non",
            {"title": "Tập huấn chuyên đề", "starts_at": "2030-12-07T08:00:00+07:00",
             "location": "Hội trường Sở"},
        ),
    }  # fmt: skip
    ids = {}
    for kind, (body, fields) in posts.items():
        new = NewDirective(
            director, user_of[director], None, body, None, [], SELECTION,
            Planned(rooms, [], user_of), kind=kind, fields=fields,
            search_text=search_text(body, fields), created_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        ids[kind], _code = await Directive.insert(engine, new)
        pending = [
            d for d in await Delivery.pending(engine, 100_000) if d.directive_id == ids[kind]
        ]
        await Delivery.mark_sent_many(engine, [(d.id, d.room_id, f"$e{d.id}") for d in pending])
    return ids


def replies(engine, ids: dict[str, int], people: list[int], user_of: dict[int, str]) -> None:
    """Reads, public receipts, answers and submissions, inserted in bulk."""
    from sqlalchemy import insert, update

    from bot.db.answer import AnswerTable
    from bot.db.receipt import ReceiptTable
    from bot.db.recipient import RecipientTable
    from bot.db.submission import SubmissionTable

    rng = random.Random(13)
    now = dt.datetime.now(dt.UTC)
    deadline = dt.datetime(2030, 12, 10, 10, 0, tzinfo=dt.UTC)
    recipients = RecipientTable.__table__
    with engine.begin() as conn:
        for directive in ids.values():
            read = [p for p in people if rng.random() < 0.5]
            conn.execute(
                update(recipients)
                .where(recipients.c.directive_id == directive, recipients.c.person_id.in_(read))
                .values(read_at=now, read_how="receipt")
            )
        public = [p for p in people if rng.random() < 0.7]
        conn.execute(
            insert(ReceiptTable.__table__),
            [
                {"room_id": "!x:bench", "user_id": user_of[p], "event_id": "$r", "ts": 1}
                for p in public
            ],
        )
        answered = [p for p in people if rng.random() < 0.4]
        conn.execute(
            insert(AnswerTable.__table__),
            [
                {"directive_id": ids["invitation"], "person_id": p, "deputy": None,
                 "answer": rng.choice(["yes", "no"]), "how": "reaction", "answered_at": now}
                for p in answered
            ],
        )  # fmt: skip
        submitted = [p for p in people if rng.random() < 0.3]
        conn.execute(
            insert(SubmissionTable.__table__),
            [
                {"directive_id": ids["report_request"], "person_id": p, "room_id": "!dm:bench",
                 "event_id": f"$s{p}", "body": "Số trẻ ra lớp: 31",
                 "files": f'[{{"mxc": "mxc://bench/{p}", "name": "so-tre.xlsx", "size": 1}}]',
                 "submitted_at": deadline + dt.timedelta(days=1 if rng.random() < 0.1 else -1)}
                for p in submitted
            ],
        )  # fmt: skip


def baseline_ms(engine, directive_id: int, runs: int = 7) -> float:
    """A plain SELECT of one post's recipient rows (median of ``runs``)."""
    from sqlalchemy import select

    from bot.db.recipient import RecipientTable

    t = RecipientTable.__table__
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.directive_id == directive_id)).all()
        took.append((time.perf_counter() - started) * 1000)
    assert rows
    return statistics.median(took)


async def handle_ms(service, user: str, line: str, repeat: int) -> list[float]:
    from bot.commands import Incoming

    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        reply = await service.handle(Incoming(user, line))
        took.append((time.perf_counter() - started) * 1000)
        assert reply is not None and "Xin lỗi, bot gặp lỗi" not in reply.text, reply.text
    return took


async def commands(engine, view, director: int, people: list[int], ids, repeat: int, base: float):
    from _directory import user_id

    from bot.commands import Incoming
    from bot.db.directive import Directive
    from bot.directory import DirectoryCache
    from bot.service import BotService

    service = BotService(DirectoryCache(engine, min_check_interval=3600))
    started = time.perf_counter()
    await service.directory.get()
    print(f"bot snapshot loaded in {time.perf_counter() - started:.1f} s (once, not measured)")
    sender, reader = user_id(view.people[director].code), user_id(view.people[people[0]].code)
    for kind, directive_id in ids.items():
        code = (await Directive.by_ids(engine, {directive_id}))[directive_id].code
        await handle_ms(service, sender, f"!baocao {code}", 1)  # warm
        took = await handle_ms(service, sender, f"!baocao {code}", repeat)
        show(f"!baocao {kind} ({len(people):,} recipients)", took, base)
        reply = await service.handle(Incoming(sender, f"!baocao {code}"))
        size = len(json.dumps(reply.content(), ensure_ascii=False).encode())
        print(f"{'':<48} its answer: {size / 1024:,.0f} KiB of event content")
    for who, user in (("a recipient", reader), ("the sender", sender)):
        show(f"!tim for {who}", await handle_ms(service, user, "!tim tap huan", repeat), base)


def show(what: str, took: list[float], base: float) -> None:
    p50, p95 = statistics.median(took), percentile(took, 0.95)
    print(f"{what:<48} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  = {p95 / base:6.1f} × baseline")


async def export(engine, view, people: list[int], base: float, folder: Path) -> None:
    from bot.records.export import collect, parse_period
    from bot.records.workbook import write

    today = dt.datetime.now(VN).strftime("%d/%m/%Y")
    period = parse_period(today, today)
    school = view.units[next(u for u, _ in view.people[people[0]].positions)].code
    for label, unit in (("everything", None), (f"one school ({school})", school)):
        started = time.perf_counter()
        rows = await collect(engine, period, unit)
        collected = time.perf_counter() - started
        started = time.perf_counter()
        write(rows, folder / "export.xlsx", set())
        written = time.perf_counter() - started
        total = (collected + written) * 1000
        print(
            f"export {label:<41} rows {collected:5.2f} s + xlsx {written:5.2f} s "
            f"= {total / 1000:5.2f} s = {total / base:6.1f} × baseline "
            f"({len(rows.recipients):,} recipient rows, {len(rows.files):,} files)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20, help="runs per command")
    args = parser.parse_args()

    from _directory import directory_with_accounts, user_id

    from provisioning.view import load_view

    with tempfile.TemporaryDirectory() as scratch:
        engine = directory_with_accounts(args.preset, Path(scratch) / "directory.db")
        view = load_view(engine)
        director, people = audience(view, args.recipients)
        ids = asyncio.run(store_posts(engine, view, director, people))
        replies(engine, ids, people, {p: user_id(view.people[p].code) for p in people})
        base = baseline_ms(engine, ids["report_request"])
        print(f"\nbaseline: SELECT of {len(people):,} recipient rows = {base:.1f} ms\n")
        asyncio.run(commands(engine, view, director, people, ids, args.repeat, base))
        asyncio.run(export(engine, view, people, base, Path(scratch)))
        engine.dispose()


if __name__ == "__main__":
    main()
