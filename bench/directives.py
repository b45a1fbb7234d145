"""Benchmark: directives on a 150,000-staff synthetic city, against a real Synapse.

Two directives from the Sở:
  1. to every teacher of one cấp học (Mầm non: tens of thousands of people), and
  2. to an arbitrary hand-picked subset (random people: mostly personal inboxes).

For each: the audience, the events our planner sends against one event per person, and
the wall time from "confirmed" to "all sent" through the real delivery worker (durable
store, transaction ids, the bot's own token). Baseline measured in the same run:
Synapse's raw send rate — a bare loop of PUT /send of the same message into the same rooms,
same concurrency.
The city's rooms are created in Synapse for exactly the rooms the plan uses (with the bot
as member; creating them is provisioning's one-time cost and is not timed), and the
inbox rooms the plan needs are created beforehand too. The baseline gets an identical,
untouched set of rooms, so that neither side sends into rooms Synapse has warmed up.

    .venv/bin/python bench/directives.py                 # MN teachers of the city, 300 random
    .venv/bin/python bench/directives.py --level TH --subset 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _directory import directory_with_accounts, user_id
from sqlalchemy import Engine

from bot.directives.audience import Selection
from bot.directives.compose import Preview, preview, save
from bot.directives.worker import DeliveryWorker
from bot.directory import Asker, DirectoryCache, DirectorySnapshot
from dieuhanh.embedded import accounts
from dieuhanh.embedded.datadir import init_data_dir
from dieuhanh.embedded.ports import free_port
from dieuhanh.embedded.server import RunningSynapse, fresh_postgres_database, running_synapse
from provisioning.matrix.client import MatrixClient, q
from provisioning.matrix.layout import BOT, Layout, build_layout
from provisioning.view import DirectoryView, load_view
from provisioning.vocab import Position, UnitKind

BOT_USER = "@dieuhanh:dieuhanh.local"


async def create_rooms(
    admin, bot_user: str, keys: list[str], concurrency: int, bot: MatrixClient | None = None
) -> dict[str, str]:
    """One room per key, the bot joined (as provisioning leaves them), in parallel.
    Given the bot's own client, ``admin`` may be any account: it invites the bot when it
    creates the room and the bot joins (no admin join: that is two events more)."""
    sem = asyncio.Semaphore(concurrency)
    out: dict[str, str] = {}

    async def one(key: str) -> None:
        async with sem:
            room_id = await admin.create_room(
                {
                    "preset": "private_chat",
                    "name": key[:200],
                    "power_level_content_override": {"users": {bot_user: 100}},
                    **({"invite": [bot_user]} if bot else {}),
                }
            )
            if bot:
                await bot.request("POST", f"/_matrix/client/v3/join/{q(room_id)}", {})
            else:
                await admin.force_join(room_id, bot_user)
            out[key] = room_id

    await asyncio.gather(*(one(k) for k in keys))
    return out


class BenchTransport:
    """The worker's Matrix side: the bot's own token, inbox rooms made beforehand."""

    def __init__(self, bot, inbox_of: dict[int, str]) -> None:
        self.bot, self.inbox_of = bot, inbox_of
        self.content: dict = {"msgtype": "m.text", "body": "raw"}  # the last one sent

    async def send(self, room_id, content, txn_id):
        self.content = content
        return await self.bot.send_event(room_id, content, txn_id)

    async def inbox(self, person_id):
        return self.inbox_of[person_id]

    async def reupload(self, attachment):
        return attachment


async def raw_rate(
    client, room_ids: list[str], events: int, concurrency: int, content: dict
) -> float:
    """Events per second of a bare send loop of the same content (no bookkeeping),
    same rooms, same concurrency."""
    sem = asyncio.Semaphore(concurrency)
    stamp = time.monotonic_ns()

    async def one(i: int) -> None:
        async with sem:
            await client.send_event(
                room_ids[i % len(room_ids)],
                content,
                f"raw.{stamp}.{i}",
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(events)))
    return events / (time.perf_counter() - started)


@dataclass
class City:
    """The synthetic city the directives go to, with every person's account."""

    engine: Engine
    view: DirectoryView
    layout: Layout
    accounts_of: dict[int, str]  # person id -> user id
    director: str  # the user id of the Sở's director, who sends both directives

    def snapshot(self, room_ids: dict[str, str]) -> DirectorySnapshot:
        """The bot's snapshot, its rooms known by ``room_ids`` (placeholders otherwise)."""
        user_of_code = {p.code: self.accounts_of[p.id] for p in self.view.people.values()}
        rooms = {}
        for key, spec in self.layout.rooms.items():
            if spec.purpose.value not in ("announcements", "role"):
                continue
            members = frozenset(user_of_code[m] for m in self.layout.members[key] if m != BOT)
            rooms[key] = (spec.purpose.value, room_ids.get(key, f"!{key}"), members)
        return DirectorySnapshot(
            self.view, self.accounts_of, ("bench",), rooms, frozenset({BOT_USER})
        )

    def asker(self, snapshot: DirectorySnapshot) -> Asker:
        return snapshot.asker(self.director)


