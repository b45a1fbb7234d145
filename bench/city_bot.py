"""Benchmark: the bot in a city — first start, restart, memory, CPU spent on traffic it
does not need, and how fast it answers a DM, at several room-set sizes, extrapolated to
the city's 24,330 rooms (``build_layout`` of the 150,000-staff preset; the bot is in all).

For each size, on a copy of the cached homeserver of bench/city_fixture.py:

- first start: ``dieuhanh bot`` with an empty store and database, from process start to
  ``/health`` saying it synced (imports, login, keys, cross-signing, first sync), the
  first sync's share of it (from the bot's log: the part that grows with the rooms), and
  the peak RSS;
- an encrypted DM opened by a person (as Element's "Start chat"), answered once;
- CPU per 1,000 unrelated events: the bot's CPU (from /proc) while the talkers post in 50
  "Trao đổi" rooms at ``--rate`` events/s, less its CPU for as long idle;
- DM latency: ``!trogiup`` sent encrypted, until the decrypted reply reaches the sender,
  while that traffic goes on (p50/p95), with Synapse's CPU meanwhile as a share of one
  core (single-process Synapse runs its Python on one core: near 100 % it is saturated,
  and every request, the bot's sync and its reply included, queues behind the traffic);
- ``--curve 0,10,25``: the same DM timing at other traffic rates, to see latency against
  Synapse's load;
- restart: stopped and started again with its store and database, from process start
  until it answers a DM command sent at that moment (the traffic it missed included).

The host is shared: figures vary with its load. The homeserver may not reach ``--rate``:
the rate reached is printed beside the figures measured under it, and so are the bot's
own share of a DM's latency (``lag``: from an event reaching Synapse to the bot's sync;
``cmd``: computing the answer).

    .venv/bin/python bench/city_bot.py 500 1000 2000 4000  # builds missing fixtures first
    .venv/bin/python bench/city_bot.py 500 --bot-code ../before --label before
    .venv/bin/python bench/city_bot.py                     # the table of the rows kept
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _city_run import (
    BotProcess,
    Traffic,
    ask,
    open_dm,
    served_copy,
    tester,
)
from city_fixture import CACHE, Fixture, build
from workers import proc_cpu

CITY_ROOMS = 24_330
GOALS = {"first": 60.0, "rss": 1024.0, "p95": 1000.0}


@dataclass
class Row:
    rooms: int
    build_s: float
    first_s: float
    sync_s: float  # of which the first sync (from the bot's log)
    restart_s: float
    peak_rss: float  # MB, during the first start
    steady_rss: float  # MB, after the traffic
    cpu_ms: float  # per 1,000 unrelated events
    lag_ms: float  # mean, from an event reaching Synapse to the bot's sync, under traffic
    command_ms: float  # mean time computing the answer (the bot's own metric)
    idle_p50_ms: float  # DM latency without traffic
    p50_ms: float
    p95_ms: float
    rate: float  # unrelated events/s reached while measuring CPU
    dm_rate: float  # and while timing DMs
    hs_cpu: float = float("nan")  # Synapse's CPU, share of one core, while measuring CPU
    hs_dm_cpu: float = float("nan")  # and while timing DMs
    #: DM latency at other traffic rates (``--curve``): rate asked and reached, p50, p95,
    #: Synapse's share of a core
    curve: list[dict] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed_dms(client, room_id: str, bot: str, count: int) -> list[float]:
    """Milliseconds from sending ``!trogiup`` to the reply, ``count`` times in a row."""
    found = []
    for _ in range(count):
        found.append(await ask(client, room_id, bot, "!trogiup") * 1000)
        await asyncio.sleep(0.3)
    return found


async def live(bot: BotProcess, running, scratch: Path, fixture: Fixture, args) -> dict:
    """DM latency idle; CPU per 1,000 unrelated events; DM latency under that traffic."""
    client = await tester(running, scratch)
    try:
        room_id = await open_dm(client, fixture.bot_user)
        idle_dms = await timed_dms(client, room_id, fixture.bot_user, max(args.dms // 4, 2))
        cpu = bot.cpu_seconds()
        await asyncio.sleep(args.window)
        idle = bot.cpu_seconds() - cpu
        hs = HomeserverCpu(running.process.pid)
        traffic = Traffic(running, fixture, args.rate)
        traffic.start()
        await asyncio.sleep(2)
        cpu, sent, started_at = bot.cpu_seconds(), traffic.sent, time.perf_counter()
        hs.mark()
        spy = bot.profile(args.window, scratch / "profile.txt") if args.profile else None
        await asyncio.sleep(args.window)
        busy, sent, hs_cpu = bot.cpu_seconds() - cpu, traffic.sent - sent, hs.share()
        rate = sent / (time.perf_counter() - started_at)
        sent_before, started_at, before = traffic.sent, time.perf_counter(), bot.metrics()
        hs.mark()
        latencies = await timed_dms(client, room_id, fixture.bot_user, args.dms)
        dm_rate = (traffic.sent - sent_before) / (time.perf_counter() - started_at)
        hs_dm_cpu = hs.share()
        lag_ms, command_ms = inside(before, bot.metrics())
        await traffic.stop()
        curve = [
            await at_rate(running, fixture, client, room_id, rate_asked, args)
            for rate_asked in args.curve
        ]
        steady_rss = bot.rss_mb()
        restart = await restarted(bot, client, room_id, fixture.bot_user)
    finally:
        await client.close()
    if spy is not None:
        spy.wait()
        print_profile(scratch / "profile.txt")
    return {
        "restart_s": restart,
        "cpu_ms": (busy - idle) * 1000 * 1000 / max(sent, 1),
        "rate": rate,
        "dm_rate": dm_rate,
        "idle_p50_ms": statistics.median(idle_dms[1:]),  # the first sets up the keys
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "steady_rss": steady_rss,
        "lag_ms": lag_ms,
        "command_ms": command_ms,
        "hs_cpu": hs_cpu,
        "hs_dm_cpu": hs_dm_cpu,
        "curve": curve,
    }


class HomeserverCpu:
    """Synapse's CPU between ``mark`` and ``share``, as a share of one core."""

    def __init__(self, pid: int) -> None:
        self.pid, self.cpu, self.at = pid, 0.0, 0.0

    def mark(self) -> None:
        self.cpu, self.at = proc_cpu(self.pid), time.perf_counter()

    def share(self) -> float:
        return (proc_cpu(self.pid) - self.cpu) / max(time.perf_counter() - self.at, 1e-9)


