"""!ketqua, !chuyencan, !renluyen — a student's learning record, for the parent, the
student, the homeroom teacher and the school's leaders (``bot.families.access``), only in
a room of the asker and the bot."""

from __future__ import annotations

import datetime as dt

from bot.commands import Context, command
from bot.db.family import ClassRow, students_of_classes
from bot.db.learning import Record, absences_of, marks_of, record_of
from bot.directives.when import VN
from bot.families import access, card
from bot.families.card import CN
from bot.families.identity import Child
from bot.reply import Reply
from provisioning.families.record import subject_results


def _everyone(asker) -> bool:
    """Families have no staff record: the command itself checks who asks."""
    return True


def _today(ctx: Context) -> dt.date:
    return ctx.service.clock.now().astimezone(VN).date()


async def record(
    ctx: Context, child: Child, term: int | None, *, marks: bool = True
) -> tuple[Record, int]:
    """The record to show (today's school year, or the latest with records when today's has
    none yet: September shows last year's results) and the term (asked, or today's)."""
    year, current = access.cache_of(ctx).terms.term_of(_today(ctx))
    found = await record_of(ctx.service.engine, child.student_id, year, marks=marks)
    if found.past:
        current = 2
    return found, current if term is None else term


@command(
    "ketqua",
    spoken="kết quả",
    aliases=("kq", "diem", "điểm"),
    usage="!ketqua [tên con hoặc lớp] [hk1 | hk2 | cả năm]",
    summary="Điểm từng môn, ĐTBmhk/ĐTBmcn và kết quả học kỳ của con (phụ huynh, học sinh, GVCN).",
    examples=("!ketqua", "!ketqua An", "!ketqua An hk1", "!ketqua 6A1"),
    allowed=_everyone,
    details="Chỉ trả lời trong phòng nhắn riêng với bot.",
)
async def ketqua(ctx: Context, args: str) -> Reply:
    found = await access.target(ctx, "ketqua", args)
    if isinstance(found, Reply):
        return found
    _, term, _ = access.split_term(args)
    if isinstance(found, ClassRow):
        return await class_record(ctx, found, term)
    shown, term = await record(ctx, found, term)
    subjects = subject_results(shown.marks)
    return card.record_card(found, shown.school_year, term, subjects, shown.results)


async def class_record(ctx: Context, klass: ClassRow, term: int | None) -> Reply:
    """A homeroom teacher's (or leader's) class: students × subjects averages."""
    year, current = access.cache_of(ctx).terms.term_of(_today(ctx))
    if klass.school_year != year:
        current = 2  # a past year's class: its end
    term = current if term is None else term
    students = await students_of_classes(ctx.service.engine, [klass.id])
    marks = await marks_of(ctx.service.engine, [s.student_id for s in students], klass.school_year)
    by_student: dict[int, list] = {}
    for mark in marks:
        by_student.setdefault(mark.student_id, []).append(mark)
    rows = [(s, subject_results(by_student.get(s.student_id, []))) for s in students]
    return card.class_card(klass.name, klass.unit_name, klass.school_year, term, rows)


@command(
    "chuyencan",
    spoken="chuyên cần",
    aliases=("cc",),
    usage="!chuyencan [tên con] [hk1 | hk2]",
    summary="Các buổi nghỉ có phép, không phép của con trong học kỳ.",
    examples=("!chuyencan", "!chuyencan An"),
    allowed=_everyone,
    details="Chỉ trả lời trong phòng nhắn riêng với bot.",
)
async def chuyencan(ctx: Context, args: str) -> Reply:
    found = await _student(ctx, "chuyencan", args)
    if isinstance(found, Reply):
        return found
    _, term, _ = access.split_term(args)
    shown, term = await record(ctx, found, None if term == CN else term, marks=False)
    span = access.cache_of(ctx).terms.span(shown.school_year, term)
    absences = await absences_of(ctx.service.engine, found.student_id, *span)
    return card.absence_card(found, shown.school_year, term, span, absences)


@command(
    "renluyen",
    spoken="rèn luyện",
    aliases=("rl",),
    usage="!renluyen [tên con]",
    summary="Kết quả rèn luyện, học tập từng học kỳ và nhận xét của giáo viên chủ nhiệm.",
    examples=("!renluyen", "!renluyen An"),
    allowed=_everyone,
    details="Chỉ trả lời trong phòng nhắn riêng với bot.",
)
async def renluyen(ctx: Context, args: str) -> Reply:
    found = await _student(ctx, "renluyen", args)
    if isinstance(found, Reply):
        return found
    shown, _ = await record(ctx, found, None, marks=False)
    return card.results_card(found, shown.school_year, shown.results)


async def _student(ctx: Context, command_name: str, args: str) -> Child | Reply:
    found = await access.target(ctx, command_name, args)
    if isinstance(found, ClassRow):
        return Reply(
            f"Lệnh !{command_name} xem từng học sinh: hãy gõ tên học sinh, ví dụ "
            f"!{command_name} Nguyễn An. Cả lớp: !ketqua {found.name}."
        )
    return found
