"""Benchmark: how long the bot takes to handle !thongke and !danhba on a 150,000-staff city
(the Matrix round trip excluded), as p50/p95 per command and asker.

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

    from _directory import directory_with_accounts, user_id

    from bot.directory import DirectoryCache
    from bot.service import BotService
    from provisioning.view import load_view
    from provisioning.vocab import Position, UnitKind

    with tempfile.TemporaryDirectory() as scratch:
        engine = directory_with_accounts(args.preset, Path(scratch) / "directory.db")

        t = time.perf_counter()
        view = load_view(engine)
        baseline = (time.perf_counter() - t) * 1000
        cache = DirectoryCache(engine, min_check_interval=1.0)
        t = time.perf_counter()
        cache.get()
        print(
            f"bot snapshot loaded in {time.perf_counter() - t:.2f} s "
            f"({len(view.people):,} people, {len(view.units):,} units)"
        )

        def holder(kind: UnitKind, positions: set[Position]) -> str:
            for person in view.people.values():
                for unit_id, position in person.positions:
                    unit = view.units[unit_id]
                    if unit.kind is kind and position in positions:
                        return user_id(person.code)
            raise SystemExit(f"no {kind} official in the data")

        so = holder(UnitKind.DEPARTMENT, set(Position))
        office = holder(UnitKind.COMMUNE, {Position.HEAD, Position.SPECIALIST})
        principal = holder(UnitKind.SCHOOL, {Position.PRINCIPAL})
        rng = random.Random(7)
        names = [p.full_name for p in rng.sample(list(view.people.values()), args.repeat)]
        levels = ["MN", "TH", "THCS", "THPT", "liên cấp", "GDTX"]
        service = BotService(cache)
        cases = {
            "!thongke (Sở, whole city)": [
                (so, f"!thongke {levels[i % 6]}") for i in range(args.repeat)
            ],
            "!thongke (xã/phường)": [
                (office, f"!thống kê {levels[i % 3]}") for i in range(args.repeat)
            ],
            "!thongke (principal)": [(principal, "!thongke") for _ in range(args.repeat)],
            "!danhba full name (Sở)": [(so, f"!danhba {n}") for n in names],
            "!danhba family name (Sở)": [(so, f"!danhba {n.split()[0]}") for n in names],
            "!danhba given name (xã)": [(office, f"!danhba {n.split()[-1]}") for n in names],
        }
        print(f"\nbaseline: load_view from the database = {baseline:.0f} ms per command\n")
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
        engine.dispose()


if __name__ == "__main__":
    main()
