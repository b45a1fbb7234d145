"""!capnhat — correct a person's contact details from the school itself.

- ``!capnhat <tên hoặc mã định danh> sdt <số>`` / ``chucvu <chức vụ>`` / ``donvi <mã>`` /
  ``nghiviec``: a principal (for their school) or an office's officer (for the units it
  manages: ``provisioning.authority``) sees the change and confirms it with "đồng ý" in
  the DM; it is saved with its history and Matrix follows within a minute.
- ``!capnhat sdt <số>``: anyone asks for their own new phone; whoever manages them
  (their principal) gets the request in their inbox and answers
  ``!capnhat duyet <mã>`` or ``!capnhat tuchoi <mã>``.

The confirmation waits in the DM's draft (``bot.db.draft``: it survives a restart).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from bot.commands import CommandError, Context, UsageError, command
from bot.commands.gui import CANCEL, require_dm
from bot.db.draft import Draft
from bot.directory import Asker, DirectorySnapshot
from bot.reply import Reply
from provisioning.contacts.change import (
    ACTIVE,
    PHONE,
    POSITION,
    UNIT,
    Change,
    ContactError,
    plan_change,
    plan_phone,
)
from provisioning.contacts.history import Author
from provisioning.contacts.requests import (
    APPROVED,
    REJECTED,
    approvers,
    decide,
    new_request,
    pending_request,
)
from provisioning.contacts.store import save_change
from provisioning.text import compact, fold
from provisioning.view import PersonView

log = logging.getLogger(__name__)

DRAFT = "capnhat"  # the draft's "command"
TIMEOUT = dt.timedelta(minutes=10)
CONFIRM = {"dongy", "ok", "luu", "xacnhan", "co"}
FIELDS = {
    "sdt": PHONE,
    "sodienthoai": PHONE,
    "dienthoai": PHONE,
    "chucvu": POSITION,
    "donvi": UNIT,
    "nghiviec": ACTIVE,
    "thoiviec": ACTIVE,
}
EXPIRED = "Yêu cầu cập nhật thông tin đã hết hạn (quá 10 phút); không có gì thay đổi."
ASK = "Gõ 'đồng ý' để lưu, 'huỷ' để bỏ."
APPLIED = "Tài khoản và các phòng trên hệ thống được cập nhật trong vòng một phút."
ONLY_OWN_PHONE = (
    "Anh/Chị chỉ có thể đề nghị đổi số điện thoại của chính mình (!capnhat sdt <số mới>); "
    "thông tin của người khác do hiệu trưởng hoặc đơn vị quản lý cập nhật."
)


@command(
    "capnhat",
    spoken="cập nhật",
    usage="!capnhat <tên hoặc mã định danh> sdt <số> | chucvu <chức vụ> | donvi <mã> | "
    "nghiviec  hoặc  !capnhat sdt <số mới>",
    summary="Cập nhật số điện thoại, chức vụ, đơn vị của cán bộ (hiệu trưởng, đơn vị quản lý); "
    "đề nghị đổi số điện thoại của mình.",
    examples=(
        "!capnhat Trần Thị Bình sdt 0912 345 678",
        "!capnhat P002 chucvu PHT",
        "!capnhat P002 donvi thcs-tt",
        "!capnhat sdt 0987 654 321",
    ),
    details="Bot hiện thay đổi và chờ Anh/Chị gõ 'đồng ý' (trong tin nhắn riêng với bot). "
    "Người đề nghị đổi số của mình chờ hiệu trưởng gõ !capnhat duyet <mã> hoặc tuchoi <mã>.",
)
async def capnhat(ctx: Context, args: str) -> Reply:
    words = args.split()
    if not words:
        raise UsageError("Hãy gõ người cần cập nhật và điều cần sửa.")
    for size in (1, 2):  # "duyệt", "từ chối"
        key = compact("".join(words[:size]))
        if key in ("duyet", "tuchoi") and len(words) == size + 1:
            return await _decide(ctx, words[size], approve=key == "duyet")
    target, what, value = _split(words)
    if what != ACTIVE and not value:
        raise UsageError("Hãy gõ giá trị mới sau sdt, chucvu hoặc donvi.")
    if not target:
        return await _own(ctx, what, value)
    if not ctx.asker.official:
        raise CommandError(ONLY_OWN_PHONE)
    person = _find(ctx.snapshot, ctx.asker, target)
    return await _propose(ctx, person, what, value)


def _split(words: list[str]) -> tuple[str, str, str]:
    """(who, what, new value) from the words after !capnhat."""
    for i in range(len(words)):
        for size in (1, 2):  # "chức vụ", "đơn vị", "nghỉ việc" in two words
            key = compact("".join(words[i : i + size]))
            if i + size <= len(words) and key in FIELDS:
                return " ".join(words[:i]), FIELDS[key], " ".join(words[i + size :])
    raise UsageError("Hãy ghi điều cần sửa: sdt, chucvu, donvi hoặc nghiviec.")


def _find(snapshot: DirectorySnapshot, asker: Asker, target: str) -> PersonView:
    """The active person ``target`` names (a Mã định danh, or a name within the asker's
    units); one sentence when there is none, or several."""
    view = snapshot.view
    code = fold(target)
    by_code = [p for p in view.people.values() if fold(p.code) == code]
    if by_code:
        return by_code[0]
    managed = {
        pid
        for unit_id in asker.authority.managed_units
        for pid in view.people_by_unit.get(unit_id, ())
    }
    found = snapshot.people_named(target, among=managed)
    if not found:
        elsewhere = snapshot.people_named(target, among=view.people)
        if elsewhere:
            raise CommandError(
                f"Người tên '{target}' không thuộc phạm vi Anh/Chị phụ trách; không thể cập nhật."
            )
        raise CommandError(f"Không tìm thấy ai tên hoặc mã '{target}' trong danh bạ.")
    if len(found) > 1:
        shown = ", ".join(f"{p.full_name} (mã {p.code})" for p in snapshot.first_people(found, 5))
        raise CommandError(
            f"Có {len(found)} người khớp với '{target}': {shown}; hãy gõ mã định danh."
        )
    return view.people[found.pop()]


async def _propose(ctx: Context, person: PersonView, what: str, value: str) -> Reply:
    """Plan the change, keep it in the DM's draft and show it for confirmation."""
    require_dm(ctx)
    try:
        change = plan_change(ctx.snapshot.view, ctx.asker.authority, person, what, value)
    except ContactError as exc:
        raise CommandError(str(exc)) from None
    incoming, service = ctx.incoming, ctx.service
    open_draft = await Draft.get(service.engine, incoming.sender, incoming.room_id)
    if open_draft is not None and open_draft.state.get("command") != DRAFT:
        raise CommandError(
            "Anh/Chị đang soạn tin nhắn điều hành ở đây; gõ 'huỷ' để bỏ bản nháp đó trước."
        )
    state = {"command": DRAFT, "change": change.to_json()}
    await Draft.save(service.engine, incoming.sender, incoming.room_id, state, service.clock.now())
    return Reply(
        f"Cập nhật thông tin của {person.full_name} (mã {person.code}):\n{change.line()}\n{ASK}"
    )


