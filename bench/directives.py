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
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def create_rooms(admin, bot_user: str, keys: list[str], concurrency: int) -> dict[str, str]:
    """One room per key, the bot joined (as provisioning leaves them), in parallel."""
    sem = asyncio.Semaphore(concurrency)
    out: dict[str, str] = {}

    async def one(key: str) -> None:
        async with sem:
            room_id = await admin.create_room(
                {
                    "preset": "private_chat",
                    "name": key[:200],
                    "power_level_content_override": {"users": {bot_user: 100}},
                }
            )
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


def synapse_postgres(url: str) -> dict:
    """A fresh, C-collated database for Synapse on the server at ``url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(url)
    name = f"bench_synapse_{int(time.time())}"
    with psycopg.connect(
        host=server.host,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname=server.database,
        autocommit=True,
    ) as conn:
        conn.execute(
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
    args = {
        "host": server.host,
        "port": server.port or 5432,
        "user": server.username,
        "database": name,
        "cp_min": 5,
        "cp_max": 10,
    }
    if server.password:
        args["password"] = server.password
    print(f"Synapse on PostgreSQL database {name}")
    return {"name": "psycopg2", "args": args}


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

    from _directory import directory_with_accounts, user_id

    from bot.directives.audience import Selection
    from bot.directives.compose import preview, save
    from bot.directives.worker import DeliveryWorker
    from bot.directory import DirectoryCache, DirectorySnapshot
    from dieuhanh.embedded import accounts
    from dieuhanh.embedded.datadir import ADMIN_LOCALPART, init_data_dir
    from dieuhanh.embedded.ports import free_port
    from dieuhanh.embedded.synapse import (
        start_synapse,
        stop_process,
        wait_for_background_updates,
        wait_until_ready,
    )
    from provisioning.matrix.client import MatrixClient
    from provisioning.matrix.layout import BOT, build_layout
    from provisioning.view import load_view
    from provisioning.vocab import Position, UnitKind

    scratch = Path(tempfile.mkdtemp(prefix="bench-directives-"))
    engine = directory_with_accounts(args.preset, scratch / "directory.db")
    view = load_view(engine)
    layout = build_layout(view)
    accounts_of = {p.id: user_id(p.code) for p in view.people.values()}
    user_of_code = {p.code: accounts_of[p.id] for p in view.people.values()}
    director = next(
        p
        for p in view.people.values()
        for u, pos in p.positions
        if view.units[u].kind is UnitKind.DEPARTMENT and pos is Position.DIRECTOR
    )
    bot_user = "@dieuhanh:dieuhanh.local"

    def snapshot_with(room_ids: dict[str, str]) -> DirectorySnapshot:
        rooms = {}
        for key, spec in layout.rooms.items():
            if spec.purpose.value not in ("announcements", "role"):
                continue
            members = frozenset(user_of_code[m] for m in layout.members[key] if m != BOT)
            rooms[key] = (spec.purpose.value, room_ids.get(key, f"!{key}"), members)
        return DirectorySnapshot(view, accounts_of, ("bench",), rooms, frozenset({bot_user}))

    snapshot = snapshot_with({})
    asker = snapshot.asker(accounts_of[director.id])
    cases = {
        f"every {args.level} teacher": Selection(levels=[args.level], roles=["teacher"]),
        f"{args.subset} random people": Selection(
            everyone=True,
            people=[
                p.code
                for p in random.Random(5).sample(
                    [p for p in view.people.values() if p.active], args.subset
                )
            ],
        ),
    }
    plans = {}
    for label, selection in cases.items():
        t = time.perf_counter()
        found = await preview(snapshot, asker, selection)
        plans[label] = (selection, found, time.perf_counter() - t)

    setup = init_data_dir(scratch / "embedded", free_port())
    (setup.synapse.conf_d / "bench.yaml").write_text("bcrypt_rounds: 4\n")
    if args.synapse_postgres:
        (setup.synapse.conf_d / "database.yaml").write_text(
            json.dumps({"database": synapse_postgres(args.synapse_postgres)})
        )
    log = (scratch / "synapse.out").open("wb")
    process = start_synapse(setup.synapse, log)
    try:
        wait_until_ready(setup.synapse, timeout=120, exited=process.poll)
        password = setup.data.admin_password_path.read_text().strip()
        admin_session = accounts.ensure_account(
            setup.synapse.base_url,
            setup.config.homeserver.registration_shared_secret,
            ADMIN_LOCALPART,
            password,
            admin=True,
        )
        wait_for_background_updates(setup.synapse)
        admin = MatrixClient(setup.synapse.base_url, admin_session.access_token)
        await admin.lift_rate_limits(admin_session.user_id)
        await admin.put_user(bot_user, {"displayname": setup.config.bot.display_name})
        bot_session = accounts.login(
            setup.synapse.base_url, setup.config.bot.localpart, setup.config.bot.password
        )
        await admin.lift_rate_limits(bot_user)
        bot = MatrixClient(setup.synapse.base_url, bot_session.access_token)
        version = await admin.request("GET", "/_synapse/admin/v1/server_version")
        print(f"Synapse {version['server_version']}, concurrency {args.concurrency}\n")
        print(
            f"{'directive':28} {'people':>7} {'per-person':>10} {'our events':>10} "
            f"{'fewer':>6} {'plan s':>7} {'send s':>7} {'our ev/s':>9} {'raw ev/s':>9} "
            f"{'ratio':>6} {'per-person s':>12}"
        )
        for label, (selection, found, plan_seconds) in plans.items():
            keys = sorted(found.plan.rooms)
            inbox_people = sorted(found.plan.inboxes)
            room_ids = await create_rooms(
                admin, bot_user, keys + [f"inbox/{u}" for u in inbox_people], args.concurrency
            )
            # the baseline sends into rooms of its own, as cold as ours when it starts
            raw_rooms = await create_rooms(
                admin, bot_user, [f"raw/{k}" for k in room_ids], args.concurrency
            )
            inbox_of = {
                pid: room_ids[f"inbox/{accounts_of[pid]}"]
                for pid in view.people
                if f"inbox/{accounts_of[pid]}" in room_ids
            }
            snap = snapshot_with(room_ids)

            cache = DirectoryCache(engine)
            await cache.get()  # loaded once, as the running bot holds it
            transport = BenchTransport(bot, inbox_of)
            worker = DeliveryWorker(engine, cache, transport, concurrency=args.concurrency)
            started = time.perf_counter()
            found = await preview(snap, snap.asker(accounts_of[director.id]), selection)
            await save(
                engine,
                snap,
                snap.asker(accounts_of[director.id]),
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
            our_cpu = (time.process_time() - cpu) * 1000 / max(worker.stats.events, 1)
            events = worker.stats.events
            cpu = time.process_time()
            raw_events = max(events, 200)
            raw = await raw_rate(
                bot, list(raw_rooms.values()), raw_events, args.concurrency, transport.content
            )
            raw_cpu = (time.process_time() - cpu) * 1000 / raw_events
            ours = events / elapsed
            people = len(found.people)
            print(
                f"{label:28} {people:>7} {people:>10} {events:>10} {people / events:>6.1f} "
                f"{plan_seconds:>7.2f} {elapsed:>7.2f} {ours:>9.0f} {raw:>9.0f} "
                f"{ours / raw:>6.2f} {people / raw:>12.1f}"
            )
            print(
                f"{'':28} (of the send time, {stored:.2f} s planning again and storing; "
                f"client CPU per event: ours {our_cpu:.1f} ms, raw loop {raw_cpu:.1f} ms)"
            )
        await admin.close()
        await bot.close()
    finally:
        stop_process(process)
        log.close()
        engine.dispose()
    print(
        "\nGoals: the whole segment in ≤ 5 s with ≥ 20× fewer events than per person; "
        "the subset at ≥ 80 % of the raw send rate."
    )


if __name__ == "__main__":
    main()