async def at_rate(running, fixture: Fixture, client, room_id: str, rate: float, args) -> dict:
    """DM latency (p50, p95) while the talkers post at ``rate`` events/s, with the rate
    reached and Synapse's share of a core meanwhile."""
    hs = HomeserverCpu(running.process.pid)
    traffic = Traffic(running, fixture, rate) if rate > 0 else None
    if traffic:
        traffic.start()
        await asyncio.sleep(2)
    sent, started_at = traffic.sent if traffic else 0, time.perf_counter()
    hs.mark()
    latencies = await timed_dms(client, room_id, fixture.bot_user, args.dms)
    share = hs.share()
    reached = ((traffic.sent if traffic else 0) - sent) / (time.perf_counter() - started_at)
    if traffic:
        await traffic.stop()
    await asyncio.sleep(2)
    return {
        "asked": rate,
        "rate": reached,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "hs_cpu": share,
    }


def inside(before: dict[str, float], after: dict[str, float]) -> tuple[float, float]:
    """Mean milliseconds, between two scrapes of the bot's metrics, from an event's arrival
    on the homeserver to the bot's sync (every event), and computing !trogiup's answer."""

    def mean(prefix: str) -> float:
        total = sum(v - before.get(k, 0) for k, v in after.items() if k.startswith(prefix + "_sum"))
        count = sum(
            v - before.get(k, 0) for k, v in after.items() if k.startswith(prefix + "_count")
        )
        return 1000 * total / count if count else float("nan")

    return mean("dieuhanh_bot_event_lag_seconds"), mean("dieuhanh_bot_command_seconds")


async def restarted(bot: BotProcess, client, room_id: str, bot_user: str) -> float:
    """The bot stopped, then started with its store: seconds from its start until it
    answers a DM command sent at that moment."""
    bot.stop()
    await asyncio.sleep(1)
    started_at = time.perf_counter()
    bot.launch()
    await ask(client, room_id, bot_user, "!trogiup")
    return time.perf_counter() - started_at


