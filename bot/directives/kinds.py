"""The kinds of post (pure): tin nhắn, thông báo, văn bản, thư mời, yêu cầu báo cáo — each
with its structured fields (stored as JSON in ``directives.fields``), how the one-line form
and the guided ``!gui`` take them, and their checks.

Extension points for a kind's own behaviour (each a registry filled by a decorator, so a
kind's module adds to it without editing this one):

- :func:`reminders_for` — the reminders a directive of the kind gets when it starts
  sending (rows of ``directive_reminders``, run by the scheduler);
- :func:`prepare_for` — attachments made once before the first delivery (the invitation's
  ``.ics``).

The card (how a kind reads in Element) is in ``bot.directives.cards``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.commands import CommandError
from bot.directives.when import format_time, parse_day, parse_when
from provisioning.text import compact, fold

if TYPE_CHECKING:
    from bot.db.directive import Directive

DATE_FORMAT = "%d/%m/%Y"
SKIP = {"boqua", "bo", "khong", "macdinh", "skip", "-"}


@dataclass(frozen=True)
class FieldContext:
    """What a field's parser and default may depend on."""

    now: dt.datetime  # the bot's clock
    send_at: dt.datetime  # when the post goes out (now, or its scheduled time)
    unit_name: str  # the sender's unit (văn bản: cơ quan ban hành by default)


@dataclass(frozen=True)
class Field:
    name: str  # key in ``fields``
    label: str  # "Số hiệu"
    prompt: str  # the guided flow's question
    parse: Callable[[str, FieldContext], Any]  # a JSON value, or CommandError
    default: Callable[[FieldContext], Any] | None = None  # None: required
    show: Callable[[Any], str] = str  # for the card and the preview

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Kind:
    name: str  # stored in directives.kind
    label: str  # "Văn bản" (capitalised, as the card's first line says it)
    choices: tuple[str, ...]  # what the guided step "loại" accepts (compacted)
    fields: tuple[Field, ...] = ()
    #: the one-line form after the colon, "|"-separated: field names, "body" for the text
    line: tuple[str, ...] = ("body",)
    optional_line: tuple[str, ...] = ()  # parts that may follow ``line``
    body_field: str | None = None  # the body when none is written (văn bản: trích yếu)
    needs_pdf: bool = False
    cancel_after_send: bool = False  # !huy after sending: the request is closed
    usage: str = ""  # of the one-line form, for "missing field" sentences

    @property
    def noun(self) -> str:
        """As a sentence says it: "văn bản"."""
        return self.label[0].lower() + self.label[1:]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


# ------------------------------------------------------------------------ field parsers


def _text(label: str, limit: int) -> Callable[[str, FieldContext], str]:
    def parse(text: str, _ctx: FieldContext) -> str:
        value = " ".join(text.split())
        if not value:
            raise CommandError(f"Thiếu {label.lower()}.")
        if len(value) > limit:
            raise CommandError(f"{label} dài quá {limit} ký tự; hãy viết ngắn lại.")
        return value

    return parse


def _future_time(text: str, ctx: FieldContext) -> str:
    """A time after now, as ISO 8601 in Vietnam's offset."""
    return parse_when(text, ctx.now).astimezone(VN_ISO).isoformat()


def _issued_on(text: str, ctx: FieldContext) -> str:
    return parse_day(text, ctx.now).strftime(DATE_FORMAT)


def _today(ctx: FieldContext) -> str:
    return ctx.now.astimezone(VN_ISO).strftime(DATE_FORMAT)


def show_time(value: str) -> str:
    return format_time(dt.datetime.fromisoformat(value))


VN_ISO = dt.timezone(dt.timedelta(hours=7))

