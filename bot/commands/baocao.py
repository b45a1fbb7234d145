"""!baocao [mã] and !nhacnho [mã] — who has read a directive; remind those who have not.

Read = a public read receipt at or after the directive in the room that carried it, or a
reply or reaction to it. People who have never logged in (account_activity, copied from
Synapse by the login module) are "chưa đăng nhập": they cannot have read it. People who
have, but whose clients have never sent a public receipt the bot could see (private
receipts) are "chưa rõ", not "chưa đọc" (``bot.directives.readstate``). !nhacnho leaves
out those who never logged in (a reminder in their inbox reaches nobody), says how many
and points to !moi. For a khẩn post (or one sent "kèm SMS") !baocao adds its SMS
fallback: when it runs, then how many went and failed, and to whom
(``bot.directives.fallback``).

Extension points for the kinds: :func:`report_section` adds a kind's own section to
!baocao (an invitation's answers, a request's submissions); :func:`remind_targets` says
whom !nhacnho reminds for a kind, and how (default: the unread and the unknown, with a
read reminder; never anyone who has never logged in).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any, TypeVar

from bot.commands import CommandError, Context, command
from bot.commands.units import unit_named
from bot.db.delivery import Delivery
from bot.db.directive import Directive
from bot.db.family_recipient import PARENT, FamilyRecipient
from bot.db.recipient import Recipient
from bot.directives.cards import kind_of
from bot.directives.fallback import sms_status
from bot.directives.families import class_counts, class_names
from bot.directives.readstate import by_state
from bot.directives.roster import NAMES_SHOWN, UNITS_SHOWN, narrow_hint, unit_lines
from bot.directives.when import format_time
from bot.reply import Reply
from provisioning.domain import short_unit_name
from provisioning.outreach.ledger import ACCEPTED, FAILED, UNKNOWN
from provisioning.text import format_number
from provisioning.view import UnitView

Groups = dict[str, list[Recipient]]  # a state -> recipients
_Row = TypeVar("_Row", Recipient, FamilyRecipient)


@dataclass
class Section:
    """A kind's own part of !baocao."""

    lines: list[str] = field(default_factory=list)  # plain text, after the read status
    html: str = ""  # the same in HTML
    data: dict[str, Any] = field(default_factory=dict)  # merged into vn.dieuhanh.report


@dataclass
class Targets:
    """Whom !nhacnho reminds, and how."""

    person_ids: list[int]
    delivery_kind: str  # of the planned deliveries (a part function is registered for it)
    who: str  # "chưa đọc", "chưa nộp báo cáo": for the answer


SectionFn = Callable[[Context, Directive, Groups], Awaitable[Section | None]]
TargetsFn = Callable[[Context, Directive, Groups], Awaitable[Targets]]
SECTIONS: dict[str, SectionFn] = {}
TARGETS: dict[str, TargetsFn] = {}


def report_section(kind: str) -> Callable[[SectionFn], SectionFn]:
    """Register ``async fn(ctx, directive, groups) -> Section | None``: what !baocao adds
    for a directive of ``kind`` after its read status (``groups``: recipients by read
    state; ``ctx.snapshot`` names people and units)."""

    def register(fn: SectionFn) -> SectionFn:
        SECTIONS[kind] = fn
        return fn

    return register


def remind_targets(kind: str) -> Callable[[TargetsFn], TargetsFn]:
    """Register ``async fn(ctx, directive, groups) -> Targets``: whom !nhacnho reminds for a
    directive of ``kind`` (a report request: those who have not submitted)."""

    def register(fn: TargetsFn) -> TargetsFn:
        TARGETS[kind] = fn
        return fn

    return register


def _official(asker) -> bool:
    return asker.sends  # an official, or a homeroom teacher (their class's families)


async def _directive(ctx: Context, args: str) -> Directive:
    engine = ctx.service.engine
    code = args.strip()
    if code:
        row = await Directive.by_code(engine, code)
    else:
        row = await Directive.latest_of(engine, ctx.asker.user_id)
    if row is None:
        raise CommandError(
            f"Không tìm thấy tin nhắn điều hành mã '{code}'."
            if code
            else "Anh/Chị chưa gửi tin nhắn điều hành nào."
        )
    if row.sender_user_id != ctx.asker.user_id:
        raise CommandError("Anh/Chị chỉ xem được báo cáo của tin nhắn điều hành do mình gửi.")
    return row


