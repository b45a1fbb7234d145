"""Whose record an asker may see, and which one they named — the privacy rule.

- a parent: the children they follow (active ones); a student: themself;
- a homeroom teacher (``classes.homeroom_person_id``): their classes and those students;
- a school's leaders (Hiệu trưởng / Phó Hiệu trưởng: ``provisioning.authority`` makes
  them act for the school): every class and student of that school;
- offices and the Sở: never one child's record (figures only: ``!thongke``).

A name, a class or a Mã học sinh is only ever looked up among what the asker may see, and
"not found" reads the same whether or not it exists elsewhere: guessing finds nothing.
Records are answered only in a room of the asker and the bot.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from bot.commands import CommandError, Context
from bot.db.family import ClassRow, classes_in, students_of_classes
from bot.families.cache import Choice, FamilyCache
from bot.families.card import CN, choice_card
from bot.families.identity import Child, Family, pick
from bot.reply import Reply
from provisioning.text import compact, fold
from provisioning.vocab import UnitKind

SHARED_ROOM = (
    "Kết quả học tập chỉ được trả lời trong phòng nhắn riêng với bot «Điều hành»; "
    "Anh/Chị hãy mở trò chuyện riêng với bot và gõ lại lệnh !{command}."
)
NOT_FAMILY = "Tài khoản này chưa gắn với học sinh nào, nên bot không có kết quả học tập để trả lời."
OFFICE = (
    "Phòng/Sở chỉ xem số liệu tổng hợp (!thongke), không xem kết quả học tập của từng học sinh."
)
STAFF_ONLY = (
    "Lệnh !{command} dành cho phụ huynh, học sinh, giáo viên chủ nhiệm và lãnh đạo nhà trường."
)

_TERM = re.compile(r"\b(?:hoc\s*k[yi]|hk|k[yi])\s*(1|2|ii|i)\b")
_YEAR = re.compile(r"\b(?:ca\s*nam|cn)\b")


@dataclass
class Scope:
    """Everything the asker may see."""

    family: Family
    classes: list[ClassRow] = field(default_factory=list)
    office: bool = False  # acts for an office or the Sở, and for no school

    @property
    def staff(self) -> bool:
        return bool(self.classes)


def split_term(args: str) -> tuple[str, int | None, str]:
    """(who, term, the term as typed): "An hk1" → ("an", 1, "hk1"); "cả năm" → CN."""
    text = fold(args)
    found = _TERM.search(text)
    if found:
        term = 1 if found.group(1) in ("1", "i") else 2
        return (text[: found.start()] + text[found.end() :]).strip(), term, found.group(0)
    found = _YEAR.search(text)
    if found:
        return (text[: found.start()] + text[found.end() :]).strip(), CN, found.group(0)
    return text.strip(), None, ""


def cache_of(ctx: Context) -> FamilyCache:
    return ctx.service.families


async def scope_of(ctx: Context) -> Scope:
    """What ``ctx``'s asker may see (one cached lookup, a query for staff)."""
    asker, snapshot = ctx.asker, ctx.snapshot
    person = asker.person if asker.known else None
    phone = snapshot.view.login_phone(person) if person else None
    family = await cache_of(ctx).family(asker.user_id, phone)
    if person is None:
        return Scope(family)
    schools = [u.id for u in asker.managed if u.kind is UnitKind.SCHOOL]
    classes = await classes_in(ctx.service.engine, homeroom_of=person.id, schools=schools)
    return Scope(family, classes, office=asker.official and not schools)


def require_private(ctx: Context, command: str) -> None:
    if ctx.incoming is None or not ctx.incoming.direct:
        raise CommandError(SHARED_ROOM.format(command=command))


async def target(ctx: Context, command: str, args: str) -> Child | ClassRow | Reply:
    """The one student (or, for staff, class) ``args`` names within the asker's scope; a
    question (which child?) when several fit. Raises a refusal when none may be shown."""
    require_private(ctx, command)
    who, _, term_word = split_term(args)
    scope = await scope_of(ctx)
    own = list(scope.family.students)
    if not own and not scope.staff:
        raise CommandError(_refusal(ctx, scope, command))
    shown = args.strip() if not term_word else who  # as typed, for the messages
    found = pick(own, who) if own else []
    if not who and len(own) > 1:
        return _ask(ctx, command, own, term_word, "Anh/Chị muốn xem kết quả của con nào?")
    if found:
        if len(found) == 1:
            return found[0]
        return _ask(ctx, command, found, term_word, f"Có {len(found)} em khớp với '{shown}':")
    if not scope.staff:
        raise CommandError(_not_own(shown, own))
    return await _in_classes(ctx, command, scope, who, term_word, shown)


async def _in_classes(
    ctx: Context, command: str, scope: Scope, who: str, term_word: str, shown: str
) -> Child | ClassRow | Reply:
    """A homeroom teacher's or a leader's lookup: a class by name, or a student."""
    if not who:
        homeroom = [c for c in scope.classes if c.homeroom_person_id == ctx.asker.person.id]
        if command == "ketqua" and len(homeroom) == 1:
            return homeroom[0]
        raise CommandError(f"Hãy gõ tên lớp hoặc tên học sinh, ví dụ: !{command} Nguyễn An.")
    classes = [c for c in scope.classes if compact(c.name) == compact(who)]
    if classes and command == "ketqua":
        return classes[0]
    students = await students_of_classes(ctx.service.engine, [c.id for c in scope.classes])
    found = pick(students, who) if not who.isdigit() else []
    if len(found) == 1:
        return found[0]
    if found:
        return _ask(
            ctx, command, found[:20], term_word, f"Có {len(found)} học sinh khớp với '{shown}':"
        )
    raise CommandError(f"Không tìm thấy lớp hay học sinh '{shown}' trong phạm vi Anh/Chị được xem.")


def _ask(ctx: Context, command: str, children: list[Child], rest: str, question: str) -> Reply:
    incoming = ctx.incoming
    assert incoming is not None
    now = ctx.service.clock.now() if ctx.service is not None else dt.datetime.now(dt.UTC)
    choice = Choice(
        command,
        tuple(c.code for c in children),
        tuple(c.full_name for c in children),
        rest,
        now,
    )
    cache_of(ctx).ask(incoming, choice)
    return choice_card(command, children, question)


def _not_own(who: str, own: list[Child]) -> str:
    listed = "; ".join(c.label for c in own)
    return f"Không tìm thấy con nào của Anh/Chị khớp với '{who}'. Anh/Chị theo dõi: {listed}."


def _refusal(ctx: Context, scope: Scope, command: str) -> str:
    if not ctx.asker.known:
        return NOT_FAMILY
    if scope.office:
        return OFFICE
    return STAFF_ONLY.format(command=command)
