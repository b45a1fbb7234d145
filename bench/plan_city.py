"""Benchmark: ``make_plan`` for the 150,000-staff city, first run and steady state.

Uses bench/out/city/ (written by bench/import_city.py) or generates it there, imports it
into a fresh SQLite directory, then times ``make_plan`` twice without any homeserver:

- with an empty mirror (everything to create): the first ``apply``'s plan;
- after filling the mirror tables as if that plan had been applied (accounts, rooms with
  their names, power digests and parents, members from the joins, the admin and the bot):
  the plan should then be (nearly) empty, and its time is what every later ``plan`` or
  ``apply`` pays before doing anything.

The baseline, measured in the same run, is ``load_view`` alone (reading the directory),
so the figures travel between machines as ratios. The goal: a plan under 10 s.

    .venv/bin/python bench/plan_city.py
    .venv/bin/python bench/plan_city.py --repeat 3 --profile 25
    .venv/bin/python bench/plan_city.py --preset district   # quicker, bench/out/district/
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, insert

from dieuhanh.config import Config
from provisioning.db import open_directory
from provisioning.demo import write_demo
from provisioning.importer import import_paths
from provisioning.matrix.apply import bot_user_id, make_plan
from provisioning.matrix.estimate import Rates, estimate
from provisioning.matrix.layout import build_layout, localpart_base
from provisioning.matrix.mirror import (
    ACCOUNTS,
    ADMIN_KEY,
    BOT_KEY,
    MEMBERS,
    ROOMS,
    load_mirror,
    set_state,
)
from provisioning.matrix.order import Priority
from provisioning.matrix.plan import Kind, Plan, compute_plan, digest, power_content
from provisioning.matrix.progress import announce_lines
from provisioning.view import load_view

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The best of ``repeat`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result  # type: ignore[return-value]


def profiled(fn: Callable[[], Any], top: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def fill_mirror(engine: Engine, plan: Plan, config: Config) -> dict[str, int]:
    """Write the mirror as if ``plan`` (an empty mirror's plan) had been fully applied."""
    layout = build_layout(load_view(engine))
    server = config.homeserver.server_name
    admin = f"@quantri:{server}"
    accounts: dict[str, dict[str, Any]] = {}
    rooms: dict[str, dict[str, Any]] = {}
    members: set[tuple[str, str]] = set()
    for op in plan.ops:
        if op.kind is Kind.CREATE_USER:
            accounts[op.person] = {
                "person_id": layout.accounts[op.person].person_id,
                "user_id": op.user_id,
                "created": True,
                "displayname": op.value,
                "phone": op.phone,
                "deactivated": False,
            }
        elif op.kind is Kind.SET_PHONE:
            accounts[op.person]["phone"] = op.value
        elif op.kind in (Kind.CREATE_SPACE, Kind.CREATE_ROOM):
            spec = layout.rooms[op.room]
            rooms[op.room] = {
                "key": spec.key,
                "room_id": f"!bench{len(rooms)}:{server}",
                "purpose": spec.purpose.value,
                "unit_code": spec.unit_code,
                "role": spec.role.value if spec.role else None,
                "level": spec.level.value if spec.level else None,
                "ownership": spec.ownership.value if spec.ownership else None,
                "name": op.value,
                # as the executor records it: the power levels go with the creation
                "power_digest": digest(
                    power_content(spec.power, plan.user_of, bot_user_id(config))
                ),
                "parent_key": None,
            }
            members.add((op.room, admin))  # the creator, as the executor records it
        elif op.kind is Kind.LINK_SPACE_CHILD:
            rooms[op.room]["parent_key"] = op.value
        elif op.kind is Kind.SET_POWER_LEVELS:
            rooms[op.room]["power_digest"] = op.value
        elif op.kind is Kind.JOIN:
            members.add((op.room, op.user_id))
    with engine.begin() as conn:
        conn.execute(insert(ACCOUNTS), list(accounts.values()))
        conn.execute(insert(ROOMS), list(rooms.values()))
        conn.execute(insert(MEMBERS), [{"room_key": k, "user_id": u} for k, u in sorted(members)])
    set_state(engine, ADMIN_KEY, admin)
    set_state(engine, BOT_KEY, bot_user_id(config))
    return {"accounts": len(accounts), "rooms": len(rooms), "members": len(members)}


def components(engine: Engine, config: Config) -> list[tuple[str, float]]:
    """make_plan's parts, each timed on its own."""
    server = config.homeserver.server_name
    t = time.perf_counter()
    view = load_view(engine)
    t_view = time.perf_counter() - t
    t = time.perf_counter()
    layout = build_layout(view)
    t_layout = time.perf_counter() - t
    t = time.perf_counter()
    mirror = load_mirror(engine)
    t_mirror = time.perf_counter() - t
    t = time.perf_counter()
    compute_plan(
        layout,
        mirror,
        server_name=server,
        bot_user_id=bot_user_id(config),
        admin_user_id=mirror.admin_user_id or f"@quantri:{server}",
        bot_exists=mirror.bot_user_id == bot_user_id(config),
        localpart_base=localpart_base,
    )
    t_compute = time.perf_counter() - t
    return [
        ("load_view", t_view),
        ("build_layout", t_layout),
        ("load_mirror", t_mirror),
        ("compute_plan", t_compute),
    ]


def print_counts(plan: Plan) -> None:
    counts = plan.counts()
    print(f"  {plan.total:,} operations" + (":" if counts else ""))
    for kind, n in counts.items():
        print(f"    {kind:20} {n:>9,}")


def timed_plan(
    label: str,
    engine: Engine,
    config: Config,
    args: argparse.Namespace,
    baseline: float,
    *,
    sizes: bool = False,
) -> tuple[float, tuple]:
    """Time make_plan (best of ``--repeat``), print it with its counts and its parts."""
    seconds, made = timed(lambda: make_plan(engine, config), args.repeat)
    plan, layout, *_rest = made
    extra = (
        f" ({len(layout.rooms):,} rooms and spaces, {len(layout.accounts):,} accounts)"
        if sizes
        else ""
    )
    print(f"make_plan, {label}: {seconds:.2f} s = {seconds / baseline:.1f}× load_view{extra}")
    print_counts(plan)
    for part, part_seconds in components(engine, config):
        print(f"    {part:14} {part_seconds:>7.2f} s")
    if args.profile:
        print(profiled(lambda: make_plan(engine, config), args.profile))
    return seconds, made


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--data", type=Path, help="CSV folder (default: bench/out/<preset>)")
    parser.add_argument("--database", help="SQLite URL to use (emptied first if it exists)")
    parser.add_argument("--server-name", default="dieuhanh.local")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for each timing")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print cProfile's top N for each plan"
    )
    return parser.parse_args()


