"""Report requests (yêu cầu báo cáo), the pure part: what a reply submits (its text, its
files), who submitted on time, late or not at all, and the sentences the bot says about it.

A person's submission time is that of their first submission; on time means at or before
the deadline. The adapters: ``bot.directives.submissions`` (taking a submission: a reply
to the request, ``!nop``, files in the DM; the summary after the deadline) and
``bot.commands.nop`` (``!nop``, and the request's parts of ``!baocao`` and ``!nhacnho``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from bot.directives import files
from bot.directives.cards import card_note, delivery_parts
from bot.directives.kinds import reminders_for
from bot.directives.message import MARKER
from bot.directives.roster import unit_lines
from bot.directives.when import format_time
from provisioning.domain import short_unit_name
from provisioning.text import format_number, name_sort_key

if TYPE_CHECKING:
    from bot.db.delivery import Delivery
    from bot.db.directive import Directive
    from bot.directory import DirectorySnapshot

KIND = "report_request"
#: files sent in the DM after ``!nop`` count toward it until this long after the last one
WINDOW = dt.timedelta(minutes=10)


def deadline_of(directive: Directive) -> dt.datetime:
    return dt.datetime.fromisoformat(directive.fields["deadline"])


def duration_words(delta: dt.timedelta) -> str:
    """'2 ngày 3 giờ', '1 giờ 5 phút', '1 phút' (minutes rounded up; days drop minutes)."""
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "ngày"), (hours, "giờ")] + ([] if days else [(minutes, "phút")])
    return " ".join(f"{n} {unit}" for n, unit in parts if n)


def lateness(submitted_at: dt.datetime, deadline: dt.datetime) -> str:
    """'' when on time, else '(nộp muộn 2 giờ 5 phút so với hạn 17:00 10/12/2026)'."""
    if submitted_at <= deadline:
        return ""
    late = duration_words(submitted_at - deadline)
    return f"(nộp muộn {late} so với hạn {format_time(deadline)})"


# ------------------------------------------------------------------------ what is submitted


def reply_text(content: dict[str, Any]) -> str:
    """The words of a reply: a text's body without the quoted fallback ("> <@a:b> …"
    lines and the blank line after them), or a file's caption (a body other than its
    file name)."""
    body = str(content.get("body") or "")
    if content.get("msgtype") in files.FILE_MSGTYPES:
        filename = content.get("filename")
        return body.strip() if filename and body != filename else ""
    lines = body.split("\n")
    if (content.get("m.relates_to") or {}).get("m.in_reply_to") and lines[0].startswith(">"):
        while lines and lines[0].startswith(">"):
            lines.pop(0)
    return "\n".join(lines).strip()


def file_record(content: dict[str, Any]) -> dict[str, Any]:
    """What a submission keeps of a file message: {mxc, name, mimetype, size}; a file
    from an encrypted room also keeps its ``file`` (key, iv, hashes) to decrypt it."""
    info = content.get("info") or {}
    encrypted = content.get("file") or {}
    record: dict[str, Any] = {
        "mxc": content.get("url") or encrypted.get("url") or "",
        "name": files.file_name(content),
        "mimetype": str(info.get("mimetype") or ""),
        "size": info.get("size") if isinstance(info.get("size"), int) else None,
    }
    if encrypted:
        record["file"] = encrypted
    return record


@dataclass(frozen=True)
class Submitted:
    """One submission as it came: a reply, a ``!nop`` line, or a file in the DM."""

    room_id: str
    event_id: str
    text: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)  # file_record()s

    @classmethod
    def of_message(cls, room_id: str, event_id: str, content: dict[str, Any]) -> Submitted:
        """A message (a reply, a file in the DM) as a submission; its file, if any, as the
        message carried it (check it with ``refused``)."""
        msgtype = str(content.get("msgtype") or "m.text")
        file = files.of_message(msgtype, content)
        return cls(room_id, event_id, reply_text(content), [file] if file else [])

    def refused(self) -> str | None:
        """The sentence refusing a file that is no PDF, Office document or image."""
        return next((files.refusal(f) for f in self.files if not files.accepted(f)), None)

    def kept(self) -> list[dict[str, Any]]:
        return [file_record(f) for f in self.files]


def confirmation(code: str, submitted: Submitted, late: str) -> str:
    """'Đã nhận báo cáo theo yêu cầu mã K7QMA (nộp muộn …): tệp a.pdf.'"""
    what = []
    if submitted.files:
        names = ", ".join(files.file_name(f) for f in submitted.files)
        what.append(f"tệp {names}")
    if submitted.text:
        excerpt = submitted.text if len(submitted.text) <= 80 else submitted.text[:77] + "…"
        what.append(f"nội dung «{' '.join(excerpt.split())}»")
    return f"Đã nhận báo cáo theo yêu cầu mã {code}{' ' + late if late else ''}: " + (
        "; ".join(what) + "."
    )


# ------------------------------------------------------------------------ who has submitted


@dataclass
class Tally:
    """Recipients (person ids) by what they submitted."""

    on_time: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)

    @property
    def submitted(self) -> list[int]:
        return self.on_time + self.late

    def counts(self) -> dict[str, int]:
        return {
            "submitted": len(self.submitted),
            "on_time": len(self.on_time),
            "late": len(self.late),
            "missing": len(self.missing),
        }


def tally(
    recipients: Iterable[int], firsts: dict[int, dt.datetime], deadline: dt.datetime
) -> Tally:
    """Each recipient by their first submission's time against the deadline."""
    result = Tally()
    for pid in sorted(set(recipients)):
        first = firsts.get(pid)
        if first is None:
            result.missing.append(pid)
        elif first <= deadline:
            result.on_time.append(pid)
        else:
            result.late.append(pid)
    return result