async def status(ctx: Context, directive: Directive) -> dict[str, list[Recipient]]:
    """Recipients by state: read, unread, unknown, never (logged in), undelivered.

    "never" stays empty while the login module has not copied who logged in (they are
    then "unknown", as before it existed)."""
    return await _by_state(ctx, await Recipient.of_directive(ctx.service.engine, directive.id))


async def family_status(ctx: Context, directive: Directive) -> dict[str, list[FamilyRecipient]]:
    """Parents and students by state, as :func:`status`; empty for a post to staff only."""
    rows = await FamilyRecipient.of_directive(ctx.service.engine, directive.id)
    return await _by_state(ctx, rows) if rows else {}


async def _by_state(ctx: Context, rows: list[_Row]) -> dict[str, list[_Row]]:
    """``rows`` (staff or family recipients) by read state (``readstate.STATES``)."""
    return await by_state(ctx.service.engine, await ctx.service.activity.get(), rows)


async def family_lines(ctx: Context, family: dict[str, list[FamilyRecipient]]) -> list[str]:
    """'Phụ huynh: 12 người nhận, 5 đã đọc; theo lớp:' and '  6A1: 5/12 đã đọc' per class."""
    rows = [r for group in family.values() for r in group]
    parents = sum(1 for r in rows if r.role == PARENT)
    n = format_number
    who = f"Phụ huynh: {n(parents)}" + (
        f", học sinh: {n(len(rows) - parents)}" if len(rows) > parents else ""
    )
    names = await class_names(ctx.service.engine, {c for r in rows for c in r.classes})
    return [
        f"{who} — {n(len(family['read']))} đã đọc, {n(len(family['unread']))} chưa đọc, "
        f"{n(len(family['unknown']))} chưa rõ, {n(len(family['never']))} chưa đăng nhập; "
        "theo lớp:",
        *(f"  {x}" for x in _capped(class_counts(rows, names), "lớp")),
    ]


def _capped(items: list[str], noun: str) -> list[str]:
    """At most ``UNITS_SHOWN`` lines, then how many more (an event holds 64 KiB)."""
    if len(items) <= UNITS_SHOWN:
        return items
    rest = len(items) - UNITS_SHOWN
    return [*items[:UNITS_SHOWN], f"… và {format_number(rest)} {noun} khác"]


def _by_unit(ctx: Context, rows: list[Recipient]) -> list[str]:
    view = ctx.snapshot.view
    units: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        person = view.people.get(row.person_id)
        if person is None:
            continue
        primary = ctx.snapshot.primary(person)
        units[short_unit_name(primary[1].name) if primary else "?"].append(person.full_name)
    return unit_lines({unit: sorted(names) for unit, names in sorted(units.items())})[0]


def _unit_named(ctx: Context, query: str) -> UnitView:
    """The unit ``query`` names (code or words of its name): !baocao narrowed to it."""
    return unit_named(ctx.snapshot, query, ctx.snapshot.all_units, "")


def _within(ctx: Context, groups: Groups, unit: UnitView) -> Groups:
    """Only the recipients whose main unit is ``unit`` or under it."""
    subtree = ctx.snapshot.subtree(unit.id)

    def inside(row: Recipient) -> bool:
        person = ctx.snapshot.view.people.get(row.person_id)
        primary = ctx.snapshot.primary(person) if person else None
        return primary is not None and primary[1].id in subtree

    return {key: [r for r in rows if inside(r)] for key, rows in groups.items()}


def _read_states(ctx: Context, groups: Groups) -> tuple[list[str], list[str]]:
    """Chưa đọc / chưa rõ / chưa đăng nhập / chưa chuyển, by unit: text lines and HTML."""
    lines: list[str] = []
    html: list[str] = []
    for key, title in (
        ("unread", "Chưa đọc"),
        ("unknown", "Chưa rõ (ứng dụng không gửi xác nhận đọc công khai, hoặc chưa mở)"),
        ("never", "Chưa đăng nhập lần nào (chưa thể đọc)"),
        ("undelivered", "Chưa chuyển"),
    ):
        if groups[key]:
            items = _by_unit(ctx, groups[key])
            lines += [f"{title}:", *(f"  {x}" for x in items)]
            html.append(
                f"<p><strong>{escape(title)}</strong></p><ul>"
                + "".join(f"<li>{escape(x)}</li>" for x in items)
                + "</ul>"
            )
    return lines, html


