"""The learning record as the bot shows it — pure: a plain-text body that reads well on a
phone's notification and in any client, and an HTML table for Element.

Marks are shown as the school gave them (TX in order, GK, CK), the averages as
DATA-FORMAT.md defines them (``provisioning.families.record``), Vietnamese decimals.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from html import escape

from bot.db.learning import AbsenceRow, ResultRow
from bot.families.identity import Child
from bot.reply import Reply
from provisioning.families.record import SubjectResult, format_passed, format_score
from provisioning.text import fold

RESULT_LABELS = {"good": "Tốt", "fair": "Khá", "pass": "Đạt", "fail": "Chưa đạt"}
TERM_LABELS = {1: "Học kỳ 1", 2: "Học kỳ 2", 0: "Cả năm"}
SESSION_LABELS = {"day": "cả ngày", "morning": "buổi sáng", "afternoon": "buổi chiều"}
WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
CN = 0  # "cả năm": the whole year


def _mark(value: int | bool | None) -> str:
    if isinstance(value, bool):
        return "Đ" if value else "CĐ"
    return format_score(value)


def _result(value) -> str:
    if isinstance(value, bool) or value is None:
        return format_passed(value) if isinstance(value, bool) else "—"
    return format_score(value)


def heading(child: Child, title: str, school_year: str, term: int) -> str:
    klass = f", lớp {child.class_name}" if child.class_name else ""
    first = f"{title} — {child.full_name}{klass}, {child.unit_name}"
    return f"{first}\nNăm học {school_year} · {TERM_LABELS[term]}"


def _term_cells(subject: SubjectResult, term: int) -> tuple[str, str, str, str]:
    marks = subject.terms.get(term)
    if marks is None:
        return "", "—", "—", "—"
    tx = "; ".join(_mark(v) for v in marks.tx)
    return tx, _mark(marks.gk), _mark(marks.ck), _result(subject.term_results[term])


#: the order report cards list subjects in (Chương trình GDPT 2018); others after them
SUBJECT_ORDER = tuple(
    fold(s)
    for s in (
        "Toán", "Ngữ văn", "Tiếng Anh", "Ngoại ngữ 1", "Giáo dục công dân",
        "Giáo dục kinh tế và pháp luật", "Lịch sử", "Địa lí", "Lịch sử và Địa lí",
        "Khoa học tự nhiên", "Vật lí", "Hóa học", "Sinh học", "Công nghệ", "Tin học",
        "Giáo dục thể chất", "Nghệ thuật", "Âm nhạc", "Mĩ thuật",
        "Hoạt động trải nghiệm, hướng nghiệp", "Giáo dục địa phương",
    )
)  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _subject_rank(subject: str) -> int:
    name = fold(subject)
    return SUBJECT_ORDER.index(name) if name in SUBJECT_ORDER else len(SUBJECT_ORDER)


def ordered(subjects: Sequence[SubjectResult]) -> list[SubjectResult]:
    """Scored subjects first, those assessed by comment after; each in report-card order."""

    return sorted(subjects, key=lambda s: (s.by_comment, _subject_rank(s.subject)))


def _term_lines(subjects: Sequence[SubjectResult], term: int, both: bool) -> list[str]:
    lines = []
    for s in subjects:
        tx, gk, ck, avg = _term_cells(s, term)
        label = "Kết quả" if s.by_comment else "ĐTBmhk"
        line = f"• {s.subject}: TX {tx or '—'} · GK {gk} · CK {ck} · {label} {avg}"
        if both and term == 2:
            line += f" · {'Cả năm' if s.by_comment else 'ĐTBmcn'} {_result(s.year_result)}"
        lines.append(line)
    return lines


def _term_html(subjects: Sequence[SubjectResult], term: int, both: bool) -> str:
    year = both and term == 2
    head = "<tr><th>Môn</th><th>TX</th><th>GK</th><th>CK</th><th>ĐTBmhk</th>"
    head += "<th>ĐTBmcn</th></tr>" if year else "</tr>"
    rows = []
    for s in subjects:
        cells = [s.subject, *_term_cells(s, term)]
        if year:
            cells.append(_result(s.year_result))
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def _year_lines(subjects: Sequence[SubjectResult]) -> tuple[list[str], str]:
    lines, rows = [], []
    for s in subjects:
        cells = [_result(s.term_results[1]), _result(s.term_results[2]), _result(s.year_result)]
        lines.append(f"• {s.subject}: HK1 {cells[0]} · HK2 {cells[1]} · Cả năm {cells[2]}")
        rows.append(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in [s.subject, *cells]) + "</tr>"
        )
    head = "<tr><th>Môn</th><th>HK1</th><th>HK2</th><th>Cả năm</th></tr>"
    return lines, "<table>" + head + "".join(rows) + "</table>"


def results_line(results: Sequence[ResultRow], term: int) -> str | None:
    """ "Rèn luyện: Tốt · Học tập: Khá" for a term ("CN" for the year), if recorded."""
    key = "CN" if term == CN else str(term)
    row = next((r for r in results if r.term == key), None)
    if row is None or not (row.conduct or row.learning):
        return None
    conduct = RESULT_LABELS.get(row.conduct or "", "—")
    learning = RESULT_LABELS.get(row.learning or "", "—")
    return f"Kết quả rèn luyện: {conduct} · Kết quả học tập: {learning}"


def record_card(
    child: Child,
    school_year: str,
    term: int,
    subjects: Sequence[SubjectResult],
    results: Sequence[ResultRow],
) -> Reply:
    """``!ketqua``: one student's marks and averages of a term (or the year: ``CN``)."""
    title = heading(child, "Kết quả học tập", school_year, term)
    subjects = ordered(subjects)
    both = all(s.terms.get(1) and s.terms.get(2) for s in subjects) and bool(subjects)
    if not subjects:
        lines, table = ["Chưa có điểm nào được nhà trường cập nhật."], ""
    elif term == CN:
        lines, table = _year_lines(subjects)
    else:
        lines = _term_lines(subjects, term, both)
        table = _term_html(subjects, term, both)
    footer = results_line(results, term)
    text = "\n".join([title, *lines, *([footer] if footer else [])])
    first, second = title.split("\n")
    html = (
        f"<p><strong>{escape(first)}</strong><br>{escape(second)}</p>"
        + (table or f"<p>{escape(lines[0])}</p>")
        + (f"<p>{escape(footer)}</p>" if footer else "")
    )
    return Reply(text, html, extra={"vn.dieuhanh.student": child.code})


