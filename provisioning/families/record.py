"""A student's learning record computed from their marks (Thông tư 22/2021), pure.

- ĐTBmhk = (ΣTX + 2 × GK + 3 × CK) ÷ (number of TX + 5), once the term has at least one
  TX, one GK and one CK;
- ĐTBmcn = (ĐTBmhk₁ + 2 × ĐTBmhk₂) ÷ 3, from the two (rounded) term averages;
- both rounded half up to one decimal, in ``Decimal`` (8,25 → 8,3, where binary floats
  and ``round`` would give 8,2);
- a subject assessed by comment (Đ / CĐ) is Đạt or Chưa đạt, never a number: a term is
  Đạt when it has its TX, GK and CK and the CK is Đ; the year is the second term's result.

Marks arrive as the directory stores them: scores in tenths (85 = 8,5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

TENTH = Decimal("0.1")


def half_up(value: Decimal) -> Decimal:
    """Rounded half up to one decimal: 8,05 → 8,1; 8,04999 → 8,0."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def term_average(tx: Sequence[int], gk: int | None, ck: int | None) -> Decimal | None:
    """ĐTBmhk from marks in tenths; None until there is a TX, a GK and a CK."""
    if not tx or gk is None or ck is None:
        return None
    total = sum(tx) + 2 * gk + 3 * ck  # tenths
    return half_up(Decimal(total) / Decimal(10 * (len(tx) + 5)))


def year_average(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    """ĐTBmcn from the two term averages; None until both exist."""
    if first is None or second is None:
        return None
    return half_up((first + 2 * second) / 3)


def comment_term(tx: Sequence[bool], gk: bool | None, ck: bool | None) -> bool | None:
    """Đạt (True) / Chưa đạt (False) of a comment-assessed subject's term; None until the
    term has a TX, a GK and a CK."""
    if not tx or gk is None or ck is None:
        return None
    return ck


def format_score(value: Decimal | int | None) -> str:
    """Vietnamese style: 8,1 (an int is in tenths: 85 → "8,5"); "—" when absent."""
    if value is None:
        return "—"
    if isinstance(value, int):
        value = Decimal(value) / 10
    return f"{value:.1f}".replace(".", ",")


def format_passed(value: bool | None) -> str:
    return "—" if value is None else ("Đạt" if value else "Chưa đạt")


class MarkRow(Protocol):
    """A row of ``marks`` (or anything with its fields)."""

    term: int
    subject: str
    kind: str
    seq: int
    score: int | None
    passed: bool | None


@dataclass
class TermMarks:
    """One subject's marks of one term, in the order they were given."""

    tx: list[int | bool] = field(default_factory=list)
    gk: int | bool | None = None
    ck: int | bool | None = None


@dataclass
class SubjectResult:
    """One subject of one school year: its marks per term and its results."""

    subject: str
    by_comment: bool
    terms: dict[int, TermMarks]
    term_results: dict[int, Decimal | bool | None]
    year_result: Decimal | bool | None


def subject_results(marks: Iterable[MarkRow]) -> list[SubjectResult]:
    """The record of one student and school year, subject by subject (in the order the
    subjects first appear)."""
    grouped: dict[str, dict[int, list[MarkRow]]] = defaultdict(lambda: defaultdict(list))
    for mark in marks:
        grouped[mark.subject][mark.term].append(mark)
    results = []
    for subject, terms in grouped.items():
        by_comment = any(m.passed is not None for rows in terms.values() for m in rows)
        collected = {term: _collect(rows) for term, rows in terms.items()}
        term_results = {t: _term_result(collected.get(t), by_comment) for t in (1, 2)}
        if by_comment:
            year: Decimal | bool | None = term_results[2]  # the second term decides
        else:
            year = year_average(term_results[1], term_results[2])  # type: ignore[arg-type]
        results.append(SubjectResult(subject, by_comment, collected, term_results, year))
    return results


def _collect(rows: list[MarkRow]) -> TermMarks:
    marks = TermMarks()
    for row in sorted(rows, key=lambda r: (r.kind, r.seq)):
        value = row.score if row.passed is None else row.passed
        if row.kind == "TX":
            marks.tx.append(value)  # type: ignore[arg-type]
        elif row.kind == "GK":
            marks.gk = value
        else:
            marks.ck = value
    return marks


def _term_result(marks: TermMarks | None, by_comment: bool) -> Decimal | bool | None:
    if marks is None:
        return None
    if by_comment:
        return comment_term(marks.tx, marks.gk, marks.ck)  # type: ignore[arg-type]
    return term_average(marks.tx, marks.gk, marks.ck)  # type: ignore[arg-type]
