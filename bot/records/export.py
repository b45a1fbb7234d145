"""The records office's export as rows: the directives of a period and their recipients.

A directive is in the period when it went (or goes) out then: stored and sent at once, or
scheduled for then; one cancelled before going is not. With a unit, only what the unit
sent or received: its people (those holding a position in it or in its tổ) are the
sender or among the recipients. For a directive the unit only received, only its own
people are listed, and the counts are over them.

Read states follow ``!baocao``: read (a public receipt at or after it, a reply, a
reaction), "chưa đọc" (their client sends public receipts, none reached it), "chưa rõ"
(the bot never saw a public receipt of theirs), "chưa chuyển" (not delivered yet).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.db.answer import Answer
from bot.db.directive import Directive
from bot.db.receipt import Receipt
from bot.db.recipient import Recipient
from bot.db.submission import Submission
from bot.directives.audience import Selection
from bot.directives.cards import kind_of
from bot.directives.kinds import field_lines
from bot.directives.when import VN, format_time
from provisioning.domain import primary_position
from provisioning.text import name_sort_key
from provisioning.view import DirectoryView, UnitView, load_view
from provisioning.vocab import UnitKind

READ, UNREAD, UNKNOWN, UNDELIVERED = "đã đọc", "chưa đọc", "chưa rõ", "chưa chuyển"
ANSWERS = {"yes": "tham dự", "no": "vắng"}
STATUS = {
    Directive.SCHEDULED: "hẹn giờ",
    Directive.SENDING: "đang gửi",
    Directive.SENT: "đã gửi",
}
_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


class ExportError(ValueError):
    """Input the export cannot use: one Vietnamese sentence saying what to fix."""


# ------------------------------------------------------------------------ input


@dataclass(frozen=True)
class Period:
    """Whole days in Vietnam, from ``first`` to ``last`` inclusive."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), VN).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight after ``last``."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), VN).astimezone(
            dt.UTC
        )


def parse_period(tu: str, den: str) -> Period:
    """``--tu`` and ``--den`` as typed (DD/MM/YYYY); the first not after the last."""
    first, last = _day(tu, "--tu"), _day(den, "--den")
    if first > last:
        raise ExportError(
            f"Ngày bắt đầu (--tu {first:%d/%m/%Y}) sau ngày kết thúc (--den {last:%d/%m/%Y}); "
            "hãy đổi lại."
        )
    return Period(first, last)


def _day(text: str, option: str) -> dt.date:
    match = _DAY.match(text.strip())
    if match is None:
        raise ExportError(
            f"Không hiểu ngày '{text}' ở {option}; hãy viết DD/MM/YYYY, ví dụ 01/12/2026."
        )
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ExportError(
            f"Ngày {text.strip()} ở {option} không có thật; hãy kiểm tra lại ngày tháng."
        ) from None


@dataclass(frozen=True)
class Scope:
    """Whose records: everything (no unit), or a unit's people."""

    unit: UnitView | None = None
    people: frozenset[int] | None = None  # None: everyone


def scope_of(view: DirectoryView, code: str | None) -> Scope:
    """The unit named by ``--unit`` (its code, any case) and its people."""
    if code is None:
        return Scope()
    wanted = code.strip().casefold()
    unit = next((u for u in view.units.values() if u.code.casefold() == wanted), None)
    if unit is None:
        raise ExportError(
            f"Không có đơn vị mã '{code}' trong danh bạ; hãy kiểm tra lại mã đơn vị (--unit)."
        )
    units = {unit.id}
    for below in view.subtree(unit.id, active_only=False):  # parents before children
        if below.kind is UnitKind.TEAM and below.parent_id in units:
            units.add(below.id)
    people = {pid for u in units for pid in view.people_by_unit.get(u, ())}
    return Scope(unit, frozenset(people))


# ------------------------------------------------------------------------ rows


@dataclass
class FileRow:
    """A file a recipient sent in reply to a report request."""

    code: str  # the directive's
    person_code: str
    name: str  # as it was sent
    mxc: str
    mimetype: str | None
    size: int | None
    path: str = ""  # where the export saves it, relative to its folder: "<mã>/<người>-<tên>"
    #: a file from an encrypted room: its key, iv and hash (the ``file`` of the event)
    encryption: dict[str, Any] | None = None


