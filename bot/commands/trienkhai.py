"""!trienkhai [đơn vị] — how far the rollout has come in the asker's scope: per unit, staff
with an account, logged in at least once, active in the last 7 days, never logged in; the
units furthest behind first. For a school, who has never logged in, by name.

Reads ``account_activity`` through the bot's cache (bot/db/activity.py), never Synapse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from bot import rollout
from bot.commands import CommandError, Context, command
from bot.commands.units import unit_named
from bot.db.activity import Activity
from bot.directives.when import format_time
from bot.reply import Reply
from bot.rollout import Tally, percent
from provisioning.authority import own_teams
from provisioning.domain import short_unit_name
from provisioning.text import format_number
from provisioning.view import UnitView
from provisioning.vocab import UnitKind

if TYPE_CHECKING:
    from bot.directory import DirectorySnapshot

#: the units listed, furthest behind first; the rest in one line
UNITS_SHOWN = 30
#: the names listed for a school
NAMES_SHOWN = 100
#: answers kept: (unit, snapshot, minute) -> (the activity read they used, the answer)
_ANSWERS: dict[tuple, tuple[Activity, Reply]] = {}
MEMO_SIZE = 64
NO_DATA = (
    "Chưa có số liệu đăng nhập: máy chủ chưa chuyển số liệu lần nào; Anh/Chị thử lại sau vài phút."
)


def _scope(ctx: Context, query: str) -> UnitView:
    """The unit asked about: the asker's widest by default, else one they act for."""
    if not query:
        return ctx.asker.managed[0]
    within = ctx.asker.authority.managed_units
    return unit_named(
        ctx.snapshot, query, within, "Đơn vị '{unit}' nằm ngoài phạm vi Anh/Chị phụ trách."
    )


def _accounts_by_unit(snapshot: DirectorySnapshot) -> dict[int, frozenset[str]]:
    """Unit id -> the accounts of the active people placed there: built once per snapshot
    and kept on it (so it goes with it when the directory reloads)."""
    found = getattr(snapshot, "rollout_accounts", None)
    if found is None:
        view = snapshot.view
        found = {
            unit_id: frozenset(
                rollout.users_of(
                    [unit_id],
                    view.people_by_unit,
                    lambda p: view.people[p].active,
                    snapshot.user_of,
                )
            )
            for unit_id in view.people_by_unit
        }
        snapshot.rollout_accounts = found  # type: ignore[attr-defined]
    return found


class _Counter:
    """Counts over the snapshot and one read of the activity table."""

    def __init__(self, snapshot: DirectorySnapshot, activity: Activity, since: dt.datetime) -> None:
        self.snapshot = snapshot
        self.activity = activity
        self.since = since
        self.by_unit = _accounts_by_unit(snapshot)
        self.logged_in = activity.logged_in_users
        self.active = activity.seen_since(since)

    def users(self, unit_ids: Iterable[int]) -> set[str]:
        return set().union(*(self.by_unit.get(u, ()) for u in unit_ids))

    def tally(self, label: str, unit_ids: Iterable[int]) -> Tally:
        return rollout.tally(label, self.users(unit_ids), self.logged_in, self.active)

    def rows(self, unit: UnitView) -> list[tuple[Tally, frozenset[int]]]:
        """One row per active unit directly under ``unit`` (tổ aside), and one for the
        unit's own staff when it has any; with the units each row counts."""
        view, subtree = self.snapshot.view, self.snapshot.subtree
        parts = [
            (short_unit_name(child.name), subtree(child.id))
            for child in (view.units[i] for i in unit.children)
            if child.active and child.kind is not UnitKind.TEAM
        ]
        rows = [(self.tally(label, ids), ids) for label, ids in parts]
        if rows:
            own_ids = own_teams(view, unit)
            own = self.tally(f"Cán bộ tại {short_unit_name(unit.name)}", own_ids)
            if own.accounts:
                rows.append((own, own_ids))
        return sorted(rows, key=lambda row: rollout.behind(row[0]))


def _line(t: Tally) -> str:
    n = format_number
    return (
        f"{t.label}: {n(t.accounts)} tài khoản, {n(t.logged_in)} đã đăng nhập "
        f"({percent(t.logged_in, t.accounts)}), {n(t.active)} hoạt động 7 ngày "
        f"({percent(t.active, t.accounts)}), {n(t.never)} chưa đăng nhập"
    )


def _html_row(t: Tally, tag: str = "td") -> str:
    n = format_number
    cells = [
        escape(t.label),
        n(t.accounts),
        f"{n(t.logged_in)} ({percent(t.logged_in, t.accounts)})",
        f"{n(t.active)} ({percent(t.active, t.accounts)})",
        n(t.never),
    ]
    first, *rest = cells
    return (
        f"<tr><{tag}>{first}</{tag}>"
        + "".join(f'<{tag} align="right">{c}</{tag}>' for c in rest)
        + "</tr>"
    )


