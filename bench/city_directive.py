"""Benchmark: issue 16's city-wide directive — every teacher of the city (≈117,000 people)
from the Giám đốc — on Synapse single-process and on the worker profile, in one run.

The planner (``bot.directives.compose.preview``) turns the audience into one event per
role-group room (and per inbox where no group covers a teacher exactly). For each
configuration in --configs, on a fresh homeserver (and fresh databases):

1. untimed setup: exactly the plan's rooms, and --raw-rooms more for the baseline, created
   by ONE observer account (so it is joined to every room) with the bot invited at
   creation and joining itself; then Synapse is left to go idle;
2. the observer's /sync long-poll loop starts from a token taken before sending (a filter
   like Element's: lazy-loaded members, no presence); the bot's real delivery worker
   plans again, stores and sends the directive (as ``bench/directives.py`` does). Measured:
   events, seconds from start to the last send answered (events/s), seconds from start
   until the observer's sync has returned every one of the directive's events, and the CPU
   seconds Synapse's processes (main, event persisters, generic workers — sync is
   theirs —), PostgreSQL's backends and nginx spent from start until then, per event;
3. the raw baseline on the same homeserver: a bare PUT /send loop of the same content, one
   event per fresh room (the observer and the bot in each, as ours), same concurrency,
   the observer syncing: events/s, seconds until synced and CPU per event.

4. the recipients' share (--members, 0 to skip): the rooms above hold only the observer
   and the bot, but a role group holds ≈125 teachers (117,260 ÷ 940), and each member
   costs every event its push actions and, online, a woken sync that answers it. So:
   --fanout-events events, one at a time, into one room of --members accounts all
   long-polling /sync, each event sent once every member's sync has returned the one
   before; (its CPU per event − the raw loop's) ÷ members = ms per recipient.
   --client says what the members long-poll: ``sync2`` (/sync v2, Element's filter; the
   default), ``sliding`` (Simplified Sliding Sync, MSC4186, as Element X's room list asks
   it: one list of the 20 most recent rooms, timeline_limit 1, its minimal required_state,
   each member's own connection looping with ``pos`` and ``timeout``; Synapse 1.163 serves
   it unless ``experimental_features.msc3575_enabled`` is false), or ``both``: one after
   the other on the same homeserver, fresh accounts for each, side by side at the end.

"In every recipient's sync": one observer in every room is the heaviest single sync (all
the directive's events in one stream), and its time is what the table's "sync s" shows.
It is not the total work: with every teacher online, ≈117,000 syncs are woken, once each;
step 4 prices that, and the arithmetic adds it. Not measured: push notifications to
phones (a pusher's HTTP request per recipient with a pusher).

The 16-core arithmetic: a worker profile spreads a directive's events over the event
persisters by room, and the directive goes to hundreds of rooms, so with enough
persisters (and generic workers) the machine's rate is ≈ cores × 1000 / (ms CPU per
event), and the directive takes events ÷ that rate; with its recipients, (events × ms per
event + recipients × ms per recipient) ÷ cores. One process cannot use more than about one
core (plus PostgreSQL's), whatever the machine.

    .venv/bin/python bench/city_directive.py --preset district --configs sqlite   # quick
    .venv/bin/python bench/city_directive.py --level THPT --configs sqlite,w1     # 71 rooms
    .venv/bin/python bench/city_directive.py                   # the city: sqlite, w1, w2
    .venv/bin/python bench/city_directive.py --level THPT --configs sqlite,w1 --client both
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directives import (  # noqa: E402
    City,
    Rooms,
    confirm_and_drain,
    load_city,
    prepare_rooms,
    raw_rate,
    ready_worker,
)
from workers import CpuMeter, Homeserver, default_postgres, homeserver, proc_cpu, wait_idle  # noqa: E402

from bot.directives.audience import Selection  # noqa: E402
from bot.directives.compose import Preview, preview  # noqa: E402
from dieuhanh.config import Config  # noqa: E402
from dieuhanh.embedded import accounts  # noqa: E402
from provisioning.matrix.client import MatrixClient, MatrixError, q  # noqa: E402

KINDS = ("main", "persister", "worker", "postgres", "nginx")
#: what the observer's loop asks for: Element's shape, without presence
SYNC_FILTER = json.dumps(
    {
        "room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": True}},
        "presence": {"not_types": ["*"]},
    }
)
#: the token's sync: nothing but the position
TOKEN_FILTER = json.dumps(
    {
        "room": {"timeline": {"limit": 0}, "state": {"types": []}, "ephemeral": {"types": []}},
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    }
)

#: Simplified Sliding Sync (MSC4186), as Synapse serves it natively
SLIDING_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
#: Element X's room list (matrix-rust-sdk's RoomListService): one list of the 20 most
#: recent rooms, the last event of each, its minimal state, account data, receipts and
#: typing; conn_id "room-list". (Its second connection, the encryption sync — to-device
#: and e2ee extensions — is not here.)
SLIDING_BODY = {
    "conn_id": "room-list",
    "lists": {
        "all_rooms": {
            "ranges": [[0, 19]],
            "timeline_limit": 1,
            "required_state": [
                ["m.room.name", ""],
                ["m.room.encryption", ""],
                ["m.room.member", "$LAZY"],
                ["m.room.member", "$ME"],
                ["m.room.topic", ""],
                ["m.room.avatar", ""],
                ["m.room.canonical_alias", ""],
                ["m.room.power_levels", ""],
                ["org.matrix.msc3401.call.member", "*"],
                ["m.room.join_rules", ""],
                ["m.room.tombstone", ""],
                ["m.room.create", ""],
                ["m.room.history_visibility", ""],
                ["io.element.functional_members", ""],
                ["m.space.parent", "*"],
                ["m.space.child", "*"],
            ],
        }
    },
    "extensions": {
        "account_data": {"enabled": True},
        "receipts": {"enabled": True, "rooms": ["*"]},
        "typing": {"enabled": True},
    },
}
#: what each --client's members long-poll (for the printed lines)
CLIENTS = {"sync2": "/sync v2", "sliding": "Simplified Sliding Sync"}


class Recorder:
    """The bot's client as the senders see it: each event id with when its send was
    answered."""

    def __init__(self, client: MatrixClient) -> None:
        self.client = client
        self.sent: dict[str, float] = {}
        self.room_of: dict[str, str] = {}

    async def send_event(self, room_id: str, content: dict, txn_id: str) -> str:
        event_id = await self.client.send_event(room_id, content, txn_id)
        self.sent[event_id], self.room_of[event_id] = time.perf_counter(), room_id
        return event_id


class SyncWatcher:
    """One account's /sync long-poll loop: when each timeline event was first returned.
    ``token``: the account's, when ``client`` is shared with others."""

    def __init__(self, client: MatrixClient, since: str, token: str | None = None) -> None:
        self.client, self.since, self.token = client, since, token
        self.seen: dict[str, float] = {}
        self.syncs = 0
        self._news = asyncio.Event()

    async def run(self) -> None:
        while True:
            events = await self.poll()
            now = time.perf_counter()
            self.syncs += 1
            for event in events:
                self.seen.setdefault(event["event_id"], now)
            self._news.set()

    async def poll(self) -> list[dict]:
        """One long-poll from ``since``: the timeline events it returned."""
        found = await self.client.request(
            "GET",
            "/_matrix/client/v3/sync",
            params={"since": self.since, "timeout": "30000", "filter": SYNC_FILTER},
            token=self.token,
        )
        self.since = found["next_batch"]
        rooms = found.get("rooms", {}).get("join", {}).values()
        return [e for room in rooms for e in room.get("timeline", {}).get("events", [])]

    async def until_seen(self, wanted: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not wanted <= self.seen.keys():
            self._news.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._news.wait(), left)
            except TimeoutError:
                return False
        return True


