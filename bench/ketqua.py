"""Benchmark: how long the bot takes to answer !ketqua for a parent (the Matrix round
trip excluded), on one THCS school of 1,500 students with two parents each and a year of
marks (``provisioning.demo.families``, imported with the importer), as p50/p95:

- cold: each parent's first question (their family is looked up, then the record);
- warm: the same parent again (the family comes from the cache);
- a homeroom teacher's ``!ketqua 6A1``-style class table (40 students × 10 subjects).

Baseline, measured in the same run on the same database: a plain SELECT of one student's
marks of the year (what any answer must at least read), so the figures travel between
machines as ratios.

    .venv/bin/python bench/ketqua.py [--parents 400] [--database postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNIT_HEADER = (
    "Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Loại đơn vị", "Cấp học", "Loại hình",
)  # fmt: skip
STAFF_HEADER = ("Mã định danh", "Họ và tên", "Số điện thoại", "Mã đơn vị", "Chức vụ")
SCHOOL = "thcs-bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(folder: Path, database: str):
    """A directory with the school, its families and records, and every parent's account."""
    from sqlalchemy import insert, select, update

    from bench.import_families import write_csv
    from dieuhanh.db import open_database
    from provisioning.db.models import FamilyAccount, MatrixAccount, Parent, Person, SchoolClass
    from provisioning.demo.families import generate_families, write_families
    from provisioning.importer import import_paths

    engine = open_database(database)
    units = [["so", "Sở GD&ĐT", "", "Sở", "", ""],
             [SCHOOL, "Trường THCS Đỗ Văn Dậy", "so", "Trường", "THCS", "CL"]]  # fmt: skip
    staff = [["GV1", "Trần Thị Bình", "0987654321", SCHOOL, "Giáo viên"]]
    import_paths(
        engine,
        [write_csv(folder / "don_vi.csv", UNIT_HEADER, units),
         write_csv(folder / "nhan_su.csv", STAFF_HEADER, staff)],
    )  # fmt: skip
    tables = generate_families([SCHOOL], 1500, marks=True)
    started = time.perf_counter()
    result = import_paths(engine, write_families(tables, folder / "families"))
    print(f"import: {result.rows_read:,} rows in {time.perf_counter() - started:.1f} s")
    with engine.begin() as conn:
        phones = conn.scalars(select(Parent.phone)).all()
        conn.execute(
            insert(FamilyAccount),
            [{"phone": p, "user_id": f"@ph{p[1:]}:bench", "created": True, "deactivated": False}
             for p in phones],
        )  # fmt: skip
        teacher = conn.scalar(select(Person.id))
        conn.execute(
            insert(MatrixAccount).values(person_id=teacher, user_id="@gv1:bench", created=True)
        )
        first = conn.scalar(select(SchoolClass.id).order_by(SchoolClass.id))
        conn.execute(
            update(SchoolClass).where(SchoolClass.id == first).values(homeroom_person_id=teacher)
        )
    return engine, phones


def single_child_parents(engine) -> list[tuple[str, int]]:
    """(user id, the child's student id) of every parent who follows one child."""
    from sqlalchemy import func, select

    from provisioning.db.models import Parent, StudentParent

    with engine.connect() as conn:
        rows = conn.execute(
            select(Parent.phone, func.min(StudentParent.student_id))
            .join(StudentParent, StudentParent.parent_id == Parent.id)
            .group_by(Parent.phone)
            .having(func.count() == 1)
        ).all()
    return [(f"@ph{p[1:]}:bench", s) for p, s in rows]


async def timed(service, user_id: str, text: str) -> float:
    from bot.commands import Incoming

    started = time.perf_counter()
    reply = await service.handle(Incoming(user_id, text, room_id=f"!dm{user_id}", direct=True))
    elapsed = time.perf_counter() - started
    assert reply is not None and "Kết quả học tập" in reply.text, reply and reply.text
    return elapsed


def baseline(engine, student_ids: list[int]) -> list[float]:
    """A plain SELECT of one student's marks of the year, per student."""
    from sqlalchemy import select

    from provisioning.db.models import Mark

    out = []
    for student_id in student_ids:
        started = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(
                select(Mark.subject, Mark.kind, Mark.seq, Mark.score, Mark.passed).where(
                    Mark.student_id == student_id, Mark.school_year == "2025-2026"
                )
            ).all()
        out.append(time.perf_counter() - started)
        assert rows
    return out


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 3, 2, 3, tzinfo=dt.UTC)  # Học kỳ 2: both terms shown


async def run(engine, parents: int) -> None:
    from bot.directory import DirectoryCache
    from bot.service import BotService

    service = BotService(DirectoryCache(engine), clock=Clock())
    await service.directory.get()
    askers = random.Random(14).sample(single_child_parents(engine), parents)
    base = baseline(engine, [s for _, s in askers])
    cold = [await timed(service, u, "!ketqua") for u, _ in askers]
    warm = [await timed(service, u, "!ketqua") for u, _ in askers]
    klass = [await timed(service, "@gv1:bench", "!ketqua") for _ in range(50)]
    b95 = percentile(base, 0.95)
    print(f"!ketqua on one school (1,500 students, a year of marks), {parents} parents:")
    b50 = statistics.median(base)
    label = "baseline: SELECT one student’s marks"
    print(f"  {label:36} p50 {b50 * 1000:6.2f} ms  p95 {b95 * 1000:6.2f} ms")
    for name, values in (("!ketqua, first question", cold), ("!ketqua, asked again", warm),
                         ("!ketqua <lớp> (homeroom, 40 × 10)", klass)):  # fmt: skip
        p95 = percentile(values, 0.95)
        print(
            f"  {name:36} p50 {statistics.median(values) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"
            f"  = {p95 / b95:.1f}× the baseline p95"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=400)
    parser.add_argument("--database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or f"sqlite:///{Path(folder) / 'directory.db'}"
        engine, _ = build(Path(folder), database)
        asyncio.run(run(engine, args.parents))


if __name__ == "__main__":
    main()
