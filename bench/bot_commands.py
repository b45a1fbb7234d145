"""Benchmark: how long the bot takes to handle !thongke and !danhba on a 150,000-staff city
(the Matrix round trip excluded), as p50/p95 per command and asker; and how long its event
loop stalls while the directory reloads after a change (goal: never more than 50 ms).

Baseline, measured in the same run: reading the directory from the database once
(``load_view``), i.e. what each command would cost if the bot kept nothing in memory.

    .venv/bin/python bench/bot_commands.py                  # city preset
    .venv/bin/python bench/bot_commands.py --preset district
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def loop_lag_during_reload(service, engine, asker: str) -> tuple[float, float, int]:
    """(longest stall of the event loop in ms, seconds the reload took, probes) while a
    command makes the bot reload a directory that changed."""
    from sqlalchemy import update

    from bot.commands import Incoming
    from provisioning.db.models import DirectoryState

    with engine.begin() as conn:  # what an import does: a new revision
        conn.execute(
            update(DirectoryState)
            .where(DirectoryState.key == "revision")
            .values(value=str(time.time_ns()))
        )
    service.directory._checked = 0.0  # no wait for the check interval
    done = asyncio.Event()
    stalls: list[float] = []

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append((time.perf_counter() - started - 0.005) * 1000)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await service.handle(Incoming(asker, "!thongke"))
    took = time.perf_counter() - started
    done.set()
    await task
    return max(stalls), took, len(stalls)


async def measure(service, cases: list[tuple[str, str]]) -> list[float]:
    from bot.commands import Incoming

    out = []
    for user_id, text in cases:
        started = time.perf_counter()
        reply = await service.handle(Incoming(user_id, text))
        out.append((time.perf_counter() - started) * 1000)
        assert reply is not None and "Xin lỗi, bot gặp lỗi" not in reply.text, reply.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--repeat", type=int, default=200, help="commands per case")
    args = parser.parse_args()

    from _directory import directory_with_accounts

    from bot.directory import DirectoryCache
    from bot.service import BotService
    from provisioning.view import load_view

    with tempfile.TemporaryDirectory() as scratch:
        engine = directory_with_accounts(args.preset, Path(scratch) / "directory.db")
        t = time.perf_counter()
        view = load_view(engine)
        baseline = (time.perf_counter() - t) * 1000
        cache = DirectoryCache(engine, min_check_interval=1.0)
        t = time.perf_counter()
        asyncio.run(cache.get())
        print(
            f"bot snapshot loaded in {time.perf_counter() - t:.2f} s "
            f"({len(view.people):,} people, {len(view.units):,} units)"
        )
        service = BotService(cache)
        askers = officials(view)
        print(f"\nbaseline: load_view from the database = {baseline:.0f} ms per command\n")
        run_cases(service, command_cases(view, askers, args.repeat), baseline)
        stall, took, probes = asyncio.run(loop_lag_during_reload(service, engine, askers["so"]))
        print(
            f"\nevent loop during a directory reload ({took:.2f} s, {probes} probes of 5 ms): "
            f"longest stall {stall:.0f} ms (goal: under 50 ms)"
        )
        engine.dispose()


def officials(view) -> dict[str, str]:
    """A user id each for the Sở, a xã/phường and a principal."""
    from _directory import user_id

    from provisioning.vocab import Position, UnitKind

    def holder(kind: UnitKind, positions: set[Position]) -> str:
        for person in view.people.values():
            for unit_id, position in person.positions:
                if view.units[unit_id].kind is kind and position in positions:
                    return user_id(person.code)
        raise SystemExit(f"no {kind} official in the data")

    return {
        "so": holder(
            UnitKind.DEPARTMENT, {Position.DIRECTOR, Position.DEPUTY_DIRECTOR, Position.SPECIALIST}
        ),
        "office": holder(UnitKind.COMMUNE, {Position.HEAD, Position.SPECIALIST}),
        "principal": holder(UnitKind.SCHOOL, {Position.PRINCIPAL}),
    }


def command_cases(view, askers: dict[str, str], repeat: int) -> dict[str, list]:
    so, office, principal = askers["so"], askers["office"], askers["principal"]
    rng = random.Random(7)
    names = [p.full_name for p in rng.sample(list(view.people.values()), repeat)]
    levels = ["MN", "TH", "THCS", "THPT", "liên cấp", "GDTX"]
    return {
        "!thongke (Sở, whole city)": [(so, f"!thongke {levels[i % 6]}") for i in range(repeat)],
        "!thongke (xã/phường)": [(office, f"!thống kê {levels[i % 3]}") for i in range(repeat)],
        "!thongke (principal)": [(principal, "!thongke") for _ in range(repeat)],
        "!danhba full name (Sở)": [(so, f"!danhba {n}") for n in names],
        "!danhba family name (Sở)": [(so, f"!danhba {n.split()[0]}") for n in names],
        "!danhba given name (xã)": [(office, f"!danhba {n.split()[-1]}") for n in names],
    }


def run_cases(service, cases: dict[str, list], baseline: float) -> None:
    print(
        f"{'case':28} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'p95/baseline':>13}"
    )
    worst = 0.0
    for label, case in cases.items():
        # the first command after a (re)load also builds that snapshot's caches
        first = asyncio.run(measure(service, case[:5]))[0]
        times = asyncio.run(measure(service, case))
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        print(
            f"{label:28} {first:>9.1f} {statistics.median(times):>8.1f} {p95:>8.1f} "
            f"{max(times):>8.1f} {p95 / baseline:>13.3f}"
        )
    print(f"\nworst p95: {worst:.1f} ms (goal: under 100 ms)")
    print("first = the first command of that case on a fresh snapshot (one-time caches)")


if __name__ == "__main__":
    main()