class SlidingWatcher(SyncWatcher):
    """One account's Simplified Sliding Sync loop (Element X's room list), ``since``
    being its connection's ``pos``."""

    async def poll(self) -> list[dict]:
        found = await self.client.request(
            "POST",
            SLIDING_PATH,
            SLIDING_BODY,
            params={"pos": self.since, "timeout": "30000"},
            token=self.token,
        )
        self.since = found["pos"]
        return [e for room in found.get("rooms", {}).values() for e in room.get("timeline", [])]


async def sliding_token(client: MatrixClient, token: str | None = None) -> str:
    """A new sliding sync connection's first answer (no ``pos``, no wait): its ``pos``."""
    found = await client.request(
        "POST", SLIDING_PATH, SLIDING_BODY, params={"timeout": "0"}, token=token
    )
    return found["pos"]


async def sync_token(client: MatrixClient, token: str | None = None) -> str:
    found = await client.request(
        "GET",
        "/_matrix/client/v3/sync",
        params={"timeout": "0", "filter": TOKEN_FILTER},
        token=token,
    )
    return found["next_batch"]


@dataclass
class Phase:
    """One timed send (the directive, or the raw loop) as the observer saw it."""

    events: int
    send_s: float  # start to the last send answered
    sync_s: float | None  # start to the observer's sync having every event; None: timed out
    lag_ms: float  # median, send answered to returned by sync
    cpu: dict[str, float] = field(default_factory=dict)  # kind -> CPU seconds

    @property
    def rate(self) -> float:
        return self.events / self.send_s

    def ms(self, kind: str | None = None) -> float:
        spent = self.cpu.get(kind, 0.0) if kind else sum(self.cpu.values())
        return 1000 * spent / max(self.events, 1)


