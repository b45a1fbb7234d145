"""!thamdu <mã> có|không [người dự thay] — answer an invitation (thư mời); and what
!baocao adds for one: tham dự / vắng / chưa trả lời, with names by unit.

Reacting ✅ or ❌ to the invitation does the same (``bot.directives.rsvp``).
"""

from __future__ import annotations

from html import escape

from bot.commands import CommandError, Context, command
from bot.commands.baocao import Groups, Section, Targets, remind_targets, report_section
from bot.db.answer import Answer
from bot.db.directive import Directive
from bot.directives import rsvp
from bot.directives.invitation import (
    GROUPS,
    KIND,
    NUDGE,
    Invitee,
    by_unit,
    meeting_line,
    parse_thamdu,
    starts_at,
)
from bot.directives.invitation import tally as tally_of
from bot.reply import Reply
from provisioning.domain import short_unit_name
from provisioning.text import format_number

GONE = "Không còn trong danh bạ"


@command(
    "thamdu",
    spoken="tham dự",
    usage="!thamdu <mã> có|không [người dự thay]",
    summary="Trả lời thư mời: tham dự hoặc vắng, có thể kèm tên người dự thay.",
    examples=("!thamdu K7QMA có", "!thamdu K7QMA không", "!thamdu K7QMA có Lê Văn Tư"),
    details="Cũng có thể thả ✅ (tham dự) hoặc ❌ (vắng) vào thư mời. Câu trả lời sau cùng "
    "được tính; trả lời được đến giờ họp.",
)
async def thamdu(ctx: Context, args: str) -> Reply:
    typed = parse_thamdu(args)
    engine = ctx.service.engine
    return await rsvp.record(
        engine,
        ctx.snapshot,
        await Directive.by_code(engine, typed.code),
        typed.code,
        ctx.asker.user_id,
        typed.answer,
        deputy=typed.deputy,
        how="command",
        now=ctx.service.clock.now(),
    )


async def invitees(ctx: Context, directive: Directive, groups: Groups) -> list[Invitee]:
    """Every recipient with their unit, name and current answer."""
    answers = {a.person_id: a for a in await Answer.of_directive(ctx.service.engine, directive.id)}
    found = []
    for row in (r for rows in groups.values() for r in rows):
        person = ctx.snapshot.view.people.get(row.person_id)
        primary = ctx.snapshot.primary(person) if person else None
        unit = short_unit_name(primary[1].name) if primary else GONE
        answer = answers.get(row.person_id)
        found.append(
            Invitee(
                unit,
                person.full_name if person else row.user_id,
                answer.answer if answer else None,
                answer.deputy if answer else None,
            )
        )
    return found


@report_section(KIND)
async def answers_section(ctx: Context, directive: Directive, groups: Groups) -> Section:
    """The meeting, then tham dự / vắng / chưa trả lời with names by unit."""
    grouped = tally_of(await invitees(ctx, directive, groups))
    n = {key: len(people) for key, people in grouped.items()}
    meeting = f"Cuộc họp: {meeting_line(directive)}."
    head = (
        f"Trả lời thư mời: {format_number(n['yes'])} tham dự, {format_number(n['no'])} vắng, "
        f"{format_number(n[None])} chưa trả lời."
    )
    lines, html = [meeting, head], [f"<p>{escape(meeting)}<br><strong>{escape(head)}</strong></p>"]
    for key, title in GROUPS:
        if grouped[key]:
            items = by_unit(grouped[key])
            lines += [f"{title}:", *(f"  {x}" for x in items)]
            html.append(
                f"<p><strong>{escape(title)}</strong></p><ul>"
                + "".join(f"<li>{escape(x)}</li>" for x in items)
                + "</ul>"
            )
    deputies = sum(1 for people in grouped.values() for p in people if p.deputy)
    data = {"yes": n["yes"], "no": n["no"], "unanswered": n[None], "deputies": deputies}
    return Section(lines, "".join(html), {"rsvp": data})


@remind_targets(KIND)
async def unanswered(ctx: Context, directive: Directive, groups: Groups) -> Targets:
    """!nhacnho of an invitation: those who have not answered, until the meeting starts."""
    if ctx.service.clock.now() >= starts_at(directive):
        raise CommandError(
            f"Cuộc họp của thư mời mã {directive.code} đã bắt đầu; không cần nhắc trả lời."
        )
    answered = {a.person_id for a in await Answer.of_directive(ctx.service.engine, directive.id)}
    everyone = [r.person_id for rows in groups.values() for r in rows]
    return Targets([p for p in everyone if p not in answered], NUDGE, "chưa trả lời")