def print_profile(path: Path, top: int = 25) -> None:
    """The functions the bot spent its samples in (own and with callees), from py-spy."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        frames = stack.split(";")
        samples += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + int(count)
    print(f"  py-spy: {samples} samples; with callees, then own:")
    for table in (total, own):
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {100 * count / max(samples, 1):5.1f} %  {frame[:130]}")


def measure(rooms: int, args) -> Row:
    fixture = build(rooms, args.members)
    scratch = Path(tempfile.mkdtemp(prefix=f"citybot-{rooms}-"))
    with served_copy(fixture, scratch) as running:
        database_url = f"sqlite:///{running.setup.data.directory_db}"
        bot = BotProcess(running, scratch, database_url, args.bot_code.resolve())
        try:
            first = bot.start()
            peak = bot.peak_rss
            sync = bot.between("first start: earlier messages", "initial sync done")
            print(
                f"  {fixture.made:,} rooms: ready {first:.1f} s (its first sync {sync:.1f} s), "
                f"peak {peak:.0f} MB",
                flush=True,
            )
            found = asyncio.run(live(bot, running, scratch, fixture, args))
        finally:
            bot.stop()
    return Row(fixture.made, fixture.build_seconds, first, sync, peak_rss=peak, **found)


HEADER = (
    f"{'rooms':>7} {'build s':>8} {'first s':>8} {'sync s':>7} {'restart s':>9} {'peak MB':>8} "
    f"{'steady MB':>9} {'CPU ms/1k ev':>12} {'at ev/s':>7} {'idle DM ms':>10} "
    f"{'DM p50 ms':>9} {'DM p95 ms':>9} {'at ev/s':>7} {'lag ms':>7} {'cmd ms':>7} "
    f"{'HS core':>7}"
)


def line(row: Row) -> str:
    return (
        f"{row.rooms:>7,} {row.build_s:>8.0f} {row.first_s:>8.1f} {row.sync_s:>7.1f} "
        f"{row.restart_s:>9.1f} "
        f"{row.peak_rss:>8.0f} {row.steady_rss:>9.0f} {row.cpu_ms:>12.0f} {row.rate:>7.1f} "
        f"{row.idle_p50_ms:>10.0f} {row.p50_ms:>9.0f} {row.p95_ms:>9.0f} {row.dm_rate:>7.1f} "
        f"{row.lag_ms:>7.0f} {row.command_ms:>7.1f} {row.hs_dm_cpu:>7.0%}"
    ) + "".join(
        f"\n{'':>7} DM at {c['asked']:.0f} ev/s asked ({c['rate']:.1f} reached): "
        f"p50 {c['p50_ms']:.0f} ms, p95 {c['p95_ms']:.0f} ms, Synapse {c['hs_cpu']:.0%} of a core"
        for c in row.curve
    )


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares line: (intercept, slope)."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


def extrapolate(rows: list[Row]) -> None:
    """Each figure fitted linearly in the room count, at the city's size, with its goal."""
    if len(rows) < 2:
        return
    xs = [r.rooms for r in rows]
    print(f"\nlinear fit to {CITY_ROOMS:,} rooms (per 1,000 rooms; at the city; goal):")
    for label, attr, goal in (
        ("first start s", "first_s", GOALS["first"]),
        ("  first sync s", "sync_s", None),
        ("restart s", "restart_s", GOALS["first"]),
        ("peak RSS MB", "peak_rss", GOALS["rss"]),
        ("steady RSS MB", "steady_rss", GOALS["rss"]),
        ("CPU ms/1k ev", "cpu_ms", None),
        ("DM p95 ms", "p95_ms", GOALS["p95"]),
    ):
        a, b = fit(xs, [getattr(r, attr) for r in rows])
        at_city = a + b * CITY_ROOMS
        verdict = "" if goal is None else ("  ok" if at_city <= goal else "  MISSED")
        goal_text = "—" if goal is None else f"≤ {goal:,.0f}"
        print(f"  {label:15} {b * 1000:>9.2f} {at_city:>10.1f}   {goal_text:>7}{verdict}")


def report(results: Path) -> None:
    """Every label's rows in the results file: the table, then the fit to the city."""
    saved = json.loads(results.read_text()) if results.exists() else []
    for label in dict.fromkeys(r["label"] for r in saved):
        rows = sorted(
            (
                Row(**{k: v for k, v in r.items() if k != "label"})
                for r in saved
                if r["label"] == label
            ),
            key=lambda row: row.rooms,
        )
        print(f"\n== {label}\n{HEADER}")
        for row in rows:
            print(line(row))
        extrapolate(rows)


def keep(results: Path, label: str, row: Row) -> None:
    """Add ``row`` to the results file (replacing the same label and size)."""
    saved = json.loads(results.read_text()) if results.exists() else []
    saved = [r for r in saved if (r["label"], r["rooms"]) != (label, row.rooms)]
    results.write_text(json.dumps([*saved, {"label": label, **asdict(row)}], indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rooms", type=int, nargs="*", help="room-set sizes to measure")
    parser.add_argument("--members", type=int, default=3, help="sampled members per room")
    parser.add_argument("--rate", type=float, default=50.0, help="unrelated events/s")
    parser.add_argument("--window", type=float, default=20.0, help="CPU window, seconds")
    parser.add_argument("--dms", type=int, default=40, help="DM commands timed")
    parser.add_argument(
        "--curve",
        type=lambda text: [float(x) for x in text.split(",") if x],
        default=[],
        help="other traffic rates to time DMs at, e.g. 0,10,25 (Synapse's load vs latency)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy during the traffic")
    parser.add_argument(
        "--bot-code",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose bot runs (e.g. another worktree, for a before/after)",
    )
    parser.add_argument("--label", default="this checkout", help="the rows' label")
    parser.add_argument(
        "--results",
        type=Path,
        default=CACHE / "results.json",
        help="rows kept between runs (the table and fit cover every row of a label)",
    )
    args = parser.parse_args()
    for rooms in args.rooms:
        keep(args.results, args.label, measure(rooms, args))
    report(args.results)


if __name__ == "__main__":
    main()