async def continue_draft(ctx: Context, saved: Draft) -> Reply:
    """A message in the DM while a correction waits for "đồng ý"."""
    service, incoming = ctx.service, ctx.incoming
    word = compact(incoming.body)
    if service.clock.now() - saved.updated_at > TIMEOUT or word in CANCEL:
        await Draft.drop(service.engine, incoming.sender, incoming.room_id)
        if word in CANCEL:
            return Reply("Đã huỷ; không có gì thay đổi.")
        return Reply(EXPIRED)
    if word not in CONFIRM:
        return Reply(ASK)
    change = Change.from_json(saved.state["change"])
    await Draft.drop(service.engine, incoming.sender, incoming.room_id)
    await _save(ctx, change)
    return Reply(
        f"Đã lưu. {change.full_name} (mã {change.person_code}): {change.line()}. {APPLIED}"
    )


async def _save(ctx: Context, change: Change) -> None:
    person = ctx.asker.person
    by = Author(person.full_name, ctx.asker.user_id, person.code)
    try:
        await asyncio.to_thread(save_change, ctx.service.engine, change, by, _now(ctx))
    except ContactError as exc:
        raise CommandError(str(exc)) from None


def _now(ctx: Context) -> dt.datetime:
    return ctx.service.clock.now()


# ------------------------------------------------------------------ one's own phone