def preset_data(args: argparse.Namespace) -> Path:
    """The preset's CSV folder, generated when missing."""
    data = args.data or ROOT / "bench" / "out" / args.preset
    if not (data / "nhan_su.csv").exists():
        t = time.perf_counter()
        write_demo(data, args.preset)
        print(f"generated {args.preset} CSV in {time.perf_counter() - t:.1f} s → {data}")
    return data


def run(engine: Engine, config: Config, args: argparse.Namespace, data: Path) -> None:
    """Import the preset, then time load_view and both plans."""
    t = time.perf_counter()
    imported = import_paths(engine, sorted(data.glob("*.csv")))
    print(
        f"import: {imported.rows_read:,} rows from {data} in "
        f"{time.perf_counter() - t:.1f} s ({len(imported.reports)} reported rows)"
    )
    baseline, view = timed(lambda: load_view(engine), args.repeat)
    print(
        f"baseline load_view: {baseline:.2f} s "
        f"({len(view.units):,} units, {len(view.people):,} people)"
    )
    first_s, (plan, layout, *_rest) = timed_plan(
        "empty mirror", engine, config, args, baseline, sizes=True
    )
    # what `dieuhanh plan` says before the first apply (default rates: none measured yet)
    plan.estimate = estimate(plan.ops, Priority.of(layout), bot_user_id(config), Rates())
    for line in announce_lines(plan)[1:]:
        print("  " + line)
    t = time.perf_counter()
    filled = fill_mirror(engine, plan, config)
    print(
        f"mirror filled as if applied in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{n:,} {what}" for what, n in filled.items())
    )
    steady_s, _again = timed_plan("steady state", engine, config, args, baseline)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worst = max(first_s, steady_s)
    print(
        f"goal: plan under 10 s → first {first_s:.1f} s, steady {steady_s:.1f} s "
        f"({'met' if worst < 10 else 'NOT met'}); peak memory {peak:,.0f} MB"
    )


def main() -> None:
    args = parse_args()
    data = preset_data(args)
    config = Config()
    config.homeserver.server_name = args.server_name
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as scratch:
        url = args.database or f"sqlite:///{Path(scratch) / 'directory.db'}"
        if args.database and url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        engine = open_directory(url)
        try:
            run(engine, config, args, data)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