HEADER = (
    "<tr><th>Đơn vị</th><th>Tài khoản</th><th>Đã đăng nhập</th>"
    "<th>Hoạt động 7 ngày</th><th>Chưa đăng nhập</th></tr>"
)


def _table(
    counter: _Counter, rows: list[tuple[Tally, frozenset[int]]], total: Tally
) -> tuple[list[str], str]:
    """The units (the first :data:`UNITS_SHOWN`; the rest in one row, each person once)
    and the total."""
    shown, rest = rows[:UNITS_SHOWN], rows[UNITS_SHOWN:]
    lines = [_line(t) for t, _ in shown]
    html = [HEADER, *(_html_row(t) for t, _ in shown)]
    if rest:
        label = f"… {format_number(len(rest))} đơn vị khác"
        others = counter.tally(label, frozenset().union(*(ids for _, ids in rest)))
        lines.append(_line(others))
        html.append(_html_row(others))
    lines.append(_line(total))
    html.append(_html_row(total, "th"))
    return lines, "<table>" + "".join(html) + "</table>"


def _never_names(counter: _Counter, unit: UnitView) -> tuple[list[str], str]:
    snapshot = counter.snapshot
    person_of = snapshot.person_of_user
    ids = {
        person_of[u].id
        for u in counter.users(snapshot.subtree(unit.id))
        if u in person_of and not counter.activity.logged_in(u)
    }
    if not ids:
        return [], ""
    names = [p.full_name for p in snapshot.first_people(ids, NAMES_SHOWN)]
    more = len(ids) - len(names)
    text = ", ".join(names) + (f" và {format_number(more)} người khác" if more else "")
    title = f"Chưa đăng nhập lần nào ({format_number(len(ids))} người)"
    return [f"{title}: {text}"], f"<p><strong>{escape(title)}</strong>: {escape(text)}</p>"


@command(
    "trienkhai",
    spoken="triển khai",
    aliases=("tkhai",),
    usage="!trienkhai [đơn vị]",
    summary="Bao nhiêu cán bộ đã có tài khoản, đã đăng nhập, hoạt động trong 7 ngày, "
    "theo đơn vị; đơn vị chậm nhất trước.",
    examples=("!trienkhai", "!trienkhai THCS Đỗ Văn Dậy"),
    allowed=lambda asker: asker.known and asker.official,
    details=f"Liệt kê tối đa {UNITS_SHOWN} đơn vị có tỉ lệ đăng nhập thấp nhất; "
    "với một trường: tên những người chưa đăng nhập lần nào.",
)
async def trienkhai(ctx: Context, args: str) -> Reply:
    unit = _scope(ctx, args.strip())
    activity = await ctx.service.activity.get()
    if not activity.known:
        raise CommandError(NO_DATA)
    since = rollout.since(ctx.service.clock.now()).replace(second=0, microsecond=0)
    key = (unit.id, ctx.snapshot.version, since)
    found = _ANSWERS.get(key)
    if found is not None and found[0] is activity:
        return found[1]
    # a city's Sở counts 150,000 people: in a worker thread, and once per minute at most
    reply = await asyncio.to_thread(_answer, _Counter(ctx.snapshot, activity, since), unit)
    if len(_ANSWERS) >= MEMO_SIZE:
        _ANSWERS.clear()
    _ANSWERS[key] = (activity, reply)
    return reply


def _answer(counter: _Counter, unit: UnitView) -> Reply:
    """The answer for ``unit`` (blocking: every person of its subtree is counted)."""
    rows = counter.rows(unit)
    total = counter.tally("Tổng cộng", counter.snapshot.subtree(unit.id))
    when = format_time(counter.activity.copied_at)
    head = f"Triển khai tại {unit.name} (số liệu đăng nhập lúc {when})"
    lines, table = _table(counter, rows, total)
    html = [f"<p><strong>{escape(head)}</strong></p>", table]
    names: list[str] = []
    if unit.kind is UnitKind.SCHOOL:
        names, names_html = _never_names(counter, unit)
        html.append(names_html)
    data = {
        "unit": unit.code,
        "accounts": total.accounts,
        "logged_in": total.logged_in,
        "active_7d": total.active,
        "never": total.never,
        "units": [
            {
                "label": t.label,
                "accounts": t.accounts,
                "logged_in": t.logged_in,
                "active_7d": t.active,
            }
            for t, _ in rows[:UNITS_SHOWN]
        ],
    }
    text = "\n".join([head, *lines, *names])
    return Reply(text, "".join(html), extra={"vn.dieuhanh.rollout": data})