def load_city(preset: str, scratch: Path) -> City:
    engine = directory_with_accounts(preset, scratch / "directory.db")
    view = load_view(engine)
    director = next(
        p
        for p in view.people.values()
        for u, pos in p.positions
        if view.units[u].kind is UnitKind.DEPARTMENT and pos is Position.DIRECTOR
    )
    accounts_of = {p.id: user_id(p.code) for p in view.people.values()}
    return City(engine, view, build_layout(view), accounts_of, accounts_of[director.id])


async def plan_cases(city: City, args) -> dict[str, tuple[Selection, Preview, float]]:
    """The two directives, each planned once: (selection, preview, planning seconds)."""
    active = [p for p in city.view.people.values() if p.active]
    cases = {
        f"every {args.level} teacher": Selection(levels=[args.level], roles=["teacher"]),
        f"{args.subset} random people": Selection(
            everyone=True,
            people=[p.code for p in random.Random(5).sample(active, args.subset)],
        ),
    }
    snapshot = city.snapshot({})
    plans = {}
    for label, selection in cases.items():
        t = time.perf_counter()
        found = await preview(snapshot, city.asker(snapshot), selection)
        plans[label] = (selection, found, time.perf_counter() - t)
    return plans


@contextlib.contextmanager
def bench_synapse(scratch: Path, postgres_url: str | None):
    """A Synapse laid out like ``up``'s (cheap hashing; on PostgreSQL if asked)."""
    setup = init_data_dir(scratch / "embedded", free_port())
    (setup.synapse.conf_d / "bench.yaml").write_text("bcrypt_rounds: 4\n")
    with contextlib.ExitStack() as stack:
        if postgres_url:
            database = stack.enter_context(fresh_postgres_database(postgres_url, "bench_synapse"))
            print(f"Synapse on PostgreSQL database {database['args']['database']}")
            (setup.synapse.conf_d / "database.yaml").write_text(json.dumps({"database": database}))
        yield stack.enter_context(running_synapse(setup))


async def bench_clients(synapse: RunningSynapse) -> tuple[MatrixClient, MatrixClient]:
    """The admin's and the bot's clients, both without rate limits."""
    setup, session = synapse.setup, synapse.admin
    admin = MatrixClient(setup.synapse.base_url, session.access_token)
    await admin.lift_rate_limits(session.user_id)
    await admin.put_user(BOT_USER, {"displayname": setup.config.bot.display_name})
    bot_session = accounts.login(
        setup.synapse.base_url, setup.config.bot.localpart, setup.config.bot.password
    )
    await admin.lift_rate_limits(BOT_USER)
    return admin, MatrixClient(setup.synapse.base_url, bot_session.access_token)


@dataclass
class Rooms:
    """The rooms one directive needs, made beforehand, and the baseline's own copies."""

    ids: dict[str, str]  # room key (or inbox/<user id>) -> room id
    raw: list[str]
    inbox_of: dict[int, str]  # person id -> inbox room id


async def prepare_rooms(
    admin: MatrixClient,
    city: City,
    found: Preview,
    concurrency: int,
    *,
    bot_user: str = BOT_USER,
    bot: MatrixClient | None = None,
    raw: int | None = None,
) -> Rooms:
    """The plan's rooms (and inboxes), then the baseline's: as many, or ``raw``."""
    keys = sorted(found.plan.rooms) + [f"inbox/{u}" for u in sorted(found.plan.inboxes)]
    room_ids = await create_rooms(admin, bot_user, keys, concurrency, bot)
    # the baseline sends into rooms of its own, as cold as ours when it starts
    raw_keys = [f"raw/{k}" for k in room_ids] if raw is None else [f"raw/{i}" for i in range(raw)]
    raw_rooms = await create_rooms(admin, bot_user, raw_keys, concurrency, bot)
    inbox_of = {
        pid: room_ids[f"inbox/{city.accounts_of[pid]}"]
        for pid in city.view.people
        if f"inbox/{city.accounts_of[pid]}" in room_ids
    }
    return Rooms(room_ids, list(raw_rooms.values()), inbox_of)


@dataclass
class Delivery:
    """One directive sent through the real worker."""

    people: int
    events: int
    stored: float  # seconds planning again and storing
    elapsed: float  # seconds from "confirmed" to "all sent"
    cpu_ms: float  # client CPU per event
    content: dict  # the last message sent, for the baseline