@command(
    "baocao",
    spoken="báo cáo",
    aliases=("bc",),
    usage="!baocao [mã] [đơn vị]",
    summary="Ai đã đọc, chưa đọc tin nhắn điều hành Anh/Chị đã gửi (mặc định: tin gần nhất).",
    examples=("!baocao", "!baocao K7QMA", "!baocao K7QMA THCS Đỗ Văn Dậy"),
    details=f"Khi một nhóm có hơn {NAMES_SHOWN} người, báo cáo cho số người theo đơn vị; "
    "thêm tên hoặc mã đơn vị sau mã tin để xem tên từng người trong đơn vị đó.",
    allowed=_official,
)
async def baocao(ctx: Context, args: str) -> Reply:
    code, _, unit_query = args.strip().partition(" ")
    directive = await _directive(ctx, code)
    if directive.status in (Directive.SCHEDULED, Directive.CANCELLED):
        return _not_sent(directive)
    groups = await status(ctx, directive)
    unit = _unit_named(ctx, unit_query.strip()) if unit_query.strip() else None
    # families are counted by class; narrowed to a unit, the report is its staff's
    family = await family_status(ctx, directive) if unit is None else {}
    if unit is not None:
        groups = _within(ctx, groups, unit)
    both = {k: len(v) + len(family.get(k, ())) for k, v in groups.items()}
    total = sum(both.values())
    head = _head(directive, both, f"; trong {unit.name}" if unit is not None else "")
    lines, html = [head], [f"<p>{escape(head)}</p>"]
    if family:
        more = await family_lines(ctx, family)
        lines += more
        html.append("<p>" + "<br>".join(escape(x) for x in more) + "</p>")
    states, states_html = _read_states(ctx, groups)
    lines += states
    html += states_html
    report = {
        "code": directive.code,
        "kind": directive.kind,
        "status": directive.status,
        "recipients": total,
        "delivered": total - both["undelivered"],
        **both,
    }
    if family:
        report["families"] = {k: len(v) for k, v in family.items()}
    kind_part = (
        await SECTIONS[directive.kind](ctx, directive, groups)
        if directive.kind in SECTIONS
        else None
    )
    for section in (await _sms_section(ctx, directive, unit), kind_part):
        if section is not None:
            lines += section.lines
            html.append(section.html)
            report.update(section.data)
    if unit is not None:
        report["unit"] = unit.code
    elif total > NAMES_SHOWN:
        hint = narrow_hint(directive.code)
        lines.append(hint)
        html.append(f"<p><em>{escape(hint)}</em></p>")
    return Reply("\n".join(lines), "".join(html), extra={"vn.dieuhanh.report": report})


async def _sms_section(ctx: Context, directive: Directive, unit: UnitView | None) -> Section | None:
    """The post's SMS fallback: when it runs, or how many went and failed, and to whom
    (staff only: a unit narrows it like the rest)."""
    found = await sms_status(ctx.service.engine, directive)
    if not found.planned and not found.sent:
        return None
    rows = found.sent if unit is None else _within(ctx, {"sms": found.sent}, unit)["sms"]
    sent = [r for r in rows if r.status == ACCEPTED]
    failed = [r for r in rows if r.status == FAILED]
    unknown = [r for r in rows if r.status == UNKNOWN]  # their sender stopped mid-send
    pending = len(rows) - len(sent) - len(failed) - len(unknown)
    n = format_number
    if found.done_at is None and not rows:
        head = f"SMS: sẽ gửi lúc {format_time(found.due_at)} cho ai chưa mở tin."
    else:
        head = f"SMS: {n(len(sent))} đã gửi, {n(len(failed))} lỗi"
        head += f", {n(len(unknown))} không rõ kết quả" if unknown else ""
        head += f", {n(pending)} đang gửi." if pending else "."
    groups = [
        (title, _by_unit(ctx, group))
        for title, group in (
            ("Đã gửi SMS", sent),
            ("Gửi SMS lỗi", failed),
            ("SMS không rõ kết quả (bị dừng khi đang gửi; không gửi lại)", unknown),
        )
        if group
    ]
    lines = [
        head,
        *(x for title, items in groups for x in (f"{title}:", *(f"  {i}" for i in items))),
    ]
    if failed:
        lines.append(f"  (lỗi: {failed[0].result})")
    people = ctx.snapshot.view.people
    data = {
        "sent": len(sent),
        "failed": len(failed),
        "unknown": len(unknown),
        "pending": pending,
        "due_at": found.due_at.isoformat() if found.due_at else None,
        "people": {people[r.person_id].code: r.status for r in rows if r.person_id in people},
    }
    return Section(lines, f"<p>{escape(head)}</p>" + _lists_html(groups), {"sms": data})