def cpu_sample(hs: Homeserver) -> dict[str, dict[int, float]]:
    """CPU seconds per process, grouped by kind."""
    found = CpuMeter(hs).sample()
    out: dict[str, dict[int, float]] = {k: {} for k in KINDS}
    for pid, spent in found["synapse"].items():
        out[hs.kinds.get(pid, "main")][pid] = spent
    out["postgres"] = found["postgres"]
    if nginx := hs.extra.get("nginx"):  # the master and its workers (who do the work)
        children = Path(f"/proc/{nginx}/task/{nginx}/children")
        pids = [nginx, *map(int, children.read_text().split())] if children.exists() else []
        out["nginx"] = {pid: proc_cpu(pid) for pid in pids}
    return out


async def timed(
    hs: Homeserver,
    watcher: SyncWatcher,
    recorder: Recorder,
    send: Callable[[], Awaitable[object]],
    timeout: float,
) -> Phase:
    """``send()`` while the observer syncs: until its sync has returned every event."""
    before, started = cpu_sample(hs), time.perf_counter()
    await send()
    sent = recorder.sent
    send_s = max(sent.values()) - started
    complete = await watcher.until_seen(set(sent), timeout)
    after = cpu_sample(hs)
    if not complete:
        await report_missing(watcher, recorder)
    seen = [watcher.seen[e] for e in sent if e in watcher.seen]
    lags = [1000 * (watcher.seen[e] - t) for e, t in sent.items() if e in watcher.seen]
    return Phase(
        len(sent),
        send_s,
        max(seen) - started if complete else None,
        median(lags) if lags else float("nan"),
        CpuMeter.spent(before, after),
    )


async def report_missing(watcher: SyncWatcher, recorder: Recorder) -> None:
    """Which events the observer's sync never returned, and whether it can read them."""
    missing = [e for e in recorder.sent if e not in watcher.seen]
    room_id = recorder.room_of[missing[0]]
    try:
        await watcher.client.request(
            "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/event/{q(missing[0])}"
        )
        readable = "readable by the observer"
    except MatrixError as exc:
        readable = f"not readable by the observer ({exc})"
    print(
        f"  sync never returned {len(missing)} of {len(recorder.sent)} events "
        f"({watcher.syncs} syncs); {missing[0]} in {room_id}: {readable}",
        flush=True,
    )


async def accounts_for(hs: Homeserver, admin: MatrixClient) -> tuple[MatrixClient, MatrixClient]:
    """The bot's client (its service account's login) and the observer's, an ordinary
    account (no password database: its token from the admin API), without rate limits."""
    bot_user = f"@{Config().bot.localpart}:{hs.server_name}"
    observer_user = f"@quansat:{hs.server_name}"
    await admin.put_user(bot_user, {"displayname": Config().bot.display_name})  # if missing
    await admin.put_user(observer_user, {"displayname": "Người quan sát"})
    found = await admin.request("POST", f"/_synapse/admin/v1/users/{q(observer_user)}/login", {})
    session = await asyncio.to_thread(
        accounts.login, hs.url, Config().bot.localpart, hs.bot_password
    )
    # the admin's too: Synapse asks for the override of the token's owner (a puppet
    # token's is the admin)
    for user in (bot_user, observer_user, await admin.whoami()):
        await admin.lift_rate_limits(user)
    return MatrixClient(hs.url, session.access_token), MatrixClient(hs.url, found["access_token"])