async def deliver(
    city: City, bot: MatrixClient, rooms: Rooms, selection: Selection, concurrency: int
) -> Delivery:
    snap, worker, transport = await ready_worker(city, bot, rooms, concurrency)
    return await confirm_and_drain(city, snap, worker, transport, selection)


async def ready_worker(
    city: City, bot: MatrixClient, rooms: Rooms, concurrency: int
) -> tuple[DirectorySnapshot, DeliveryWorker, BenchTransport]:
    """The bot as it runs before anyone confirms: its snapshot (the rooms known) and its
    delivery worker, the directory loaded once (seconds for a city: not timed)."""
    snap = city.snapshot(rooms.ids)
    cache = DirectoryCache(city.engine)
    await cache.get()
    transport = BenchTransport(bot, rooms.inbox_of)
    return snap, DeliveryWorker(city.engine, cache, transport, concurrency=concurrency), transport


async def confirm_and_drain(
    city: City,
    snap: DirectorySnapshot,
    worker: DeliveryWorker,
    transport: BenchTransport,
    selection: Selection,
) -> Delivery:
    """From "confirmed" (planned again and stored, as the bot does) to "all sent"."""
    started = time.perf_counter()
    found = await preview(snap, city.asker(snap), selection)
    await save(
        city.engine,
        snap,
        city.asker(snap),
        selection,
        found,
        body="Kính gửi quý thầy cô: lịch kiểm tra cuối học kỳ I.",
        html=None,
        attachments=[],
        origin_room_id=None,
    )
    stored = time.perf_counter() - started
    cpu = time.process_time()
    await worker.drain()
    elapsed = time.perf_counter() - started
    events = worker.stats.events
    cpu_ms = (time.process_time() - cpu) * 1000 / max(events, 1)
    return Delivery(len(found.people), events, stored, elapsed, cpu_ms, transport.content)


async def measure_case(
    admin: MatrixClient,
    bot: MatrixClient,
    city: City,
    label: str,
    case: tuple[Selection, Preview, float],
    concurrency: int,
) -> None:
    """Send one directive, then the baseline's bare loop; print their row."""
    selection, found, plan_seconds = case
    rooms = await prepare_rooms(admin, city, found, concurrency)
    ours = await deliver(city, bot, rooms, selection, concurrency)
    cpu = time.process_time()
    raw_events = max(ours.events, 200)
    raw = await raw_rate(bot, rooms.raw, raw_events, concurrency, ours.content)
    raw_cpu = (time.process_time() - cpu) * 1000 / raw_events
    rate, people, events = ours.events / ours.elapsed, ours.people, ours.events
    print(
        f"{label:28} {people:>7} {people:>10} {events:>10} {people / events:>6.1f} "
        f"{plan_seconds:>7.2f} {ours.elapsed:>7.2f} {rate:>9.0f} {raw:>9.0f} "
        f"{rate / raw:>6.2f} {people / raw:>12.1f}"
    )
    print(
        f"{'':28} (of the send time, {ours.stored:.2f} s planning again and storing; "
        f"client CPU per event: ours {ours.cpu_ms:.1f} ms, raw loop {raw_cpu:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--level", default="MN")
    parser.add_argument("--subset", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--synapse-postgres",
        metavar="URL",
        help="run Synapse on a fresh database made on this PostgreSQL server "
        "(e.g. postgresql://postgres@127.0.0.1/test; needs psycopg2) instead of SQLite",
    )
    args = parser.parse_args()
    asyncio.run(run(args))


async def run(args) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-directives-"))
    city = load_city(args.preset, scratch)
    try:
        plans = await plan_cases(city, args)
        with bench_synapse(scratch, args.synapse_postgres) as synapse:
            admin, bot = await bench_clients(synapse)
            version = await admin.request("GET", "/_synapse/admin/v1/server_version")
            print(f"Synapse {version['server_version']}, concurrency {args.concurrency}\n")
            print(
                f"{'directive':28} {'people':>7} {'per-person':>10} {'our events':>10} "
                f"{'fewer':>6} {'plan s':>7} {'send s':>7} {'our ev/s':>9} {'raw ev/s':>9} "
                f"{'ratio':>6} {'per-person s':>12}"
            )
            for label, case in plans.items():
                await measure_case(admin, bot, city, label, case, args.concurrency)
            await admin.close()
            await bot.close()
    finally:
        city.engine.dispose()
    print(
        "\nGoals: the whole segment in ≤ 5 s with ≥ 20× fewer events than per person; "
        "the subset at ≥ 80 % of the raw send rate."
    )


if __name__ == "__main__":
    main()
