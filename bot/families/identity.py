"""Who a family member's account is, and choosing one of their children — pure.

An account's phone (``family_accounts.phone``, or a staff member's own number when a
teacher is also a parent) names a parent (``parents.phone``: the children they follow,
active ones only) and/or a student (``students.phone``, the student's own). Everything a
parent may ask about is in :attr:`Family.students`: a name or a Mã học sinh is only ever
looked up there, so guessing another child's name or code finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioning.text import fold


@dataclass(frozen=True)
class Child:
    """A student as a record's heading shows them."""

    student_id: int
    code: str
    full_name: str
    unit_id: int
    unit_name: str
    class_id: int | None
    class_name: str  # "" when the student has no class
    level: str | None  # the school's cấp học ("thcs"…)

    @property
    def label(self) -> str:
        """ "Nguyễn Minh An — lớp 6A1, Trường THCS Đỗ Văn Dậy"."""
        klass = f"lớp {self.class_name}, " if self.class_name else ""
        return f"{self.full_name} — {klass}{self.unit_name}"

    @property
    def given(self) -> str:
        """The given name ("An"), how a parent names their child."""
        return self.full_name.split()[-1] if self.full_name.split() else self.full_name


@dataclass(frozen=True)
class Family:
    """What an account is in the families' tables."""

    user_id: str
    phone: str | None
    children: tuple[Child, ...] = ()  # followed as a parent
    itself: Child | None = None  # the account is this student's own

    @property
    def students(self) -> tuple[Child, ...]:
        """Every student whose record this account may see."""
        return (self.itself, *self.children) if self.itself else self.children

    @property
    def known(self) -> bool:
        return bool(self.students)


def pick(candidates: Sequence[Child], query: str) -> list[Child]:
    """The candidates ``query`` names: a number of the list ("2"), a Mã học sinh, or
    words each of which starts a word of the name, accent- and case-insensitive
    ("an", "Minh An", "nguyen minh an"); a full name or given name said whole wins over
    a prefix. Only ``candidates`` are ever searched."""
    text = fold(query).strip()
    if not text:
        return list(candidates)
    if text.isdigit() and 1 <= int(text) <= len(candidates):
        return [candidates[int(text) - 1]]
    by_code = [c for c in candidates if fold(c.code) == text]
    if by_code:
        return by_code
    words = text.split()
    named = [c for c in candidates if _starts_words(fold(c.full_name).split(), words)]
    whole = [c for c in named if fold(c.full_name) == text or fold(c.given) == text]
    return whole or named


def _starts_words(name: list[str], words: list[str]) -> bool:
    return all(any(n.startswith(w) for n in name) for w in words)