@dataclass
class Fanout:
    """Events sent one at a time into one room of ``members`` accounts, every one of them
    syncing, each event only after every member's sync has returned the one before."""

    members: int
    events: int
    synced_ms: float  # median, send answered to the last member's sync returning it
    cpu: dict[str, float]
    client: str = "sync2"  # what the members long-poll: a key of CLIENTS

    def ms(self, kind: str | None = None) -> float:
        spent = self.cpu.get(kind, 0.0) if kind else sum(self.cpu.values())
        return 1000 * spent / max(self.events, 1)


async def members_room(
    hs: Homeserver,
    admin: MatrixClient,
    observer: MatrixClient,
    bot: MatrixClient,
    args,
    prefix: str = "thanhvien",
) -> tuple[str, list[str]]:
    """A room like a role group: --members accounts (``prefix``0, 1, …) and the bot
    joined; their tokens: the admin API's (no device) for ``thanhvien``, registration's
    (with a device) otherwise."""
    users = [f"@{prefix}{i}:{hs.server_name}" for i in range(args.members)]
    sem = asyncio.Semaphore(args.concurrency)

    async def account(user: str) -> str:
        async with sem:
            if prefix != "thanhvien":
                return await device_token(hs, user)
            await admin.put_user(user, {"displayname": f"Giáo viên {user[10:15]}"})
            path = f"/_synapse/admin/v1/users/{q(user)}/login"
            return (await admin.request("POST", path, {}))["access_token"]

    tokens = await asyncio.gather(*(account(u) for u in users))
    bot_user = await bot.whoami()
    room_id = await observer.create_room(
        {
            "preset": "private_chat",
            "name": "fan-out",
            "power_level_content_override": {"users": {bot_user: 100}},
            "invite": [bot_user, *users],
        }
    )

    async def join(token: str | None) -> None:
        async with sem:
            path = f"/_matrix/client/v3/join/{q(room_id)}"
            await observer.request("POST", path, {}, token=token or bot.token)

    await asyncio.gather(*(join(t) for t in [None, *tokens]))
    return room_id, tokens


async def device_token(hs: Homeserver, user: str) -> str:
    """``user`` registered with the shared secret: a token with a device (the admin API's
    login gives none, and sliding sync's connections are per device; passwords are not
    Synapse's here, so no password login)."""
    session = await asyncio.to_thread(
        accounts.register,
        hs.url,
        hs.extra["shared_secret"],
        user[1:].split(":")[0],
        secrets.token_urlsafe(12),
        displayname="Giáo viên",
    )
    return session.access_token


