"""!moi [đơn vị | người | số điện thoại] — invite by SMS the staff who have never logged in:
one SMS each with the code page's address and one line of instructions (never a code), at
most once every 7 days per person, within each unit's monthly SMS budget
(``provisioning.outreach``). Officials only, for the units they act for (the rule of
!trienkhai); by default their widest unit.

The messages are queued at once (the budget reserved) and sent in the background; the
answer says how many go, who was left out and why, and the budget left; a notice follows
with how many went and how many failed. Queueing a whole city's takes tens of seconds: past
:data:`QUICK_SECONDS` the command answers that it is under way, and both parts come as
notices.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands import CommandError, Context, command
from bot.commands.trienkhai import NO_DATA
from bot.commands.units import unit_named
from bot.reply import Reply
from provisioning.domain import short_unit_name
from provisioning.outreach import answers, invitations, ledger
from provisioning.outreach.budget import INVITE_EVERY, VN
from provisioning.outreach.invitations import Outcome, Plan
from provisioning.outreach.sender import Result
from provisioning.phone import INVALID, normalize_phone
from provisioning.text import fold, format_number
from provisioning.view import PersonView, UnitView

OUTSIDE = "Đơn vị '{unit}' nằm ngoài phạm vi Anh/Chị phụ trách."
#: how long the command waits for the queueing (a whole city's takes tens of seconds, and
#: the bot answers one command at a time): past it, it answers at once and tells the rest
#: as notices when it is done
QUICK_SECONDS = 5.0
#: what is typed as a phone number: digits, with the usual separators (a code first)
_PHONE = re.compile(r"[+(]?\d[\d\s.()+-]*")


@dataclass(frozen=True)
class Target:
    where: str  # "ở THCS Đỗ Văn Dậy", or "cho Trần Thị Bình"
    people: set[int]  # whom to consider
    person: PersonView | None = None  # the one person asked for


def _unit(ctx: Context, unit: UnitView) -> Target:
    view = ctx.snapshot.view
    people = invitations.people_in(view, ctx.snapshot.subtree(unit.id))
    return Target(f"ở {short_unit_name(unit.name)}", people)


def _person(ctx: Context, person: PersonView) -> Target:
    managed = ctx.asker.authority.managed_units
    if not any(unit_id in managed for unit_id, _ in person.positions):
        raise CommandError(
            f"{person.full_name} (mã {person.code}) không thuộc phạm vi Anh/Chị phụ trách; "
            "không thể mời."
        )
    return Target(f"cho {person.full_name}", {person.id}, person)


def _target(ctx: Context, query: str) -> Target:
    """Whom ``!moi <query>`` is about: a person's code, a phone, a unit, a person's name."""
    snapshot, managed = ctx.snapshot, ctx.asker.authority.managed_units
    if not query:
        return _unit(ctx, ctx.asker.managed[0])
    code = query.casefold()
    by_code = [p for p in snapshot.view.people.values() if p.active and p.code.casefold() == code]
    if by_code:
        return _person(ctx, by_code[0])
    if _PHONE.fullmatch(query):
        return _person(ctx, _by_phone(ctx, query))
    if snapshot.units_matching(query, within=managed):
        return _unit(ctx, unit_named(snapshot, query, managed, OUTSIDE))
    person = _by_name(ctx, query)
    if person is not None:
        return _person(ctx, person)
    elsewhere = snapshot.units_matching(query, within=snapshot.all_units)
    if elsewhere:
        raise CommandError(OUTSIDE.format(unit=elsewhere[0].name))
    raise CommandError(f"Không tìm thấy đơn vị hay người nào tên '{query}' trong danh bạ.")


def _by_phone(ctx: Context, typed: str) -> PersonView:
    found = normalize_phone(typed)
    if not found.ok:
        why = f": {found.problem}" if found.problem not in (None, INVALID) else ""
        raise CommandError(
            f"Số điện thoại '{typed}' không hợp lệ{why}; hãy gõ số di động, ví dụ 0912 345 678."
        )
    view = ctx.snapshot.view
    person = next((p for p in view.people.values() if p.active and p.phone == found.e164), None)
    if person is None:
        raise CommandError(f"Không có cán bộ nào dùng số {typed} trong danh bạ.")
    return person


def _by_name(ctx: Context, typed: str) -> PersonView | None:
    """The one person in the asker's scope ``typed`` names; None when nobody anywhere."""
    snapshot = ctx.snapshot
    found = snapshot.people_named(typed, among=snapshot.view.people)
    if not found:
        return None
    mine = found & invitations.people_in(snapshot.view, ctx.asker.authority.managed_units)
    if not mine:
        raise CommandError(
            f"Người tên '{typed}' không thuộc phạm vi Anh/Chị phụ trách; không thể mời."
        )
    exact = [pid for pid in mine if snapshot.view.people[pid].name_key == fold(typed)]
    if len(mine) > 1 and len(exact) == 1:
        return snapshot.view.people[exact[0]]
    if len(mine) > 1:
        shown = ", ".join(f"{p.full_name} (mã {p.code})" for p in snapshot.first_people(mine, 5))
        raise CommandError(
            f"Có {len(mine)} người khớp với '{typed}': {shown}; hãy gõ mã định danh."
        )
    return snapshot.view.people[mine.pop()]


