"""What the importer tells people about their files."""

from __future__ import annotations

from dataclasses import dataclass


class UnusableInput(Exception):
    """The input cannot be imported at all (missing file, missing required column, …).

    The message is Vietnamese and names the file (and column) at fault.
    """


@dataclass(frozen=True, slots=True)
class Report:
    """One reported row: where, which column, why, and whether the row was rejected."""

    source: str
    row: int
    column: str
    reason: str
    rejected: bool

    def line(self) -> str:
        outcome = "bị loại" if self.rejected else "đã nhập, cần sửa"
        column = f', cột "{self.column}"' if self.column else ""
        return f"{self.source}:{self.row}{column}: {self.reason} ({outcome})"
