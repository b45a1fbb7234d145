"""Benchmark: import the families' tables of one school, and a large student table.

1. One THCS school: 1,500 students with two parents each, their classes, a year of marks
   (8 scored subjects × 6 marks + 2 comment subjects × 3, × 2 terms: 180 marks a student,
   ~180,000 rows), two absences and three term results each — imported, then imported
   again (nothing changes).
2. ``hoc_sinh`` at scale: --students rows (default 100,000) over schools of 1,500, with
   their classes; extrapolated linearly to 2.5 million (HCMC) — an extrapolation, not a
   measurement.

Each figure comes with baselines measured in the same run, so it travels between
machines as a ratio: reading the same CSV files with the standard csv module, and
importing a staff table (``nhan_su``) of the same row count. Each measurement runs in a
fresh child process on a fresh SQLite database.

    .venv/bin/python bench/import_families.py [--students 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNIT_HEADER = (
    "Mã đơn vị",
    "Tên đơn vị",
    "Mã đơn vị cấp trên",
    "Loại đơn vị",
    "Cấp học",
    "Loại hình",
)
STAFF_HEADER = ("Mã định danh", "Họ và tên", "Số điện thoại", "Mã đơn vị", "Chức vụ")
CITY_STUDENTS = 2_500_000


def write_csv(path: Path, header, rows) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def prepare(folder: Path, schools: int, per_school: int, marks: bool) -> dict[str, list[str]]:
    """Write units, families and a staff table of as many rows as hoc_sinh; the file sets."""
    from provisioning.demo.families import generate_families, write_families

    codes = [f"thcs-{n:03}" for n in range(schools)]
    units = [["so", "Sở GD&ĐT", "", "Sở", "", ""]]
    units += [[c, f"Trường THCS số {n}", "so", "Trường", "THCS", "CL"] for n, c in enumerate(codes)]
    unit_file = write_csv(folder / "don_vi.csv", UNIT_HEADER, units)
    tables = generate_families(codes, per_school, marks=marks)
    fam = {p.stem: p for p in write_families(tables, folder / "families")}
    staff = [
        [row[0], row[1], row[7], row[4], "Giáo viên"] for row in tables.students
    ]  # one staff row per student row: same count, same phones
    staff_file = write_csv(folder / "staff" / "nhan_su.csv", STAFF_HEADER, staff)
    return {
        "units": [str(unit_file)],
        "classes": [str(fam["lop"])],
        "students": [str(fam["hoc_sinh"])],
        "records": [str(fam[n]) for n in ("diem", "chuyen_can", "ren_luyen")],
        "staff": [str(staff_file)],
    }


def child(what: str, files: dict[str, list[str]], database: str) -> None:
    """One measurement in this fresh process, printed as JSON."""
    if what == "read":
        import csv

        started, rows = time.perf_counter(), 0
        for name in files["measured"]:
            with open(name, encoding="utf-8-sig", newline="") as fh:
                rows += sum(1 for _ in csv.reader(fh)) - 1
        print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
        return
    from provisioning.db import open_directory
    from provisioning.importer import import_paths

    engine = open_directory(database)
    for name in files["setup"]:  # the units (and classes, students) the files stand on
        import_paths(engine, [Path(p) for p in name])
    started = time.perf_counter()
    result = import_paths(engine, [Path(p) for p in files["measured"]])
    seconds = time.perf_counter() - started
    out = {"seconds": seconds, "rows": result.rows_read, "reports": len(result.reports)}
    if what == "again":
        started = time.perf_counter()
        again = import_paths(engine, [Path(p) for p in files["measured"]])
        assert not again.changed and not again.records_changed, "re-import changed something"
        out["again_seconds"] = time.perf_counter() - started
    print(json.dumps(out))


def measure(what: str, setup: list[list[str]], measured: list[str], tmp: Path) -> dict:
    database = f"sqlite:///{tmp / f'{what}-{time.monotonic_ns()}.db'}"
    spec = json.dumps({"setup": setup, "measured": measured})
    done = subprocess.run(
        [sys.executable, __file__, "--child", what, "--spec", spec, "--database", database],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def one_school(tmp: Path) -> None:
    files = prepare(tmp / "school", 1, 1500, marks=True)
    everything = files["classes"] + files["students"] + files["records"]
    read = measure("read", [], everything, tmp)
    imported = measure("again", [files["units"]], everything, tmp)
    students = measure("import", [files["units"], files["classes"]], files["students"], tmp)
    staff = measure("import", [files["units"]], files["staff"], tmp)
    ratio = imported["seconds"] / read["seconds"]
    vs_staff = students["seconds"] / staff["seconds"]
    print(
        f"One school: {imported['rows']:,} rows (1,500 students, 2 parents each, a year of marks)"
    )
    print(f"  raw csv read            {read['seconds']:7.2f} s")
    print(f"  import (5 tables)       {imported['seconds']:7.2f} s  = {ratio:.0f}× the read")
    print(f"  import again (no change){imported['again_seconds']:7.2f} s")
    print(
        f"  hoc_sinh alone          {students['seconds']:7.2f} s  vs staff import of the same "
        f"{staff['rows']:,} rows {staff['seconds']:.2f} s = {vs_staff:.2f}×"
    )
    assert imported["reports"] == 0, imported


def at_scale(tmp: Path, students: int) -> None:
    schools = max(1, students // 1500)
    files = prepare(tmp / "scale", schools, students // schools, marks=False)
    read = measure("read", [], files["students"], tmp)
    imported = measure("import", [files["units"], files["classes"]], files["students"], tmp)
    staff = measure("import", [files["units"]], files["staff"], tmp)
    rate = imported["rows"] / imported["seconds"]
    ratio, vs_staff = imported["seconds"] / read["seconds"], imported["seconds"] / staff["seconds"]
    print(f"hoc_sinh at scale: {imported['rows']:,} rows in {schools} schools")
    print(f"  raw csv read            {read['seconds']:7.2f} s")
    print(
        f"  import                  {imported['seconds']:7.2f} s  = {ratio:.0f}× the read, "
        f"{rate:,.0f} rows/s; staff import of the same rows {staff['seconds']:.2f} s "
        f"(= {vs_staff:.2f}×)"
    )
    print(f"  2,500,000 rows (HCMC), extrapolated linearly: ~{CITY_STUDENTS / rate / 60:.0f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--child")
    parser.add_argument("--spec")
    parser.add_argument("--database")
    args = parser.parse_args()
    if args.child:
        child(args.child, json.loads(args.spec), args.database)
        return
    with tempfile.TemporaryDirectory() as folder:
        one_school(Path(folder))
        at_scale(Path(folder), args.students)


if __name__ == "__main__":
    main()