NUMBER = Field(
    "number",
    "Số hiệu",
    "Số hiệu văn bản (ví dụ 125/SGDĐT-VP)?",
    _text("Số hiệu", 64),
)
ABSTRACT = Field("abstract", "Trích yếu", "Trích yếu nội dung văn bản?", _text("Trích yếu", 500))
ISSUED_ON = Field(
    "issued_on",
    "Ngày ban hành",
    "Ngày ban hành (ví dụ 05/12/2026)? Gõ 'bỏ qua' để lấy ngày hôm nay.",
    _issued_on,
    default=_today,
)
ISSUER = Field(
    "issuer",
    "Cơ quan ban hành",
    "Cơ quan ban hành? Gõ 'bỏ qua' để lấy tên đơn vị của Anh/Chị.",
    _text("Cơ quan ban hành", 255),
    default=lambda ctx: ctx.unit_name,
)
TITLE = Field(
    "title", "Tiêu đề", "Tiêu đề thư mời (ví dụ Họp giao ban tháng 12)?", _text("Tiêu đề", 300)
)
STARTS_AT = Field(
    "starts_at",
    "Thời gian",
    "Giờ và ngày bắt đầu (ví dụ 08:00 07/12/2026)?",
    _future_time,
    show=show_time,
)
LOCATION = Field("location", "Địa điểm", "Địa điểm?", _text("Địa điểm", 300))
DEADLINE = Field(
    "deadline",
    "Hạn nộp",
    "Hạn nộp báo cáo (giờ và ngày, ví dụ 17:00 10/12/2026)?",
    _future_time,
    show=show_time,
)
#: fields that are times: each must fall after the post goes out
TIME_FIELDS = ("starts_at", "deadline")

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "message",
            "Tin nhắn điều hành",
            ("1", "tinnhan", "tinnhandieuhanh", "tin"),
            usage="!gui <đối tượng>: <nội dung>",
        ),
        Kind(
            "notice",
            "Thông báo",
            ("2", "thongbao", "tb"),
            usage="!thongbao <đối tượng>: <nội dung>",
        ),
        Kind(
            "document",
            "Văn bản",
            ("3", "vanban", "vb", "congvan"),
            fields=(NUMBER, ABSTRACT, ISSUED_ON, ISSUER),
            line=("number", "abstract"),
            optional_line=("issued_on", "issuer"),
            body_field="abstract",
            needs_pdf=True,
            usage="!vanban <đối tượng>: <số hiệu> | <trích yếu>",
        ),
        Kind(
            "invitation",
            "Thư mời",
            ("4", "thumoi", "moi", "giaymoi"),
            fields=(TITLE, STARTS_AT, LOCATION),
            line=("title", "starts_at", "location"),
            body_field="title",
            usage="!thumoi <đối tượng>: <tiêu đề> | <08:00 07/12/2026> | <địa điểm>",
        ),
        Kind(
            "report_request",
            "Yêu cầu báo cáo",
            ("5", "yeucaubaocao", "yeucau", "baocao", "ycbc"),
            fields=(DEADLINE,),
            line=("body", "deadline"),
            cancel_after_send=True,
            usage="!yeucau <đối tượng>: <nội dung> | <17:00 10/12/2026>",
        ),
    )
}
MESSAGE = KINDS["message"]


def kind_named(text: str) -> Kind | None:
    """The kind someone typed at the step "loại" ("văn bản", "3", "thu moi")."""
    key = compact(text)
    return next((k for k in KINDS.values() if key in k.choices), None)


def parse_field(field: Field, text: str, ctx: FieldContext) -> Any:
    """A field from what was typed; an optional one's default for "bỏ qua"."""
    if field.default is not None and (not text.strip() or compact(text) in SKIP):
        return field.default(ctx)
    return field.parse(text, ctx)


