"""Benchmark: provision one school's families into a running Synapse, against its raw rate.

The staff of the ``mini`` preset are applied first (not measured). Then one THCS school
gets its families (``--students``, default 1,500, two parents each, 5 % siblings; the
generator of bench/import_families.py): ``lop`` and ``hoc_sinh`` imported, and the apply
of that change is measured — parents' accounts, the class rooms and the school's
"Phụ huynh" room, every join — per kind, next to Synapse's raw rate for the same kinds
replayed in the same run on the same Synapse (bench/provision_district.py's loops: plain
admin-API calls at the same concurrency, no bookkeeping). Marks do not touch Matrix and
are left out here (their import is in bench/import_families.py).

    .venv/bin/python bench/apply_school.py                  # 1,500 students (~20 min)
    .venv/bin/python bench/apply_school.py --students 200   # a quick check
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import provision_district as pd

from dieuhanh.embedded.datadir import init_data_dir
from dieuhanh.embedded.ports import free_port
from dieuhanh.embedded.server import running_synapse
from provisioning.demo.families import generate_families, write_families
from provisioning.importer import import_paths
from provisioning.matrix.apply import apply
from provisioning.view import load_view
from provisioning.vocab import Level


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=500, help="raw account creations")
    parser.add_argument("--rooms", type=int, default=20, help="raw createRoom")
    parser.add_argument("--join-share", type=float, default=0.5, help="rooms whose joins replay")
    parser.add_argument("--bots", type=int, default=1)
    return parser.parse_args()


def thcs_school(engine) -> str:
    """The first THCS school of the imported preset."""
    view = load_view(engine)
    for unit in view.units.values():
        if unit.level is Level.THCS:
            return unit.code
    raise SystemExit("the preset has no THCS school")


def import_families(engine, workdir: Path, school: str, students: int) -> None:
    t = time.perf_counter()
    tables = generate_families([school], students, marks=False)
    files = {p.stem: p for p in write_families(tables, workdir / "families")}
    result = import_paths(engine, [files["lop"], files["hoc_sinh"]])
    parents = {row[7] for row in tables.students} | {row[9] for row in tables.students}
    print(
        f"{school}: {len(tables.classes)} classes, {len(tables.students)} students, "
        f"{len(parents - {''})} parents' phones; imported {result.rows_read} rows in "
        f"{time.perf_counter() - t:.1f} s"
    )


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-school-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started_all = time.perf_counter()
    try:
        setup = init_data_dir(workdir / "embedded", free_port())
        with running_synapse(setup, timeout=180) as synapse:
            config = pd.bench_config(synapse)
            engine = pd.import_preset(workdir, "mini")
            try:
                t = time.perf_counter()
                staff = pd.asyncio.run(apply(engine, config, concurrency=args.concurrency))
                seconds = time.perf_counter() - t
                print(f"staff of mini applied ({staff.done} ops) in {seconds:.1f} s")
                import_families(engine, workdir, thcs_school(engine), args.students)
                pid = synapse.process.pid
                ours = pd.run_apply(engine, config, pid, args.concurrency)
                raw_run = pd.run_raw(engine, config, ours, pid, args)
                pd.report(ours, raw_run, args.concurrency, started_all)
            finally:
                engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
