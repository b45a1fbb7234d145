"""Which unit a command's words name: by code, full or short name, or words of its name,
among the units the asker may use — one sentence when none or several match."""

from __future__ import annotations

from collections.abc import Collection

from bot.commands import CommandError
from bot.directory import DirectorySnapshot
from provisioning.domain import short_unit_name
from provisioning.text import fold
from provisioning.view import UnitView


def unit_named(
    snapshot: DirectorySnapshot, query: str, within: Collection[int], outside: str
) -> UnitView:
    """The one unit of ``within`` that ``query`` names. A unit found only elsewhere is
    refused with ``outside`` (``{unit}`` stands for its name)."""
    matches = snapshot.units_matching(query, within=within)
    if not matches:
        everywhere = snapshot.units_matching(query, within=snapshot.all_units)
        if everywhere:
            raise CommandError(outside.format(unit=everywhere[0].name))
        raise CommandError(f"Không tìm thấy đơn vị '{query}'.")
    exact = [
        u
        for u in matches
        if fold(query) in (fold(u.name), fold(short_unit_name(u.name)), fold(u.code))
    ]
    if len(matches) == 1 or len(exact) == 1:
        return (exact or matches)[0]
    names = "; ".join(u.name for u in matches[:5])
    more = f" và {len(matches) - 5} đơn vị khác" if len(matches) > 5 else ""
    raise CommandError(
        f"Có {len(matches)} đơn vị khớp với '{query}': {names}{more}. "
        "Hãy gõ cụ thể hơn hoặc dùng mã đơn vị."
    )