def parse_line(kind: Kind, text: str, ctx: FieldContext) -> tuple[str, dict[str, Any]]:
    """The part after the colon of a one-line form: (body, fields).

    Parts are "|"-separated; a missing one is refused naming it. Extra parts belong to
    the body where the form has one (a text may hold a "|"), else they are refused.
    """
    parts = [p.strip() for p in text.split("|")]
    names = list(kind.line)
    longest = len(names) + len(kind.optional_line)
    if len(parts) > longest:
        if "body" not in names:
            raise CommandError(f"Có quá nhiều phần ngăn bởi '|'; dạng đúng là {kind.usage}.")
        at, extra = names.index("body"), len(parts) - longest
        parts = [*parts[:at], " | ".join(parts[at : at + extra + 1]), *parts[at + extra + 1 :]]
    names += list(kind.optional_line)[: max(0, len(parts) - len(names))]
    for i, name in enumerate(names):
        if i >= len(parts) or not parts[i]:
            label = "nội dung" if name == "body" else kind.field(name).label.lower()
            raise CommandError(f"Thiếu {label}: dạng đúng là {kind.usage}.")
    values = dict(zip(names, parts, strict=True))
    body = values.pop("body", "")
    fields = {f.name: parse_field(f, values.get(f.name, ""), ctx) for f in kind.fields}
    if not body and kind.body_field:
        body = fields[kind.body_field]
    return body, fields


def check_times(kind: Kind, fields: dict[str, Any], send_at: dt.datetime) -> None:
    """A time field (start, deadline) must fall after the post goes out."""
    for field in kind.fields:
        if field.name in TIME_FIELDS and field.name in fields:
            value = dt.datetime.fromisoformat(fields[field.name])
            if value <= send_at:
                raise CommandError(
                    f"{field.label} ({show_time(fields[field.name])}) phải sau thời điểm gửi "
                    f"({format_time(send_at)})."
                )


def field_lines(kind: Kind, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, shown value) of each field the post has, in the kind's order."""
    return [(f.label, f.show(fields[f.name])) for f in kind.fields if fields.get(f.name)]


def search_text(body: str, fields: dict[str, Any]) -> str:
    """What !tim searches: the body and the fields' values, folded."""
    return fold(" ".join([body, *(str(v) for v in fields.values() if v)]))


# ------------------------------------------------------------------------ extension points

Reminders = Callable[[dict[str, Any], dt.datetime], list[tuple[str, dt.datetime]]]
Prepare = Callable[["Directive", Any, Any], Awaitable[list[dict[str, Any]] | None]]
REMINDERS: dict[str, Reminders] = {}
PREPARE: dict[str, Prepare] = {}


def reminders_for(kind: str) -> Callable[[Reminders], Reminders]:
    """Register ``fn(fields, sent_at) -> [(reminder kind, due at)]``: the reminders a
    directive of ``kind`` gets when it starts sending (at once, or when its scheduled time
    comes), stored in the same transaction as its deliveries. Reminders already due at
    ``sent_at`` are dropped (an invitation sent the evening before gets no "day before")."""

    def register(fn: Reminders) -> Reminders:
        REMINDERS[kind] = fn
        return fn

    return register


def prepare_for(kind: str) -> Callable[[Prepare], Prepare]:
    """Register ``async fn(directive, transport, snapshot) -> attachments | None``, run by
    the delivery worker before the first delivery of a directive of ``kind`` (after
    attachments from an encrypted DM were re-uploaded). Return the directive's new
    attachment list (it is saved, and every delivery carries it), or None to leave it as it
    is; the worker runs it until the directive is sent, so make it idempotent (e.g. skip
    when your file is in ``directive.attachments`` already).
    ``transport.upload(data, mimetype, filename)`` uploads a file and returns its mxc URI;
    ``snapshot`` is the directory (a ``DirectorySnapshot``: the sender's unit). If it
    raises, no copy of the directive goes out until a later round succeeds."""

    def register(fn: Prepare) -> Prepare:
        PREPARE[kind] = fn
        return fn

    return register


def reminders_of(
    kind: str, fields: dict[str, Any], sent_at: dt.datetime
) -> list[tuple[str, dt.datetime]]:
    """The reminders to store when a directive of ``kind`` starts sending at ``sent_at``."""
    planned = REMINDERS.get(kind)
    if planned is None:
        return []
    return [(name, due) for name, due in planned(fields, sent_at) if due > sent_at]