def _lists_html(groups: list[tuple[str, list[str]]]) -> str:
    return "".join(
        f"<p><strong>{escape(title)}</strong></p><ul>"
        + "".join(f"<li>{escape(x)}</li>" for x in items)
        + "</ul>"
        for title, items in groups
    )


def _head(directive: Directive, counts: dict[str, int], where: str = "") -> str:
    """'Thông báo mã K7QMA (gửi lúc …): 12 người nhận, 12 đã chuyển, 5 đã đọc, …'."""
    n, total = format_number, sum(counts.values())
    closed = (
        f", đã đóng lúc {format_time(directive.cancelled_at)}" if directive.cancelled_at else ""
    )
    return (
        f"{kind_of(directive).label} mã {directive.code} (gửi lúc "
        f"{format_time(directive.sent_at)}{closed}{where}): {n(total)} người nhận, "
        f"{n(total - counts['undelivered'])} đã chuyển, {n(counts['read'])} đã đọc, "
        f"{n(counts['unread'])} chưa đọc, {n(counts['unknown'])} chưa rõ, "
        f"{n(counts['never'])} chưa đăng nhập."
    )


def _not_sent(directive: Directive) -> Reply:
    """!baocao of a post that has not gone out: when it will, or that it was cancelled."""
    kind = kind_of(directive)
    if directive.status == Directive.SCHEDULED:
        text = (
            f"{kind.label} mã {directive.code} hẹn giờ gửi lúc {format_time(directive.sent_at)}"
            f"; chưa gửi. Gõ !huy {directive.code} để huỷ."
        )
    else:
        text = (
            f"{kind.label} mã {directive.code} đã được huỷ lúc "
            f"{format_time(directive.cancelled_at)}, trước giờ gửi; không có người nhận."
        )
    report = {"code": directive.code, "kind": directive.kind, "status": directive.status}
    return Reply(text, extra={"vn.dieuhanh.report": report})


async def _unread(_ctx: Context, _directive: Directive, groups: Groups) -> Targets:
    ids = [r.person_id for r in groups["unread"] + groups["unknown"] + groups["never"]]
    return Targets(ids, "reminder", "chưa đọc")


@command(
    "nhacnho",
    spoken="nhắc nhở",
    aliases=("nhac",),
    usage="!nhacnho [mã]",
    summary="Nhắc riêng những người chưa đọc tin nhắn điều hành (mặc định: tin gần nhất).",
    examples=("!nhacnho", "!nhacnho K7QMA"),
    allowed=_official,
)
async def nhacnho(ctx: Context, args: str) -> Reply:
    directive = await _directive(ctx, args)
    kind = kind_of(directive)
    if directive.status in (Directive.SCHEDULED, Directive.CANCELLED):
        raise CommandError(f"{kind.label} mã {directive.code} chưa được gửi; chưa thể nhắc.")
    groups = await status(ctx, directive)
    targets = await TARGETS.get(directive.kind, _unread)(ctx, directive, groups)
    never = {r.person_id for r in groups["never"]}
    reachable = [pid for pid in targets.person_ids if pid not in never]
    skipped = len(set(targets.person_ids) & never)
    family = await family_status(ctx, directive)  # read reminders (no kind of theirs asks more)
    users = [r.user_id for r in family.get("unread", []) + family.get("unknown", [])]
    skipped += len(family.get("never", []))
    note = (
        f" {format_number(skipped)} người chưa đăng nhập lần nào sẽ không nhận được lời "
        "nhắc (gõ !moi để mời họ đăng nhập qua SMS)."
        if skipped
        else ""
    )
    count = len(reachable) + len(users)
    extra = {"vn.dieuhanh.reminded": count, "vn.dieuhanh.never_logged_in": skipped}
    if not targets.person_ids and not users and not skipped:
        return Reply(f"Không còn ai {targets.who} {kind.noun} mã {directive.code}; không cần nhắc.")
    if not count:
        return Reply(
            f"Không còn ai {targets.who} {kind.noun} mã {directive.code} có thể nhắc qua hộp "
            f"thư; không gửi lời nhắc nào.{note}",
            extra=extra,
        )
    engine = ctx.service.engine
    await Delivery.add_reminders(engine, directive.id, reachable, targets.delivery_kind)
    await Delivery.add_family_reminders(engine, directive.id, users)
    ctx.service.directive_saved(directive.id)
    count = len(targets.person_ids) + len(users)
    return Reply(
        f"Đang nhắc {format_number(count)} người {targets.who} {kind.noun} "
        f"mã {directive.code} qua hộp thư riêng của từng người.{note}",
        extra=extra,
    )
