"""The school year's two terms on the calendar (a setting: ``bot.term_dates``).

The default follows the usual Vietnamese calendar: Học kỳ 1 from 05/09 to 15/01, Học kỳ 2
from 16/01 to 31/05. A date belongs to the school year that began on the last 05/09 (the
summer after 31/05 still shows that year's Học kỳ 2); the year "2025-2026" is named by the
two calendar years it spans.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DEFAULT = "05/09-15/01, 16/01-31/05"
_SPAN = re.compile(r"^\s*(\d{1,2})/(\d{1,2})\s*-\s*(\d{1,2})/(\d{1,2})\s*$")

DayMonth = tuple[int, int]  # (month, day): compared in calendar order


@dataclass(frozen=True)
class TermDates:
    first: tuple[DayMonth, DayMonth]
    second: tuple[DayMonth, DayMonth]

    @classmethod
    def parse(cls, text: str = DEFAULT) -> TermDates:
        """From "05/09-15/01, 16/01-31/05" (dd/mm, the first term then the second)."""
        parts = text.split(",")
        if len(parts) != 2:
            raise ValueError(f"term_dates: hai học kỳ dạng 'dd/mm-dd/mm, dd/mm-dd/mm': {text!r}")
        spans = []
        for part in parts:
            found = _SPAN.match(part)
            if not found:
                raise ValueError(f"term_dates: không đọc được {part.strip()!r} (dd/mm-dd/mm)")
            d1, m1, d2, m2 = map(int, found.groups())
            for day, month in ((d1, m1), (d2, m2)):
                dt.date(2024, month, day)  # raises ValueError for 31/02
            spans.append(((m1, d1), (m2, d2)))
        return cls(spans[0], spans[1])  # type: ignore[arg-type]

    def school_year_of(self, day: dt.date) -> str:
        start = self.first[0]
        year = day.year if (day.month, day.day) >= start else day.year - 1
        return f"{year}-{year + 1}"

    def term_of(self, day: dt.date) -> tuple[str, int]:
        """The school year and term a date belongs to (summer: the ending year's term 2)."""
        year = self.school_year_of(day)
        start, end = self.span(year, 1)
        return year, 1 if start <= day <= end else 2

    def span(self, school_year: str, term: int) -> tuple[dt.date, dt.date]:
        """First and last day of a term of a school year."""
        begin = int(school_year[:4])
        (m1, d1), (m2, d2) = self.first if term == 1 else self.second
        first = dt.date(begin if (m1, d1) >= self.first[0] else begin + 1, m1, d1)
        last = dt.date(begin if (m2, d2) >= self.first[0] else begin + 1, m2, d2)
        return first, last