@dataclass
class RecipientRow:
    code: str
    person_code: str
    name: str
    unit: str
    delivered_at: dt.datetime | None
    read_state: str  # READ | UNREAD | UNKNOWN | UNDELIVERED
    read_at: dt.datetime | None
    answer: str = ""  # tham dự | vắng | chưa trả lời (invitations)
    deputy: str = ""
    answered_at: dt.datetime | None = None
    report: bool = False  # a report request's recipient
    submitted_at: dt.datetime | None = None  # their first reply
    late: bool | None = None
    report_text: str = ""
    files: list[FileRow] = field(default_factory=list)


@dataclass
class Counts:
    recipients: int = 0
    read: int = 0
    unread: int = 0
    unknown: int = 0
    undelivered: int = 0
    yes: int | None = None  # invitations only
    no: int | None = None
    submitted: int | None = None  # report requests only
    late: int | None = None


@dataclass
class DirectiveRow:
    code: str
    kind: str  # its Vietnamese label
    sender: str
    sender_unit: str
    sent_at: dt.datetime
    audience: str
    text: str
    number: str
    details: str  # the kind's other fields: "Thời gian: …; Địa điểm: …"
    status: str
    urgent: bool
    counts: Counts


@dataclass
class Export:
    period: Period
    scope: Scope
    directives: list[DirectiveRow] = field(default_factory=list)
    recipients: list[RecipientRow] = field(default_factory=list)

    @property
    def files(self) -> list[FileRow]:
        return [f for row in self.recipients for f in row.files]


# ------------------------------------------------------------------------ collecting


async def collect(engine: Engine, period: Period, unit_code: str | None = None) -> Export:
    """Every row of the export, from the database (the directory loaded once)."""
    view = await asyncio.to_thread(load_view, engine)
    scope = scope_of(view, unit_code)
    directives = await Directive.in_period(engine, period.start, period.end)
    recipients = await _recipients(engine, directives, scope)
    directives = [d for d in directives if d.id in recipients]
    users = {r.user_id for rows in recipients.values() for r in rows}
    public = await Receipt.users_sending_public(engine, users)
    names = _Names(view)
    export = Export(period, scope)
    for directive in directives:
        rows = sorted(recipients[directive.id], key=lambda r: names.sort_key(r.person_id))
        answers, submissions = await _replies(engine, directive)
        people = [
            _recipient_row(names, directive, r, public, answers, submissions.get(r.person_id, []))
            for r in rows
        ]
        export.directives.append(_directive_row(names, directive, people))
        export.recipients.extend(people)
    _place_files(export.files)
    return export


async def _recipients(
    engine: Engine, directives: list[Directive], scope: Scope
) -> dict[int, list[Recipient]]:
    """The recipients each directive lists, for those the scope sees (the others absent)."""
    ids = [d.id for d in directives]
    if scope.people is None:
        return await Recipient.of_directives(engine, ids)
    theirs = await Recipient.of_directives(engine, ids, set(scope.people))
    sent = [d.id for d in directives if d.sender_person_id in scope.people]
    found = {d: rows for d, rows in theirs.items() if rows}
    found.update(await Recipient.of_directives(engine, sent))  # what it sent: everyone
    return found


async def _replies(
    engine: Engine, directive: Directive
) -> tuple[dict[int, Answer], dict[int, list[Submission]]]:
    """An invitation's answers, a report request's submissions, by person."""
    answers: dict[int, Answer] = {}
    submissions: dict[int, list[Submission]] = {}
    if directive.kind == "invitation":
        answers = {a.person_id: a for a in await Answer.of_directive(engine, directive.id)}
    if directive.kind == "report_request":
        for item in await Submission.of_directive(engine, directive.id):
            submissions.setdefault(item.person_id, []).append(item)
    return answers, submissions


@dataclass(frozen=True)
class _Directory:
    """What ``Selection.describe`` reads of a snapshot (the view), without the bot's
    indexes of a whole snapshot (a second on a city)."""

    view: DirectoryView


class _Names:
    """People and units as the sheets name them (each person looked up once)."""

    def __init__(self, view: DirectoryView) -> None:
        self.view = view
        self._people: dict[int, tuple[str, str, str]] = {}
        self._keys: dict[int, tuple] = {}

    def person(self, person_id: int) -> tuple[str, str, str]:
        """(code, full name, unit name) of a person; "?" for one no longer known."""
        found = self._people.get(person_id)
        if found is None:
            person = self.view.people.get(person_id)
            if person is None:
                found = ("?", "?", "")
            else:
                primary = primary_position(self.view, person)
                found = (person.code, person.full_name, primary[1].name if primary else "")
            self._people[person_id] = found
        return found

    def sort_key(self, person_id: int) -> tuple:
        key = self._keys.get(person_id)
        if key is None:
            _code, name, unit = self.person(person_id)
            key = self._keys[person_id] = (unit, name_sort_key(name))
        return key

    def audience(self, directive: Directive) -> str:
        try:
            selection = Selection.from_json(directive.selection)
            return selection.describe(_Directory(self.view))  # type: ignore[arg-type]
        except (LookupError, TypeError, ValueError):  # a unit or word no longer known
            return "(không còn xác định được theo danh bạ hiện tại)"


