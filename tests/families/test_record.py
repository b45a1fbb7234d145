"""The learning record's arithmetic (Thông tư 22/2021), with worked examples."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from provisioning.families.record import (
    comment_term,
    format_passed,
    format_score,
    half_up,
    subject_results,
    term_average,
    year_average,
)


def test_the_briefs_worked_example():
    # TX 8 and 9, GK 7, CK 8,5: (8 + 9 + 2×7 + 3×8,5) ÷ (2 + 5) = 56,5 ÷ 7 = 8,0714… → 8,1
    assert term_average([80, 90], 70, 85) == Decimal("8.1")


def test_an_exact_half_is_rounded_up_not_to_even():
    # TX 8, 8, 8, 8, 9; GK 8; CK 8,5: (41 + 16 + 25,5) ÷ 10 = 8,25 exactly → 8,3
    assert term_average([80, 80, 80, 80, 90], 80, 85) == Decimal("8.3")
    assert round(8.25, 1) == 8.2  # what binary floats would have shown
    assert half_up(Decimal("6.05")) == Decimal("6.1")
    assert half_up(Decimal("6.0499")) == Decimal("6.0")


@pytest.mark.parametrize(("tx", "gk", "ck"), [([], 70, 80), ([80], None, 80), ([80], 70, None)])
def test_a_term_average_needs_a_tx_a_gk_and_a_ck(tx, gk, ck):
    assert term_average(tx, gk, ck) is None


def test_the_year_average_weights_the_second_term_twice():
    # (7,9 + 2 × 8,6) ÷ 3 = 25,1 ÷ 3 = 8,3666… → 8,4
    assert year_average(Decimal("7.9"), Decimal("8.6")) == Decimal("8.4")
    # (6,5 + 2 × 7,0) ÷ 3 = 6,8333… → 6,8
    assert year_average(Decimal("6.5"), Decimal("7.0")) == Decimal("6.8")
    assert year_average(Decimal("6.5"), None) is None


def test_perfect_and_zero_marks_stay_in_range():
    assert term_average([100] * 4, 100, 100) == Decimal("10.0")
    assert term_average([0], 0, 0) == Decimal("0.0")


def test_a_comment_subject_is_dat_or_chua_dat_by_its_end_of_term_assessment():
    assert comment_term([True, False], True, True) is True
    assert comment_term([True], True, False) is False
    assert comment_term([], True, True) is None
    assert [format_passed(v) for v in (True, False, None)] == ["Đạt", "Chưa đạt", "—"]


def test_scores_are_shown_the_vietnamese_way():
    assert format_score(Decimal("8.1")) == "8,1"
    assert format_score(85) == "8,5"
    assert format_score(100) == "10,0"
    assert format_score(None) == "—"


@dataclass
class Row:
    term: int
    subject: str
    kind: str
    seq: int
    score: int | None = None
    passed: bool | None = None


def test_a_students_year_subject_by_subject():
    rows = [
        Row(1, "Toán", "TX", 1, 80), Row(1, "Toán", "TX", 2, 90), Row(1, "Toán", "GK", 1, 70),
        Row(1, "Toán", "CK", 1, 85),
        Row(2, "Toán", "TX", 1, 90), Row(2, "Toán", "GK", 1, 80), Row(2, "Toán", "CK", 1, 90),
        Row(1, "Giáo dục thể chất", "TX", 1, passed=True),
        Row(1, "Giáo dục thể chất", "GK", 1, passed=True),
        Row(1, "Giáo dục thể chất", "CK", 1, passed=True),
        Row(2, "Giáo dục thể chất", "TX", 1, passed=True),
        Row(2, "Giáo dục thể chất", "GK", 1, passed=True),
        Row(2, "Giáo dục thể chất", "CK", 1, passed=False),
        Row(2, "Ngữ văn", "TX", 1, 70),
    ]  # fmt: skip
    maths, pe, literature = subject_results(rows)
    assert maths.subject == "Toán" and not maths.by_comment
    # HK1 8,1 (above); HK2 (9 + 16 + 27) ÷ 6 = 8,666… → 8,7; year (8,1 + 17,4) ÷ 3 = 8,5
    assert maths.term_results == {1: Decimal("8.1"), 2: Decimal("8.7")}
    assert maths.year_result == Decimal("8.5")
    assert maths.terms[1].tx == [80, 90]
    assert pe.by_comment and pe.term_results == {1: True, 2: False} and pe.year_result is False
    assert literature.term_results == {1: None, 2: None} and literature.year_result is None