def _time(at: dt.datetime) -> str:
    return at.astimezone(VN).strftime("%H:%M %d/%m/%Y")


def _person_refusal(person: PersonView, planned: Plan) -> str | None:
    """Why this one person cannot be invited (before any budget is looked at)."""
    name = f"{person.full_name} (mã {person.code})"
    if planned.logged_in:
        return f"{name} đã đăng nhập; không cần mời."
    if planned.no_account:
        return f"{name} chưa có tài khoản trên hệ thống; chưa thể mời đăng nhập."
    if planned.no_phone:
        return (
            f"{name} chưa có số di động dùng để đăng nhập; hãy cập nhật số (!capnhat) rồi mời lại."
        )
    return None


async def _last_invited(ctx: Context, outcome: Outcome) -> dict[int, dt.datetime]:
    """When the people left out as invited lately were invited."""
    already = [pid for q in outcome.units for pid in q.allotment.already]
    if not already:
        return {}
    return await asyncio.to_thread(ledger.last_invited, ctx.service.engine, already)


def _refusal(
    ctx: Context, target: Target, outcome: Outcome, last: dict[int, dt.datetime]
) -> str | None:
    """Why nobody was queued (one sentence), or None."""
    if outcome.chosen:
        return None
    if target.person is not None and target.person.id in last:
        at = last[target.person.id]
        return (
            f"{target.person.full_name} đã được mời qua SMS lúc {_time(at)}; có thể mời lại "
            f"từ {_time(at + INVITE_EVERY)}."
        )
    return answers.refusal(outcome, ctx.snapshot.view, target.where, answers.again_from(last))


def _teller(ctx: Context) -> Callable[[str], Awaitable[None]]:
    """A notice to the asker later: in the DM the command came from, else their inbox."""
    service, incoming = ctx.service, ctx.incoming
    person_id = ctx.asker.person.id

    async def tell(text: str) -> None:
        if incoming is not None and incoming.direct and service.notify_room is not None:
            await service.notify_room(incoming.room_id, text)
        elif service.tell_person is not None:
            await service.tell_person(person_id, text)

    return tell


async def _queue(ctx: Context, planned: Plan) -> tuple[Outcome, dict[int, dt.datetime]]:
    """Queue the invitations (a city's take tens of seconds); and when the people left out
    as invited lately were invited."""
    outreach, snapshot = ctx.service.outreach, ctx.snapshot
    outcome = await asyncio.to_thread(
        invitations.queue_invitations,
        ctx.service.engine,
        snapshot.view,
        planned,
        outreach.budget,
        outreach.invitation,
        ctx.service.clock.now(),
        ctx.asker.user_id,
    )
    return outcome, await _last_invited(ctx, outcome)


