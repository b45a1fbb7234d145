"""Names by unit, as !baocao lists a group of recipients ("Chưa đọc", "Vắng", "Chưa nộp"),
kept within what one Matrix event can carry.

A directive to every kindergarten teacher of a city has 20,000 recipients: their names
would make an answer of over a megabyte, and Synapse refuses events over 64 KiB. Up to
:data:`NAMES_SHOWN` names a group lists every name by unit; beyond, it gives each unit's
count, the units with most first, at most :data:`UNITS_SHOWN` of them, and the asker
narrows to one unit (``!baocao <mã> <đơn vị>``) to see the names there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provisioning.text import format_number

NAMES_SHOWN = 60
UNITS_SHOWN = 25


def unit_lines(units: Mapping[str, Sequence[str]]) -> tuple[list[str], bool]:
    """The lines for one group (``units``: unit → names, in the order to show), and
    whether names were left out (then the counts by unit stand for them)."""
    total = sum(len(names) for names in units.values())
    if total <= NAMES_SHOWN:
        return [f"{unit}: {', '.join(names)}" for unit, names in units.items()], False
    ranked = sorted(units.items(), key=lambda item: (-len(item[1]), item[0]))
    lines = [f"{unit}: {format_number(len(names))} người" for unit, names in ranked[:UNITS_SHOWN]]
    rest = ranked[UNITS_SHOWN:]
    if rest:
        people = sum(len(names) for _, names in rest)
        lines.append(f"… và {format_number(len(rest))} đơn vị khác ({format_number(people)} người)")
    return lines, True


def narrow_hint(code: str) -> str:
    """What to type for the names of one unit, when a group gave counts only."""
    return f"Gõ !baocao {code} <tên hoặc mã đơn vị> để xem tên từng người trong một đơn vị."