def class_card(
    klass_name: str,
    unit_name: str,
    school_year: str,
    term: int,
    rows: Sequence[tuple[Child, Sequence[SubjectResult]]],
) -> Reply:
    """``!ketqua 6A1``: each student's term (or year) average per subject."""
    subjects: list[str] = []
    for _, results in rows:
        for s in ordered(results):
            if s.subject not in subjects:
                subjects.append(s.subject)
    title = f"Kết quả học tập lớp {klass_name} — {unit_name}"
    sub = f"Năm học {school_year} · {TERM_LABELS[term]} · {len(rows)} học sinh"
    lines, body = [title, sub], []
    for n, (child, results) in enumerate(rows, 1):
        by_subject = {s.subject: s for s in results}
        cells = [_average(by_subject.get(name), term) for name in subjects]
        shown = " · ".join(f"{name} {c}" for name, c in zip(subjects, cells, strict=True))
        lines.append(f"{n}. {child.full_name}: {shown or 'chưa có điểm'}")
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        body.append(f"<tr><td>{n}</td><td>{escape(child.full_name)}</td>{tds}</tr>")
    head = "".join(f"<th>{escape(s)}</th>" for s in subjects)
    html = (
        f"<p><strong>{escape(title)}</strong><br>{escape(sub)}</p>"
        f"<table><tr><th>TT</th><th>Học sinh</th>{head}</tr>{''.join(body)}</table>"
    )
    return Reply("\n".join(lines), html)


def _average(subject: SubjectResult | None, term: int) -> str:
    if subject is None:
        return "—"
    return _result(subject.year_result if term == CN else subject.term_results[term])


def absence_card(
    child: Child,
    school_year: str,
    term: int,
    span: tuple[dt.date, dt.date],
    absences: Sequence[AbsenceRow],
) -> Reply:
    """``!chuyencan``: the term's absences, with and without permission."""
    title = heading(child, "Chuyên cần", school_year, term)
    period = f"Từ {span[0]:%d/%m/%Y} đến {span[1]:%d/%m/%Y}"
    excused = sum(1 for a in absences if a.excused)
    count = f"Nghỉ có phép (P): {excused} lần · Nghỉ không phép (K): {len(absences) - excused} lần"
    items = [
        f"{a.date:%d/%m/%Y} ({WEEKDAYS[a.date.weekday()]}), "
        f"{SESSION_LABELS.get(a.session, a.session)} — {'có phép' if a.excused else 'không phép'}"
        for a in absences
    ]
    if not absences:
        count = "Không có buổi nghỉ nào trong học kỳ."
    text = "\n".join([title, period, count, *(f"• {i}" for i in items)])
    first, second = title.split("\n")
    html = (
        f"<p><strong>{escape(first)}</strong><br>{escape(second)}<br>{escape(period)}</p>"
        f"<p>{escape(count)}</p>"
        + ("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else "")
    )
    return Reply(text, html, extra={"vn.dieuhanh.student": child.code})


def results_card(child: Child, school_year: str, results: Sequence[ResultRow]) -> Reply:
    """``!renluyen``: the terms' (and the year's) results and the teacher's comments."""
    klass = f", lớp {child.class_name}" if child.class_name else ""
    title = f"Rèn luyện và học tập — {child.full_name}{klass}, {child.unit_name}"
    sub = f"Năm học {school_year}"
    lines, items = [title, sub], []
    names = {"1": "Học kỳ 1", "2": "Học kỳ 2", "CN": "Cả năm"}
    for row in results:
        conduct = RESULT_LABELS.get(row.conduct or "", "—")
        learning = RESULT_LABELS.get(row.learning or "", "—")
        line = f"{names.get(row.term, row.term)}: rèn luyện {conduct} · học tập {learning}"
        if row.comment:
            line += f". Nhận xét: {row.comment}"
        items.append(line)
    if not items:
        items = ["Nhà trường chưa cập nhật kết quả rèn luyện, học tập của năm học này."]
    lines.extend(f"• {i}" for i in items)
    html = (
        f"<p><strong>{escape(title)}</strong><br>{escape(sub)}</p><ul>"
        + "".join(f"<li>{escape(i)}</li>" for i in items)
        + "</ul>"
    )
    return Reply("\n".join(lines), html, extra={"vn.dieuhanh.student": child.code})


def choice_card(command: str, children: Sequence[Child], question: str) -> Reply:
    """Which child: a numbered list; the answer is a number or a name."""
    lines = [question, *(f"{n}. {c.label}" for n, c in enumerate(children, 1))]
    hint = f"Trả lời bằng số thứ tự hoặc tên, ví dụ: 1, hoặc !{command} {children[0].given}."
    items = "".join(f"<li>{escape(c.label)}</li>" for c in children)
    html = f"<p>{escape(question)}</p><ol>{items}</ol><p>{escape(hint)}</p>"
    return Reply(
        "\n".join([*lines, hint]), html, extra={"vn.dieuhanh.choose": [c.code for c in children]}
    )
