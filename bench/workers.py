"""Benchmark: the same directory applied, and the same segment directive sent, on Synapse
single-process on SQLite, single-process on PostgreSQL, and the worker profile with 1, 2
and 4 event persisters — in one run.

For each configuration, on a fresh homeserver (and fresh databases):

1. apply the preset's directory (imported once, copied for each run): operations/s and
   joins/s of the JOINS phase (first to last join), with the CPU seconds Synapse (all its
   processes) and PostgreSQL (the backends of Synapse's database) spent meanwhile;
2. a segment directive — every teacher of one cấp học, from the Giám đốc — delivered by
   the bot's real delivery worker through the homeserver's front (nginx for workers):
   events/s and CPU per event;
3. the raw rates on the same homeserver: admin force-joins of existing accounts into
   fresh rooms, and a bare send loop of the directive's content into the same rooms, at
   the same concurrency; with CPU per event.

Each phase after the apply starts from an idle Synapse (under 10 % of a CPU for 2 s).

CPU per event predicts a bigger machine: with C cores and the work spread over enough
processes, events/s ≈ C × 1000 / (ms of CPU per event). Event persisters shard by room:
a segment directive goes to many rooms, so it spreads; one hot room does not.

    .venv/bin/python bench/workers.py --preset mini --level THCS       # a quick check
    .venv/bin/python bench/workers.py                                  # the district (long)
    .venv/bin/python bench/workers.py --configs sqlite,w2              # some of them
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLOCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Homeserver:
    label: str
    url: str
    server_name: str
    admin_token: str
    bot_password: str
    pids: list[int]
    synapse_db: str | None  # PostgreSQL database name, for its backends' CPU
    postgres_url: str | None = None
    extra: dict = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)  # pid -> main | persister | worker


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU spent by the homeserver's processes and its PostgreSQL backends."""

    def __init__(self, hs: Homeserver) -> None:
        self.hs = hs

    def _backends(self) -> list[int]:
        if not self.hs.synapse_db:
            return []
        import psycopg

        with psycopg.connect(self.hs.postgres_url + "/postgres", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.hs.synapse_db,)
            )
            return [r[0] for r in rows]

    def sample(self) -> dict[str, dict[int, float]]:
        return {
            "synapse": {p: proc_cpu(p) for p in self.hs.pids},
            "postgres": {p: proc_cpu(p) for p in self._backends()},
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        return {k: sum(v - before[k].get(p, 0.0) for p, v in after[k].items()) for k in after}


# --- homeservers -------------------------------------------------------------------------


@contextlib.contextmanager
def single_process(scratch: Path, database: str, postgres_url: str) -> Iterator[Homeserver]:
    """Synapse as `dieuhanh up` runs it, on SQLite or on a fresh PostgreSQL database."""
    from dieuhanh.embedded import accounts
    from dieuhanh.embedded.datadir import ADMIN_LOCALPART, init_data_dir
    from dieuhanh.embedded.ports import free_port
    from dieuhanh.embedded.synapse import (
        start_synapse,
        stop_process,
        wait_for_background_updates,
        wait_until_ready,
    )

    setup = init_data_dir(scratch / "embedded", free_port())
    (setup.synapse.conf_d / "bench.yaml").write_text("bcrypt_rounds: 4\n")
    db_name = None
    if database == "postgresql":
        db_name = f"bench_w_{uuid.uuid4().hex[:8]}"
        _create_synapse_db(postgres_url, db_name)
        args = _pg_args(postgres_url, db_name)
        (setup.synapse.conf_d / "database.yaml").write_text(
            json.dumps({"database": {"name": "psycopg2", "args": args}})
        )
    log = (scratch / "synapse.out").open("wb")
    process = start_synapse(setup.synapse, log)
    try:
        wait_until_ready(setup.synapse, timeout=180, exited=process.poll)
        admin = accounts.ensure_account(
            setup.synapse.base_url,
            setup.config.homeserver.registration_shared_secret,
            ADMIN_LOCALPART,
            setup.data.admin_password_path.read_text().strip(),
            admin=True,
        )
        wait_for_background_updates(setup.synapse)
        yield Homeserver(
            f"1 process, {'SQLite' if db_name is None else 'PostgreSQL'}",
            setup.synapse.base_url,
            setup.config.homeserver.server_name,
            admin.access_token,
            setup.config.bot.password,
            [process.pid],
            db_name,
            postgres_url,
            extra={"shared_secret": setup.config.homeserver.registration_shared_secret},
            kinds={process.pid: "main"},
        )
    finally:
        stop_process(process)
        log.close()
        if db_name:
            _drop(postgres_url, db_name)


@contextlib.contextmanager
def worker_profile(
    scratch: Path,
    persisters: int,
    generic: int,
    postgres_url: str,
    redis_host: str,
    background: bool = True,
) -> Iterator[Homeserver]:
    """`dieuhanh deploy run --synapse-only`: Synapse with workers and nginx;
    ``background=False``: without the background worker (main does that work)."""
    suffix = uuid.uuid4().hex[:8]
    root = scratch / "profile"
    names = (f"bench_ws_{suffix}", f"bench_wd_{suffix}")
    argv = [
        sys.executable, "-m", "dieuhanh", "deploy", "run", str(root),
        "--postgres-url", postgres_url,
        "--server-name", f"bench{suffix}.test",
        "--redis-url", f"redis://{redis_host}/{1 + secrets.randbelow(15)}",
        "--event-persisters", str(persisters),
        "--generic-workers", str(generic),
        "--background-worker" if background else "--no-background-worker",
        "--synapse-db", names[0],
        "--directory-db", names[1],
        "--synapse-only",
    ]  # fmt: skip
    out = (scratch / "deploy-run.log").open("wb")
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        info = _wait_ready(root / "ready.json", process, scratch / "deploy-run.log")
        label = f"workers, {persisters} persister{'s' if persisters > 1 else ''}" + (
            "" if background else ", no bg"
        )
        yield _profile_homeserver(label, info, root / "etc" / "secrets", names[0], postgres_url)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(120)
        out.close()
        for name in names:
            _drop(postgres_url, name)


def _wait_ready(ready: Path, process: subprocess.Popen, log: Path) -> dict:
    """What `dieuhanh deploy run` wrote once ready (its log's tail if it never was)."""
    deadline = time.monotonic() + 400
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-4000:])
        time.sleep(0.5)
    return json.loads(ready.read_text())