async def _own(ctx: Context, what: str, value: str) -> Reply:
    """``!capnhat sdt <số>``: changed at once (with confirmation) by someone who manages
    themself, else a request to whoever manages them."""
    asker, view = ctx.asker, ctx.snapshot.view
    person = asker.person
    if what != PHONE:
        raise CommandError(ONLY_OWN_PHONE)
    if asker.official and all(asker.authority.manages(u) for u, _ in person.positions):
        return await _propose(ctx, person, what, value)
    try:
        change = plan_phone(view, None, person, value)
    except ContactError as exc:
        raise CommandError(str(exc)) from None
    deciders = approvers(view, person)
    if not deciders:
        raise CommandError(
            "Không tìm thấy hiệu trưởng hoặc lãnh đạo đơn vị để duyệt đề nghị; hãy liên hệ "
            "văn thư của đơn vị để sửa số trong danh bạ."
        )
    code = await asyncio.to_thread(
        new_request,
        ctx.service.engine,
        person.id,
        PHONE,
        change.new_phone,
        asker.user_id,
        _now(ctx),
    )
    text = (
        f"{person.full_name} (mã {person.code}) đề nghị đổi số điện thoại: "
        f"{change.old or '(trống)'} → {change.new}. Gõ !capnhat duyet {code} để đồng ý, "
        f"hoặc !capnhat tuchoi {code} để từ chối."
    )
    told = [p.full_name for p in deciders if await _tell(ctx, p.id, text)]
    to = ", ".join(told) or deciders[0].full_name
    return Reply(
        f"Đã gửi đề nghị đổi số điện thoại sang {change.new} đến {to} (mã đề nghị {code}). "
        "Số mới dùng được để đăng nhập sau khi được duyệt."
    )


async def _tell(ctx: Context, person_id: int, text: str) -> bool:
    """A notice in a person's inbox; False when it could not be sent (logged)."""
    tell = getattr(ctx.service, "tell_person", None)
    if tell is None:
        return False
    try:
        await tell(person_id, text)
    except Exception:
        log.exception("could not tell person %s about a contact request", person_id)
        return False
    return True


async def _decide(ctx: Context, code: str, *, approve: bool) -> Reply:
    """``!capnhat duyet|tuchoi <mã>`` by someone who manages the requester."""
    engine, view = ctx.service.engine, ctx.snapshot.view
    request = await asyncio.to_thread(pending_request, engine, code)
    person = view.people.get(request.person_id) if request else None
    if request is None or person is None:
        raise CommandError(f"Không có đề nghị nào đang chờ duyệt với mã '{code}'.")
    if not approve:
        await _claim(ctx, request.code, REJECTED)
        text = f"Đề nghị {request.code} đổi số điện thoại đã bị từ chối; số cũ vẫn được dùng."
        await _tell(ctx, request.person_id, text)
        return Reply(f"Đã từ chối đề nghị {request.code} của {person.full_name}.")
    try:
        change = plan_change(view, ctx.asker.authority, person, PHONE, request.value)
    except ContactError as exc:
        raise CommandError(str(exc)) from None
    await _claim(ctx, request.code, APPROVED)
    await _save(ctx, change)
    await _tell(
        ctx,
        request.person_id,
        f"Đề nghị {request.code} đã được duyệt: từ nay đăng nhập bằng số {change.new} "
        "(có hiệu lực trong vòng một phút).",
    )
    return Reply(f"Đã duyệt. {person.full_name} (mã {person.code}): {change.line()}. {APPLIED}")


async def _claim(ctx: Context, code: str, status: str) -> None:
    """Close the request, unless someone else just did."""
    engine, by = ctx.service.engine, ctx.asker.user_id
    if not await asyncio.to_thread(decide, engine, code, status, by, _now(ctx)):
        raise CommandError(f"Đề nghị {code} vừa được người khác xử lý.")


def draft_of(state: dict[str, Any]) -> bool:
    """True when a DM's draft is a !capnhat confirmation (not a !gui draft)."""
    return state.get("command") == DRAFT