def by_unit(snapshot: DirectorySnapshot, person_ids: Iterable[int]) -> list[str]:
    """'THCS Đỗ Văn Dậy: Lê Văn An, Trần Thị Bình' per unit (a person's primary one)."""
    units: dict[str, list[str]] = defaultdict(list)
    for pid in person_ids:
        person = snapshot.view.people.get(pid)
        if person is None:
            continue
        primary = snapshot.primary(person)
        units[short_unit_name(primary[1].name) if primary else "?"].append(person.full_name)
    ordered = {unit: sorted(names, key=name_sort_key) for unit, names in sorted(units.items())}
    return unit_lines(ordered)[0]


GROUPS = (
    ("on_time", "Đã nộp đúng hạn"),
    ("late", "Đã nộp muộn"),
    ("missing", "Chưa nộp"),
)


def tally_head(result: Tally) -> str:
    """'Báo cáo: 5/8 đã nộp (4 đúng hạn, 1 muộn), 3 chưa nộp.'"""
    n = format_number
    total = len(result.submitted) + len(result.missing)
    return (
        f"Báo cáo: {n(len(result.submitted))}/{n(total)} đã nộp ({n(len(result.on_time))} "
        f"đúng hạn, {n(len(result.late))} muộn), {n(len(result.missing))} chưa nộp."
    )


def tally_report(
    snapshot: DirectorySnapshot, result: Tally, head: str | None = None
) -> tuple[list[str], str]:
    """The tally as text lines and HTML: its head (``tally_head`` unless given), then each
    non-empty group by unit."""
    head = head or tally_head(result)
    lines, html = [head], [f"<p>{escape(head)}</p>"]
    for key, title in GROUPS:
        ids = getattr(result, key)
        if not ids:
            continue
        title = f"{title} ({format_number(len(ids))})"
        items = by_unit(snapshot, ids)
        lines += [f"{title}:", *(f"  {x}" for x in items)]
        html.append(
            f"<p><strong>{escape(title)}</strong></p><ul>"
            + "".join(f"<li>{escape(x)}</li>" for x in items)
            + "</ul>"
        )
    return lines, "".join(html)


def summary_text(code: str, deadline: dt.datetime, head: str) -> str:
    """The first line of the summary the sender gets after the deadline."""
    return (
        f"Đã đến hạn nộp báo cáo theo yêu cầu mã {code} ({format_time(deadline)}). {head} "
        f"Gõ !baocao {code} để xem chi tiết, !nhacnho {code} để nhắc những người chưa nộp."
    )


# ------------------------------------------------------------------------ the kind's hooks

SUMMARY = "deadline_summary"  # directive_reminders.kind
REMINDER = "report_reminder"  # directive_deliveries.kind (!nhacnho)


def how_to_submit(code: str) -> str:
    return (
        "Cách nộp: trả lời (Reply) tin này kèm nội dung hoặc tệp báo cáo (PDF, Office, ảnh); "
        f"hoặc gõ !nop {code} trong tin nhắn riêng với bot rồi gửi tệp."
    )


@reminders_for(KIND)
def _summary_at_deadline(fields: dict[str, Any], _sent_at: dt.datetime) -> list:
    """One summary to the sender when the deadline passes."""
    return [(SUMMARY, dt.datetime.fromisoformat(fields["deadline"]))]


@card_note(KIND)
def _how_to_answer(directive: Directive) -> list[str]:
    return [how_to_submit(directive.code)]


@delivery_parts(REMINDER)
def report_reminder(
    directive: Directive, _delivery: Delivery, sender: str, link: str | None
) -> list[dict[str, Any]]:
    """!nhacnho of a request: "you have not submitted …", how to, a link to the request."""
    body = directive.body
    excerpt = body if len(body) <= 200 else body[:197] + "…"
    code, deadline = directive.code, format_time(deadline_of(directive))
    head = f"Anh/Chị chưa nộp báo cáo theo yêu cầu mã {code} của {sender} (hạn {deadline}):"
    how = how_to_submit(code)
    text = f"Nhắc việc: {head}\n«{excerpt}»\n{how}"
    html = (
        f"<p><strong>Nhắc việc</strong>: {escape(head)}</p>"
        f"<blockquote>{escape(excerpt)}</blockquote><p>{escape(how)}</p>"
    )
    if link:
        text += f"\nXem yêu cầu: {link}"
        html += f'<p><a href="{escape(link)}">Xem yêu cầu</a></p>'
    marker = {"code": code, "reminder": True, "report": True}
    return [
        {
            "msgtype": "m.text",
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
            MARKER: marker,
        }
    ]