def _read_state(row: Recipient, public: set[str]) -> str:
    if row.read_at is not None:
        return READ
    if row.event_id is None:
        return UNDELIVERED
    return UNREAD if row.user_id in public else UNKNOWN


def _recipient_row(
    names: _Names,
    directive: Directive,
    row: Recipient,
    public: set[str],
    answers: dict[int, Answer],
    submitted: list[Submission],
) -> RecipientRow:
    code, name, unit = names.person(row.person_id)
    out = RecipientRow(
        directive.code, code, name, unit, row.sent_at, _read_state(row, public), row.read_at
    )
    if directive.kind == "invitation":
        answer = answers.get(row.person_id)
        out.answer = ANSWERS.get(answer.answer, answer.answer) if answer else "chưa trả lời"
        out.deputy = (answer.deputy or "") if answer else ""
        out.answered_at = answer.answered_at if answer else None
    out.report = directive.kind == "report_request"
    if submitted:
        out.submitted_at = submitted[0].submitted_at
        deadline = directive.fields.get("deadline")
        if deadline and out.submitted_at is not None:
            out.late = out.submitted_at > dt.datetime.fromisoformat(deadline)
        out.report_text = "\n".join(s.body for s in submitted if s.body.strip())
        out.files = [_file(directive.code, code, f) for s in submitted for f in s.files]
    return out


def _file(directive_code: str, person_code: str, item: dict[str, Any]) -> FileRow:
    return FileRow(
        directive_code,
        person_code,
        str(item.get("name") or "tep"),
        str(item.get("mxc") or ""),
        item.get("mimetype"),
        item.get("size"),
        encryption=item.get("file") or None,
    )


def _directive_row(names: _Names, directive: Directive, people: list[RecipientRow]) -> DirectiveRow:
    kind = kind_of(directive)
    _code, sender, unit = names.person(directive.sender_person_id)
    details = [f"{label}: {value}" for label, value in field_lines(kind, directive.fields)]
    details = [x for x in details if not x.startswith(("Số hiệu:", "Trích yếu:"))]
    status = STATUS.get(directive.status, directive.status)
    if directive.cancelled_at is not None:
        status += f", đã đóng lúc {format_time(directive.cancelled_at)}"
    return DirectiveRow(
        code=directive.code,
        kind=kind.label,
        sender=sender,
        sender_unit=unit,
        sent_at=directive.sent_at,
        audience=names.audience(directive),
        text=directive.body,
        number=str(directive.fields.get("number", "")),
        details="; ".join(details),
        status=status,
        urgent=directive.urgent,
        counts=_counts(directive, people),
    )


def _counts(directive: Directive, people: list[RecipientRow]) -> Counts:
    states = [p.read_state for p in people]
    counts = Counts(
        len(people),
        states.count(READ),
        states.count(UNREAD),
        states.count(UNKNOWN),
        states.count(UNDELIVERED),
    )
    if directive.kind == "invitation":
        counts.yes = sum(p.answer == ANSWERS["yes"] for p in people)
        counts.no = sum(p.answer == ANSWERS["no"] for p in people)
    if directive.kind == "report_request":
        counts.submitted = sum(p.submitted_at is not None for p in people)
        counts.late = sum(bool(p.late) for p in people)
    return counts


def _place_files(files: list[FileRow]) -> None:
    """Where each file goes: "<mã>/<mã người>-<tên tệp>", made safe and unique."""
    taken: set[str] = set()
    for item in files:
        stem = _UNSAFE.sub("_", f"{item.person_code}-{item.name}").strip(" .") or "tep"
        stem = stem[:150]
        path, n = f"{item.code}/{stem}", 2
        while path.casefold() in taken:
            base, dot, ext = stem.rpartition(".")
            path = f"{item.code}/{base} ({n}).{ext}" if dot else f"{item.code}/{stem} ({n})"
            n += 1
        taken.add(path.casefold())
        item.path = path
