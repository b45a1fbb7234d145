"""Benchmark: where a join's CPU goes, by Synapse process, for Synapse's admin join API
(what apply used) and for apply's joins as the person through the client API
(``provisioning.matrix.person_joins``: the admin's invite, a short-lived token, the
person's join), on single-process Synapse and on the worker profile with 1, 2, 4 event
persisters — in one run.

Each Synapse process runs its Python on one core: given a core each, the busiest process
caps the join rate at 1000 / its ms of CPU per join. So the figure that says whether more
persisters can raise a city's joins/s is not this machine's joins/s (2 cores for seven
processes, PostgreSQL and nginx) but which process is the busiest and its cap.

For each configuration, on a fresh homeserver: ``--users`` accounts, then for each way
``--rooms`` fresh rooms and every account joined into ``--per-person`` of them (5: a
city's ≈ 750,000 joins for 150,000 people; one queue per room, ``--concurrency`` at once,
as apply does), timed, with each process's CPU; the
accounts' creation (admin API) is timed the same way (row "accts": per account).

    .venv/bin/python bench/joins.py                          # sqlite,w1,w2,w4
    .venv/bin/python bench/joins.py --configs w2 --users 100
    .venv/bin/python bench/joins.py --configs w2-nobg,w2     # without/with the background worker
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers import (
    CpuMeter,
    Homeserver,
    by_process,
    default_postgres,
    homeserver,
    wait_idle,
)

from provisioning.matrix.client import MatrixClient
from provisioning.matrix.person_joins import PersonJoins


async def accounts(admin: MatrixClient, hs: Homeserver, count: int, limit) -> list[str]:
    tag = uuid.uuid4().hex[:6]

    async def one(i: int) -> str:
        user_id = f"@j{tag}{i}:{hs.server_name}"
        async with limit:
            await admin.put_user(user_id, {"displayname": f"Người {i}"})
        return user_id

    return await asyncio.gather(*(one(i) for i in range(count)))


async def joined(admin: MatrixClient, hs: Homeserver, users: list[str], way: str, args) -> dict:
    """Every user joined into one of ``args.rooms`` fresh rooms, the ``way`` given."""
    limit = asyncio.Semaphore(args.concurrency)

    async def room(i: int) -> str:
        async with limit:
            return await admin.create_room({"preset": "private_chat", "name": f"{way} {i}"})

    rooms = await asyncio.gather(*(room(i) for i in range(args.rooms)))
    joins = PersonJoins(admin)
    # each person into --per-person rooms (a city's apply: ≈ 5 joins per person, so the
    # person path's token, asked for and logged out on the main process, is shared by 5)
    queues: list[list[str]] = [[] for _ in rooms]
    for i, user_id in enumerate(users):
        for j in range(args.per_person):
            queues[(i + j * (len(rooms) // args.per_person)) % len(rooms)].append(user_id)

    async def drain(room_id: str, queue: list[str]) -> None:
        for user_id in queue:
            async with limit:
                if way == "admin":
                    await admin.force_join(room_id, user_id)
                else:
                    await joins.join(room_id, user_id)

    await wait_idle(hs)
    meter = CpuMeter(hs)
    before, started = meter.sample(), time.perf_counter()
    await asyncio.gather(*(drain(r, qu) for r, qu in zip(rooms, queues, strict=True)))
    await joins.close()  # its logouts are part of its cost
    seconds = time.perf_counter() - started
    count = sum(len(queue) for queue in queues)
    split = by_process(hs, before, meter.sample(), count)
    return {"joins_s": count / seconds, "split": split, "stats": dict(joins.stats)}


def row(label: str, way: str, found: dict) -> str:
    split = found["split"]
    synapse = {k: v for k, v in split.items() if k != "PostgreSQL"}
    busiest = max(synapse, key=synapse.get)
    parts = ", ".join(f"{k} {v:.1f}" for k, v in split.items())
    how = f" ({', '.join(f'{k} {v}' for k, v in found['stats'].items())})" if found["stats"] else ""
    return (
        f"{label:24} {way:6} {found['joins_s']:>7.1f} {sum(split.values()):>8.1f} "
        f"{busiest:>18} {1000 / synapse[busiest]:>6.0f}   {parts}{how}"
    )


async def measure(hs: Homeserver, args) -> list[str]:
    async with MatrixClient(hs.url, hs.admin_token) as admin:
        await admin.lift_rate_limits(await admin.whoami())
        await wait_idle(hs)
        meter = CpuMeter(hs)
        before, started = meter.sample(), time.perf_counter()
        users = await accounts(admin, hs, args.users, asyncio.Semaphore(args.concurrency))
        made = {
            "joins_s": len(users) / (time.perf_counter() - started),
            "split": by_process(hs, before, meter.sample(), len(users)),
            "stats": {},
        }
        return [
            row(hs.label, "accts", made),  # what every person costs before any join
            *[row(hs.label, way, await joined(admin, hs, users, way, args)) for way in WAYS],
        ]


WAYS = ("admin", "client")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default="sqlite,w1,w2,w4",
        help="sqlite, postgres, w<persisters> or w<persisters>-nobg (no background worker)",
    )
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--per-person", type=int, default=5, help="rooms each person joins")
    parser.add_argument("--rooms", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--generic-workers", type=int, default=2)
    parser.add_argument("--postgres-url", default=default_postgres())
    parser.add_argument("--redis", default="127.0.0.1:6379")
    args = parser.parse_args()
    print(
        f"{args.users} people into {args.per_person} of {args.rooms} rooms each, per way; "
        f"concurrency {args.concurrency}; "
        "CPU in ms per join; cap = 1000 / the busiest Synapse process's ms (a core each)\n"
    )
    print(
        f"{'homeserver':24} {'way':6} {'joins/s':>7} {'ms/join':>8} {'busiest':>18} {'cap/s':>6}"
        "   ms per join by process"
    )
    for name in args.configs.split(","):
        scratch = Path(tempfile.mkdtemp(prefix=f"bench-joins-{name}-"))
        with homeserver(name, scratch, args) as hs:
            for line in asyncio.run(measure(hs, args)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
