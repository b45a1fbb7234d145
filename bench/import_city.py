"""Benchmark: import a 150,000-staff synthetic city from CSV and from XLSX.

Prints, per format: wall time, rows/s and the peak memory of the importing process, next
to a baseline measured in the same run (reading the same file with nothing but the
standard csv module / openpyxl), so the figures travel between machines as ratios.
Each import runs in a fresh child process on a fresh SQLite database (or on the database
given with --database, which is emptied first), so peaks do not mix.

    .venv/bin/python bench/import_city.py            # city preset (3,600 schools, 150,000 staff)
    .venv/bin/python bench/import_city.py --preset district
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(fmt: str, folder: Path, database: str, what: str) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    files = sorted(folder.glob("*.csv")) if fmt == "csv" else [folder / "danh_ba.xlsx"]
    started = time.perf_counter()
    if what == "baseline":
        rows = 0
        if fmt == "csv":
            import csv

            for file in files:
                with file.open(encoding="utf-8-sig", newline="") as fh:
                    rows += sum(1 for _ in csv.reader(fh)) - 1
        else:
            from openpyxl import load_workbook

            book = load_workbook(files[0], read_only=True, data_only=True)
            for sheet in book.worksheets:
                rows += sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
            book.close()
        result = {"rows": rows}
    else:
        from provisioning.db import open_directory
        from provisioning.importer import import_paths

        engine = open_directory(database)
        started = time.perf_counter()
        outcome = import_paths(engine, files)
        result = {
            "rows": outcome.rows_read,
            "reports": len(outcome.reports),
            "people": outcome.people.added + outcome.people.changed + outcome.people.unchanged,
        }
        if what == "reimport":
            started = time.perf_counter()
            again = import_paths(engine, files)
            assert not again.changed, "re-import changed the directory"
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(fmt: str, folder: Path, database: str, what: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            fmt,
            what,
            "--data",
            str(folder),
            "--database",
            database,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(url: str | None, scratch: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{scratch / (name + '.db')}"
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        for table in (
            "positions",
            "school_figures",
            "people",
            "units",
            "directory_state",
            "alembic_version",
        ):
            conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city")
    parser.add_argument("--database", help="PostgreSQL URL (emptied!); default: fresh SQLite")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "WHAT"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.data, args.database, args.child[1])
        return

    from provisioning.demo import write_demo

    data = ROOT / "bench" / "out" / args.preset
    for fmt, marker in (("csv", "nhan_su.csv"), ("xlsx", "danh_ba.xlsx")):
        if not (data / marker).exists():
            t = time.perf_counter()
            write_demo(data, args.preset, xlsx=fmt == "xlsx")
            print(f"generated {args.preset} {fmt} in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as scratch:
        print(
            f"{'format':6} {'what':9} {'rows':>8} {'seconds':>8} {'rows/s':>9} "
            f"{'peak MB':>8} {'× baseline':>10}"
        )
        for fmt in ("csv", "xlsx"):
            baseline = measure(fmt, data, "", "baseline")
            for what in ("baseline", "import", "reimport"):
                if what == "baseline":
                    r = baseline
                else:
                    db = fresh_database(args.database, Path(scratch), f"{fmt}-{what}")
                    r = measure(fmt, data, db, what)
                    if r.get("reports"):
                        print(f"  ({r['reports']} reported rows)")
                ratio = r["seconds"] / baseline["seconds"]
                print(
                    f"{fmt:6} {what:9} {r['rows']:>8} {r['seconds']:>8.2f} "
                    f"{r['rows'] / r['seconds']:>9.0f} {r['peak_mb']:>8.0f} {ratio:>10.1f}"
                )


if __name__ == "__main__":
    main()