def _data(outcome: Outcome, view) -> dict:
    planned = outcome.plan
    return {
        "queued": len(outcome.queued),
        "already": outcome.count("already"),
        "over_budget": outcome.count("over_budget"),
        "no_phone": len(planned.no_phone),
        "no_account": len(planned.no_account),
        "budget": [
            {"unit": view.units[q.unit_id].code, "month": q.month, "limit": q.limit, "left": q.left}
            for q in outcome.units
        ],
    }


def _summary(ctx: Context, target: Target, outcome: Outcome, last: dict[int, dt.datetime]) -> Reply:
    """How many go, who was left out and why, the budget left."""
    n = format_number(outcome.chosen)
    head = (
        f"Đang gửi SMS mời đăng nhập {target.where}."
        if target.person
        else f"Đang gửi SMS mời đăng nhập đến {n} người chưa đăng nhập lần nào {target.where}."
    )
    view = ctx.snapshot.view
    again = answers.again_from(last)
    lines = [head, answers.left_out(outcome, again), answers.budget_left(outcome, view)]
    text = "\n".join(x for x in lines if x)
    return Reply(text, extra={"vn.dieuhanh.invited": _data(outcome, view)})


def _send(ctx: Context, target: Target, outcome: Outcome) -> None:
    """Send what was queued; the asker is told how many went and failed."""
    tell = _teller(ctx)

    async def then(results: dict[int, Result]) -> None:
        await tell(answers.results_line(results, target.where))

    ctx.service.outreach.send(outcome.queued, then=then)


async def _later(ctx: Context, target: Target, job: asyncio.Task) -> None:
    """The queueing outlasted the command: its answer, then the results, as notices."""
    tell = _teller(ctx)
    outcome, last = await job
    refused = _refusal(ctx, target, outcome, last)
    await tell(refused or _summary(ctx, target, outcome, last).text)
    if not refused:
        _send(ctx, target, outcome)


@command(
    "moi",
    spoken="mời",
    aliases=("moidangnhap",),
    usage="!moi [đơn vị | tên | số điện thoại]",
    summary="Gửi SMS mời đăng nhập (địa chỉ lấy mã và cách đăng nhập) đến cán bộ chưa đăng "
    "nhập lần nào.",
    examples=("!moi", "!moi THCS Đỗ Văn Dậy", "!moi Trần Thị Bình"),
    allowed=lambda asker: asker.known and asker.official,
    details="Mặc định: mọi đơn vị Anh/Chị phụ trách. Mỗi người nhận tối đa một tin trong 7 "
    "ngày; số tin mỗi tháng giới hạn theo ngân sách SMS của trường (hoặc cơ quan) của người "
    "nhận; tin gửi lỗi không tính vào ngân sách.",
)
async def moi(ctx: Context, args: str) -> Reply:
    outreach = ctx.service.outreach
    if outreach is None:
        raise CommandError("Bot chưa được cấu hình gửi SMS; hãy báo quản trị viên.")
    target = _target(ctx, args.strip())
    activity = await ctx.service.activity.get()
    if not activity.known:
        raise CommandError(NO_DATA)
    snapshot = ctx.snapshot
    planned = await asyncio.to_thread(  # a city's 150,000 people: seconds
        invitations.plan, snapshot.view, snapshot.user_of, activity.logged_in_users, target.people
    )
    refused = _person_refusal(target.person, planned) if target.person else None
    if refused:
        raise CommandError(refused)
    job = asyncio.create_task(_queue(ctx, planned))
    try:
        outcome, last = await asyncio.wait_for(asyncio.shield(job), QUICK_SECONDS)
    except TimeoutError:  # a whole city: answer now, tell the rest when it is done
        outreach.track(_later(ctx, target, job))
        count = format_number(sum(len(p) for p in planned.by_payer.values()))
        return Reply(
            f"Đang xếp hàng SMS mời đăng nhập cho {count} người chưa đăng nhập lần nào "
            f"{target.where}; bot sẽ báo số tin gửi được và ngân sách còn lại khi xong.",
            extra={"vn.dieuhanh.invited": {"pending": True}},
        )
    refused = _refusal(ctx, target, outcome, last)
    if refused:
        raise CommandError(refused)
    _send(ctx, target, outcome)
    return _summary(ctx, target, outcome, last)