def _profile_homeserver(
    label: str, info: dict, secret: Path, database: str, postgres_url: str
) -> Homeserver:
    synapse = {pid: name for name, pid in info["pids"].items() if name.startswith("synapse")}
    return Homeserver(
        label,
        info["url"],
        info["server_name"],
        (secret / "admin_token").read_text().strip(),
        (secret / "bot_password").read_text().strip(),
        list(synapse),
        database,
        postgres_url,
        {
            "nginx": info["pids"].get("nginx"),
            "shared_secret": (secret / "registration_shared_secret").read_text().strip(),
            "names": {pid: name.removeprefix("synapse-") for pid, name in synapse.items()},
        },
        {pid: _kind(name) for pid, name in synapse.items()},
    )


def _kind(child: str) -> str:
    """A Synapse child's kind from its supervisor name (``synapse-event_persister1``)."""
    role = child.removeprefix("synapse-").rstrip("0123456789")
    return {"main": "main", "event_persister": "persister"}.get(role, "worker")


def worker_config(name: str) -> tuple[int, bool] | None:
    """``w<persisters>`` (with the background worker) or ``w<persisters>-nobg`` (without:
    the main process does Synapse's background work): (persisters, background)."""
    base, _, suffix = name.partition("-")
    if not (base.startswith("w") and base[1:].isdigit()) or suffix not in ("", "nobg"):
        return None
    return int(base[1:]), suffix != "nobg"


@contextlib.contextmanager
def homeserver(name: str, folder: Path, args) -> Iterator[Homeserver]:
    """The configuration ``name`` (sqlite, postgres, w<persisters>[-nobg]), freshly
    started; ``args`` gives postgres_url, generic_workers and redis."""
    workers = worker_config(name)
    if name in ("sqlite", "postgres"):
        database = "postgresql" if name == "postgres" else "sqlite"
        context = single_process(folder, database, args.postgres_url)
    elif workers:
        persisters, background = workers
        context = worker_profile(
            folder, persisters, args.generic_workers, args.postgres_url, args.redis, background
        )
    else:
        raise SystemExit(
            f"unknown configuration {name!r}: sqlite, postgres or w<persisters>[-nobg]"
        )
    with context as hs:
        yield hs