async def measure_fanout(
    hs: Homeserver,
    clients: tuple[MatrixClient, MatrixClient, MatrixClient],
    content: dict,
    args,
    client: str = "sync2",
) -> Fanout:
    """--fanout-events events into a room of --members members, all long-polling
    ``client`` (/sync v2, or sliding sync: fresh accounts of their own)."""
    admin, observer, bot = clients
    prefix = "thanhvien" if client == "sync2" else f"thanhvien{client}"
    room_id, tokens = await members_room(hs, admin, observer, bot, args, prefix)
    pool = [MatrixClient(hs.url, "") for _ in range(0, len(tokens), 50)]  # ≤ 64 connections
    sem = asyncio.Semaphore(args.concurrency)
    kind, first = (
        (SyncWatcher, sync_token) if client == "sync2" else (SlidingWatcher, sliding_token)
    )

    async def watcher(i: int, token: str) -> SyncWatcher:
        async with sem:
            return kind(pool[i // 50], await first(pool[i // 50], token), token)

    watchers = await asyncio.gather(*(watcher(i, t) for i, t in enumerate(tokens)))
    loops = [asyncio.create_task(w.run()) for w in watchers]
    try:
        await wait_idle(hs)
        recorder, stamp, lags = Recorder(bot), time.monotonic_ns(), []
        before = cpu_sample(hs)
        for n in range(args.fanout_events):
            event_id = await recorder.send_event(room_id, content, f"fan.{stamp}.{n}")
            waits = (w.until_seen({event_id}, args.sync_timeout) for w in watchers)
            if not all(await asyncio.gather(*waits)):
                raise RuntimeError(f"fan-out: {event_id} not in every member's sync")
            last = max(w.seen[event_id] for w in watchers)
            lags.append(1000 * (last - recorder.sent[event_id]))
        after = cpu_sample(hs)
    finally:
        for loop in loops:
            loop.cancel()
        for connection in pool:
            await connection.close()
    spent = CpuMeter.spent(before, after)
    return Fanout(len(tokens), len(lags), median(lags), spent, client)


@dataclass
class Result:
    label: str
    ours: Phase
    raw: Phase
    plan_s: float  # of ours.send_s, planning again and storing
    client_ms: float  # our process's CPU per event while the worker drained (sync loop too)
    fanouts: list[Fanout] = field(default_factory=list)  # one per --client measured

    @property
    def fanout(self) -> Fanout | None:
        return self.fanouts[0] if self.fanouts else None

    def per_member(self, kind: str | None = None, fanout: Fanout | None = None) -> float:
        """ms CPU a recipient adds to an event: its push actions and its sync's answer
        (``fanout``'s, by default the first measured)."""
        if not (f := fanout or self.fanout):
            return 0.0
        return (f.ms(kind) - self.raw.ms(kind)) / f.members


async def measure(hs: Homeserver, city: City, selection: Selection, found: Preview, args):
    admin = MatrixClient(hs.url, hs.admin_token)
    bot, observer = await accounts_for(hs, admin)
    bot_user = f"@{Config().bot.localpart}:{hs.server_name}"
    loop = None
    try:
        started = time.perf_counter()
        rooms: Rooms = await prepare_rooms(
            observer, city, found, args.concurrency, bot_user=bot_user, bot=bot, raw=args.raw_rooms
        )
        print(
            f"  {len(rooms.ids)} + {len(rooms.raw)} rooms made in "
            f"{time.perf_counter() - started:.0f} s (untimed)",
            flush=True,
        )
        # one sync loop for both phases, from a token taken before either: a second
        # token's initial sync would be Synapse's cached answer to the first (2 minutes)
        watcher = SyncWatcher(observer, await sync_token(observer))
        loop = asyncio.create_task(watcher.run())
        await wait_idle(hs)
        ours_rec, done = Recorder(bot), {}
        ready = await ready_worker(city, ours_rec, rooms, args.concurrency)

        async def directive() -> None:
            done["d"] = await confirm_and_drain(city, *ready, selection)

        ours = await timed(hs, watcher, ours_rec, directive, args.sync_timeout)
        await wait_idle(hs)
        raw_rec = Recorder(bot)
        n, content = len(rooms.raw), done["d"].content
        raw = await timed(
            hs,
            watcher,
            raw_rec,
            lambda: raw_rate(raw_rec, rooms.raw, n, args.concurrency, content),
            args.sync_timeout,
        )
        if done["d"].events != ours.events:
            print(f"  the worker counted {done['d'].events} events, the sends {ours.events}")
        loop.cancel()
        fanouts = []
        for client in clients_of(args) if args.members else ():
            await wait_idle(hs)
            fanouts.append(await measure_fanout(hs, (admin, observer, bot), content, args, client))
        return Result(hs.label, ours, raw, done["d"].stored, done["d"].cpu_ms, fanouts)
    finally:
        if loop:
            loop.cancel()
        for client in (admin, bot, observer):
            await client.close()


def clients_of(args) -> list[str]:
    """--client's clients, in the order measured."""
    return ["sync2", "sliding"] if args.client == "both" else [args.client]


def print_row(r: Result) -> None:
    def sync(p: Phase) -> str:
        return f"{p.sync_s:>7.2f}" if p.sync_s is not None else f"{'>timeout':>7}"

    o, w = r.ours, r.raw
    print(
        f"{r.label:24} {o.events:>6} {o.send_s:>7.2f} {o.rate:>7.1f} {sync(o)} "
        f"{o.lag_ms:>7.0f} {o.ms():>8.1f} {w.events:>5} {w.rate:>7.1f} {sync(w)} "
        f"{w.ms():>8.1f}",
        flush=True,
    )
    split = ", ".join(f"{k} {o.ms(k):.1f}" for k in KINDS if o.cpu.get(k))
    raw_split = ", ".join(f"{k} {w.ms(k):.1f}" for k in KINDS if w.cpu.get(k))
    print(
        f"{'':24} (ms CPU/event, ours: {split}; raw: {raw_split}; of ours' send s, "
        f"{r.plan_s:.2f} planning again and storing; the bot's process: "
        f"{r.client_ms:.1f} ms CPU/event)"
    )
    for f in r.fanouts:
        syncing = "all syncing" if f.client == "sync2" else f"all on {CLIENTS[f.client]}"
        print(
            f"{'':24} (fan-out: {f.events} events one at a time into a room of {f.members} "
            f"members, {syncing}: {f.ms():.1f} ms CPU/event, every member's sync had it "
            f"{f.synced_ms:.0f} ms (median) after its send; ({f.ms():.1f} − {w.ms():.1f}) ÷ "
            f"{f.members} = {r.per_member(fanout=f):.2f} ms per recipient; by kind: "
            + ", ".join(f"{k} {r.per_member(k, f):.2f}" for k in KINDS if f.cpu.get(k))
            + ")"
        )


def print_arithmetic(results: list[Result], events: int, people: int, args) -> None:
    """The directive's time on a machine of --cores cores, from CPU per event (and per
    recipient, when the fan-out was measured)."""
    cores, goal = args.cores, args.goal
    workers = [r for r in results if r.label.startswith("workers")]
    if workers:
        print(
            f"\nThe worker profile on {cores} cores, assuming the work spreads over enough "
            f"processes (event persisters shard by room; this directive goes to {events} "
            f"rooms) and PostgreSQL on the same machine: rate ≈ {cores} × 1000 / ms CPU per "
            f"event (all Synapse processes, PostgreSQL, nginx), time = events ÷ rate."
        )
    for r in workers:
        for name, phase in (("ours", r.ours), ("raw", r.raw)):
            rate = cores * 1000 / phase.ms()
            print(
                f"  {r.label:24} {name:4}: {events} events ÷ ({cores} × 1000 / "
                f"{phase.ms():.1f} ms = {rate:.0f} ev/s) = {events / rate:.1f} s "
                f"(goal {goal:g} s)"
            )
        for f in r.fanouts:
            total = events * r.ours.ms() + people * r.per_member(fanout=f)
            print(
                f"  {'':24} with the recipients{on_client(f)} (rooms here hold only the "
                f"observer and the bot): ({events} × {r.ours.ms():.1f} + {people} × "
                f"{r.per_member(fanout=f):.2f}) ms ÷ {cores} cores = "
                f"{total / cores / 1000:.1f} s (goal {goal:g} s)"
            )
    single = [r for r in results if not r.label.startswith("workers")]
    if single:
        print(
            "\nOne Synapse process uses about one core whatever the machine (PostgreSQL's "
            "backends beside it): rate ≈ 1000 / ms CPU of that process per event."
        )
    for r in single:
        for name, phase in (("ours", r.ours), ("raw", r.raw)):
            rate = 1000 / phase.ms("main")
            print(
                f"  {r.label:24} {name:4}: {events} events ÷ (1000 / {phase.ms('main'):.1f} ms "
                f"= {rate:.0f} ev/s) = {events / rate:.1f} s (goal {goal:g} s)"
            )
        for f in r.fanouts:
            total = events * r.ours.ms("main") + people * r.per_member("main", f)
            print(
                f"  {'':24} with the recipients{on_client(f)}: ({events} × "
                f"{r.ours.ms('main'):.1f} + {people} × {r.per_member('main', f):.2f}) ms "
                f"÷ 1 core = {total / 1000:.1f} s"
            )


def on_client(f: Fanout) -> str:
    """How the recipients sync, when not /sync v2 (the default's lines unchanged)."""
    return "" if f.client == "sync2" else f" on {CLIENTS[f.client]}"


def print_clients(results: list[Result], people: int, cores: int) -> None:
    """--client both: each configuration's ms per recipient, side by side, and what the
    recipients alone cost on --cores cores (all processes' CPU, spread perfectly)."""
    if not any(len(r.fanouts) > 1 for r in results):
        return
    print(
        f"\nThe recipients' share by client: ms CPU per recipient (all processes), and "
        f"{people} recipients × that ÷ {cores} cores (one process cannot spread: for a "
        f"single process, the figure says what its work would take if it could)."
    )
    for r in results:
        cells = [
            f"{CLIENTS[f.client]} {r.per_member(fanout=f):.2f} ms → "
            f"{people * r.per_member(fanout=f) / cores / 1000:.1f} s"
            for f in r.fanouts
        ]
        print(f"  {r.label:24} " + "; ".join(cells))


async def plan(args, scratch: Path) -> tuple[City, Selection, Preview]:
    """The city loaded and the directive planned once, as the Giám đốc previews it."""
    city = load_city(args.preset, scratch)
    if args.level:
        label = f"every {args.level} teacher"
        selection = Selection(levels=[args.level], roles=["teacher"])
    else:
        label, selection = "every teacher", Selection(everyone=True, roles=["teacher"])
    snapshot = city.snapshot({})
    started = time.perf_counter()
    found = await preview(snapshot, city.asker(snapshot), selection)
    print(
        f"preset {args.preset}, {label}: {len(found.people)} people, "
        f"{len(found.plan.rooms)} group rooms + {len(found.plan.inboxes)} inboxes "
        f"(planned in {time.perf_counter() - started:.2f} s)",
        flush=True,
    )
    return city, selection, found


HEADER = (
    f"{'homeserver':24} {'events':>6} {'send s':>7} {'ev/s':>7} {'sync s':>7} "
    f"{'lag ms':>7} {'ms/event':>8} {'raw':>5} {'raw ev/s':>7} {'sync s':>7} {'ms/event':>8}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--level", help="one cấp học's teachers (e.g. THPT), not every teacher")
    parser.add_argument("--configs", default="sqlite,w1,w2", help="of sqlite, postgres, w1, w2, w4")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--raw-rooms", type=int, default=300)
    parser.add_argument(
        "--members",
        type=int,
        default=125,
        help="the fan-out room's members, all syncing (default: a role group's mean, "
        "117,260 ÷ 940); 0: no fan-out",
    )
    parser.add_argument("--fanout-events", type=int, default=10)
    parser.add_argument(
        "--client",
        choices=("sync2", "sliding", "both"),
        default="sync2",
        help="what the fan-out's members long-poll: /sync v2, Simplified Sliding Sync "
        "(MSC4186, Element X's room list), or both one after the other",
    )
    parser.add_argument("--generic-workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=16, help="the machine to predict")
    parser.add_argument("--goal", type=float, default=10.0, help="seconds")
    parser.add_argument("--sync-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--postgres-url",
        default=default_postgres(),
        help="the PostgreSQL server for postgres and w<n> (databases are made and dropped); "
        "default: DIEUHANH_TEST_POSTGRES_URL's server",
    )
    parser.add_argument("--redis", default="127.0.0.1:6379")
    args = parser.parse_args()
    asyncio.run(run(args))


async def run(args) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-citydir-"))
    city, selection, found = await plan(args, scratch)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"concurrency {args.concurrency}, {os.cpu_count()} CPUs here, load average {load}")
    print(
        "send s: confirmed → last send answered; sync s: confirmed → the observer's sync "
        "has every event; lag ms: median, send answered → in that sync; ms/event: CPU of "
        "Synapse, PostgreSQL and nginx until then\n"
    )
    results = []
    try:
        for name in args.configs.split(","):
            (scratch / name).mkdir()
            with homeserver(name, scratch / name, args) as hs:
                print(f"{hs.label}:", flush=True)
                results.append(await measure(hs, city, selection, found, args))
            print(HEADER)
            print_row(results[-1])
    finally:
        city.engine.dispose()
    if len(results) > 1:
        print(f"\n{HEADER}")
        for r in results:
            print_row(r)
    events = len(found.plan.rooms) + len(found.plan.inboxes)
    print_arithmetic(results, events, len(found.people), args)
    print_clients(results, len(found.people), args.cores)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average now {load}; scratch: {scratch}")


if __name__ == "__main__":
    main()