def _pg_args(url: str, name: str) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    args = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "database": name,
        "cp_min": 5,
        "cp_max": 10,
    }
    if parts.password:
        args["password"] = parts.password
    return args


def _create_synapse_db(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url + "/postgres", autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )


def _drop(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the measurements --------------------------------------------------------------------


def prepare_directory(scratch: Path, preset: str) -> Path:
    """The preset imported once into a SQLite template; each run gets a copy."""
    from dieuhanh.db import open_database
    from provisioning.demo import write_demo
    from provisioning.importer import import_paths

    template = scratch / "directory-template.db"
    engine = open_database(f"sqlite:///{template}")
    import_paths(engine, write_demo(scratch / "demo", preset))
    engine.dispose()
    return template


def service_config(hs: Homeserver, db_path: Path):
    from dieuhanh.config import Config

    config = Config()
    config.homeserver.url = hs.url
    config.homeserver.server_name = hs.server_name
    config.homeserver.admin_token = hs.admin_token
    config.bot.password = hs.bot_password
    config.database.url = f"sqlite:///{db_path}"
    return config


async def wait_idle(hs: Homeserver, limit: float = 0.1, timeout: float = 300) -> None:
    """Until Synapse's processes use under ``limit`` of a CPU for 2 s: after an apply it
    keeps working for minutes, which would slow the next measurement down."""
    meter = CpuMeter(hs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = meter.sample()
        await asyncio.sleep(2)
        if CpuMeter.spent(before, meter.sample())["synapse"] / 2 < limit:
            return


async def measure_apply(hs: Homeserver, config, engine, concurrency: int) -> dict:
    from provisioning.matrix.apply import apply

    done: list[tuple[str, float]] = []

    def progress(_plan):
        return lambda op: done.append((op.kind.value, time.perf_counter()))

    meter = CpuMeter(hs)
    before, started = meter.sample(), time.perf_counter()
    result = await apply(engine, config, concurrency=concurrency, progress=progress)
    seconds = time.perf_counter() - started
    cpu = CpuMeter.spent(before, meter.sample())
    joins = [t for kind, t in done if kind == "join"]
    join_seconds = (joins[-1] - joins[0]) if len(joins) > 1 else float("nan")
    return {
        "by_process": by_process(hs, before, meter.sample(), len(done)),
        "ops": len(done),
        "failures": len(result.failures),
        "ops_s": len(done) / seconds,
        "joins": len(joins),
        "joins_s": len(joins) / join_seconds if join_seconds else float("nan"),
        "cpu_ms_op": 1000 * sum(cpu.values()) / max(len(done), 1),
    }


def by_process(hs: Homeserver, before: dict, after: dict, ops: int) -> dict[str, float]:
    """ms of CPU per operation in each Synapse process (PostgreSQL's backends summed).

    Each Synapse process runs its Python on one core, so with a core each the busiest
    process caps the rate at 1000 / its ms per operation: whether adding persisters can
    raise joins/s depends on which process that is."""
    names = hs.extra.get("names") or {pid: "main" for pid in hs.pids}
    found = {
        names.get(pid, str(pid)): 1000 * (cpu - before["synapse"].get(pid, 0.0)) / max(ops, 1)
        for pid, cpu in after["synapse"].items()
    }
    postgres = CpuMeter.spent(before, after).get("postgres", 0.0)
    if postgres:
        found["PostgreSQL"] = 1000 * postgres / max(ops, 1)
    return found


async def measure_directive(hs: Homeserver, config, engine, level: str, concurrency: int) -> dict:
    """A segment directive through the bot's delivery worker, then a bare send loop."""
    from bot.directives.audience import Selection
    from bot.directives.compose import preview, save
    from bot.directives.worker import DeliveryWorker
    from bot.directory import DirectoryCache
    from dieuhanh.embedded import accounts
    from provisioning.matrix.client import MatrixClient

    session = accounts.login(hs.url, config.bot.localpart, config.bot.password)
    bot = MatrixClient(hs.url, session.access_token)
    cache = DirectoryCache(engine)
    snapshot = await cache.get()
    director = _director(snapshot)
    asker = snapshot.asker(snapshot.user_of[director.id])
    selection = Selection(levels=[level], roles=["teacher"])
    found = await preview(snapshot, asker, selection)
    await save(engine, snapshot, asker, selection, found,
               body="Kính gửi quý thầy cô: lịch kiểm tra.",
               html=None, attachments=[], origin_room_id=None)  # fmt: skip
    transport = _Transport(bot, engine, snapshot, session.user_id, hs.server_name)
    worker = DeliveryWorker(engine, cache, transport, concurrency=concurrency)
    meter = CpuMeter(hs)
    before, started = meter.sample(), time.perf_counter()
    await worker.drain()
    seconds = time.perf_counter() - started
    cpu = CpuMeter.spent(before, meter.sample())
    events = max(worker.stats.events, 1)
    rooms = sorted(transport.rooms)
    await wait_idle(hs)
    raw = await raw_sends(hs, bot, rooms, max(events, 200), concurrency, transport.content)
    await bot.close()
    return {
        "people": len(found.people),
        "events": worker.stats.events,
        "events_s": worker.stats.events / seconds,
        "cpu_ms_event": 1000 * sum(cpu.values()) / events,
        "cpu_split": {k: 1000 * v / events for k, v in cpu.items()},
        **raw,
    }


def _director(snapshot):
    from provisioning.vocab import Position, UnitKind

    view = snapshot.view
    return next(
        p
        for p in view.people.values()
        for u, pos in p.positions
        if view.units[u].kind is UnitKind.DEPARTMENT and pos is Position.DIRECTOR
    )


class _Transport:
    """The delivery worker's Matrix side: the bot's own token, inboxes made on demand."""

    def __init__(self, bot, engine, snapshot, bot_user_id: str, server_name: str) -> None:
        self.bot, self.engine, self.snapshot = bot, engine, snapshot
        self.bot_user_id, self.server_name = bot_user_id, server_name
        self.rooms: set[str] = set()
        self.content: dict = {"msgtype": "m.text", "body": "raw"}

    async def send(self, room_id, content, txn_id):
        self.rooms.add(room_id)
        self.content = content
        return await self.bot.send_event(room_id, content, txn_id)

    async def inbox(self, person_id):
        from provisioning.matrix.inbox import ensure_inbox

        person = self.snapshot.view.people[person_id]
        primary = self.snapshot.primary(person)
        return await ensure_inbox(
            self.bot,
            self.engine,
            person_code=person.code,
            full_name=person.full_name,
            unit_code=primary[1].code if primary else "",
            user_id=self.snapshot.user_of[person_id],
            bot_user_id=self.bot_user_id,
            server_name=self.server_name,
        )

    async def reupload(self, attachment):
        return attachment


async def raw_sends(hs, bot, rooms, events, concurrency, content) -> dict:
    sem = asyncio.Semaphore(concurrency)
    stamp = time.monotonic_ns()

    async def one(i: int) -> None:
        async with sem:
            await bot.send_event(rooms[i % len(rooms)], content, f"raw.{stamp}.{i}")

    meter = CpuMeter(hs)
    before, started = meter.sample(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(events)))
    seconds = time.perf_counter() - started
    cpu = CpuMeter.spent(before, meter.sample())
    return {"raw_events_s": events / seconds, "raw_cpu_ms_event": 1000 * sum(cpu.values()) / events}


async def raw_joins(hs: Homeserver, engine, rooms: int, joins: int, concurrency: int) -> dict:
    """Admin force-joins of existing accounts into fresh rooms (one queue per room)."""
    from provisioning.matrix.client import MatrixClient
    from provisioning.matrix.mirror import load_mirror

    users = [a.user_id for a in load_mirror(engine).accounts.values() if a.created][:joins]
    admin = MatrixClient(hs.url, hs.admin_token)
    sem = asyncio.Semaphore(concurrency)

    async def create(i: int) -> str:
        async with sem:
            return await admin.create_room({"preset": "private_chat", "name": f"raw {i}"})

    room_ids = await asyncio.gather(*(create(i) for i in range(rooms)))
    queues = [users[i :: len(room_ids)] for i in range(len(room_ids))]

    async def drain(room_id: str, queue: list[str]) -> None:
        for user_id in queue:
            async with sem:
                await admin.force_join(room_id, user_id)

    meter = CpuMeter(hs)
    before, started = meter.sample(), time.perf_counter()
    await asyncio.gather(*(drain(r, q) for r, q in zip(room_ids, queues, strict=True)))
    seconds = time.perf_counter() - started
    cpu = CpuMeter.spent(before, meter.sample())
    await admin.close()
    return {
        "raw_joins_s": len(users) / seconds,
        "raw_cpu_ms_join": 1000 * sum(cpu.values()) / len(users),
    }


async def measure(hs: Homeserver, template: Path, scratch: Path, args) -> dict:
    from dieuhanh.db import open_database

    db_path = scratch / "directory.db"
    shutil.copy(template, db_path)
    engine = open_database(f"sqlite:///{db_path}")
    try:
        config = service_config(hs, db_path)
        applied = await measure_apply(hs, config, engine, args.concurrency)
        await wait_idle(hs)
        sent = await measure_directive(hs, config, engine, args.level, args.concurrency)
        await wait_idle(hs)
        joined = await raw_joins(hs, engine, args.raw_rooms, args.raw_joins, args.concurrency)
    finally:
        engine.dispose()
    return {"apply": applied, "directive": sent, "raw": joined}


def print_row(label: str, r: dict, cores: int) -> None:
    a, d, j = r["apply"], r["directive"], r["raw"]
    print(
        f"{label:24} {a['ops']:>6} {a['ops_s']:>7.1f} {a['joins_s']:>8.1f} "
        f"{j['raw_joins_s']:>9.1f} "
        f"{a['cpu_ms_op']:>8.1f} {d['events']:>6} {d['events_s']:>7.1f} {d['raw_events_s']:>8.1f} "
        f"{d['cpu_ms_event']:>9.1f} {d['raw_cpu_ms_event']:>9.1f} "
        f"{cores * 1000 / d['cpu_ms_event']:>9.0f}",
        flush=True,
    )
    split = ", ".join(f"{k} {v:.1f}" for k, v in d["cpu_split"].items())
    print(f"{'':24} (directive CPU ms/event: {split}; apply failures {a['failures']})")
    processes = {k: v for k, v in a["by_process"].items() if k != "PostgreSQL"}
    busiest = max(processes, key=processes.get)
    shares = ", ".join(f"{k} {v:.1f}" for k, v in a["by_process"].items())
    print(
        f"{'':24} (apply CPU ms/op by process: {shares}; busiest {busiest}: "
        f"≤ {1000 / processes[busiest]:.0f} ops/s with a core per process)"
    )


def default_postgres() -> str:
    from urllib.parse import urlsplit, urlunsplit

    url = os.environ.get("DIEUHANH_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432"
    return urlunsplit(urlsplit(url)._replace(path=""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="district")
    parser.add_argument("--level", default="TH", help="the segment: every teacher of this level")
    parser.add_argument("--configs", default="sqlite,postgres,w1,w2,w4")
    parser.add_argument("--generic-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--raw-rooms", type=int, default=40)
    parser.add_argument("--raw-joins", type=int, default=400)
    parser.add_argument("--cores", type=int, default=16, help="the machine to predict")
    parser.add_argument(
        "--postgres-url",
        default=default_postgres(),
        help="the PostgreSQL server (databases are made and dropped); "
        "default: DIEUHANH_TEST_POSTGRES_URL's server",
    )
    parser.add_argument("--redis", default="127.0.0.1:6379")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    template = prepare_directory(scratch, args.preset)
    print(
        f"preset {args.preset}, segment: every {args.level} teacher, concurrency "
        f"{args.concurrency}, {os.cpu_count()} CPUs here; last column: events/s predicted "
        f"on {args.cores} cores from CPU per event\n"
    )
    print(
        f"{'homeserver':24} {'ops':>6} {'ops/s':>7} {'joins/s':>8} {'raw j/s':>9} "
        f"{'ms/op':>8} {'events':>6} {'ev/s':>7} {'raw ev/s':>8} {'ms/event':>9} "
        f"{'raw ms/ev':>9} {'predicted':>9}"
    )
    for name in args.configs.split(","):
        folder = scratch / name
        folder.mkdir()
        with homeserver(name, folder, args) as hs:
            print_row(hs.label, asyncio.run(measure(hs, template, folder, args)), args.cores)
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
