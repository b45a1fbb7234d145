"""Lịch công tác without Matrix: days and times as typed, weeks, the one-line form, the
card, the table's queries, the Monday post and its edits (a recording transport), and
!lich through the bot's service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert

from bot.commands import CommandError, UsageError
from bot.db.schedule import WorkSchedule
from bot.directives.scheduler import Scheduler
from bot.directory import DirectoryCache
from bot.schedule import card
from bot.schedule.days import (
    monday,
    parse_day,
    parse_day_and_time,
    parse_time,
    parse_week,
    week_label,
)
from bot.schedule.entries import Entry, ordered, parse_line
from bot.schedule.posting import _txn, post_schedules
from provisioning.db.models import MatrixRoom
from provisioning.importer import import_paths

from ..directory.conftest import BASE_UNITS, UNIT_HEADER, write_csv
from .test_commands import ask, service  # noqa: F401 - the fixture

VN = dt.timezone(dt.timedelta(hours=7))
SATURDAY = dt.date(2026, 12, 5)  # the week of Monday 30/11/2026
D = dt.date


# ------------------------------------------------------------------ days, times, weeks


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("thứ hai", D(2026, 12, 7)),
        ("Thứ Hai", D(2026, 12, 7)),
        ("thu 2", D(2026, 12, 7)),
        ("thu2", D(2026, 12, 7)),
        ("T2", D(2026, 12, 7)),
        ("th2", D(2026, 12, 7)),
        ("THỨ BA", D(2026, 12, 8)),
        ("thứ tư", D(2026, 12, 9)),
        ("thu nam", D(2026, 12, 10)),
        ("thứ sáu", D(2026, 12, 11)),
        ("T7", D(2026, 12, 5)),  # today is a Saturday: today
        ("CN", D(2026, 12, 6)),
        ("Chủ nhật", D(2026, 12, 6)),
        ("08/12", D(2026, 12, 8)),
        ("8/12/2026", D(2026, 12, 8)),
        ("08-12-26", D(2026, 12, 8)),
        ("05/01", D(2027, 1, 5)),  # the nearest 05/01 is next year's
        ("Thứ Hai, ngày 07/12/2026", D(2026, 12, 7)),
        ("thứ 2 (07/12)", D(2026, 12, 7)),
        ("hôm nay", SATURDAY),
        ("mai", D(2026, 12, 6)),
    ],
)
def test_days_as_people_write_them(typed, day):
    assert parse_day(typed, SATURDAY) == day


def test_a_weekday_of_a_given_week():
    assert parse_day("T4", SATURDAY, week=D(2026, 11, 30)) == D(2026, 12, 2)
    assert parse_day("CN", SATURDAY, week=D(2026, 11, 30)) == D(2026, 12, 6)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31/11", "Ngày 31/11 không có thật; hãy kiểm tra lại ngày tháng."),
        ("30/02/2027", "Ngày 30/02/2027 không có thật; hãy kiểm tra lại ngày tháng."),
        ("thứ tám", "Không hiểu ngày 'thứ tám'; hãy viết thứ hoặc ngày, ví dụ thứ Hai, T2, CN"),
        ("Thứ Ba 07/12/2026", "Ngày 07/12/2026 là thứ Hai, không phải thứ Ba; hãy kiểm tra lại."),
    ],
)
def test_impossible_days_are_refused(typed, problem):
    with pytest.raises(CommandError) as caught:
        parse_day(typed, SATURDAY)
    assert str(caught.value).startswith(problem)


@pytest.mark.parametrize(
    ("typed", "time"),
    [
        ("07:30", "07:30"),
        ("7h30", "07:30"),
        ("7h", "07:00"),
        ("14g", "14:00"),
        ("7 giờ 30", "07:30"),
        ("2h chiều", "14:00"),
        ("7h30 - 11h", "07:30–11:00"),
        ("từ 14:00 đến 16:30", "14:00–16:30"),
        ("Sáng", "Sáng"),
        ("buổi chiều", "Chiều"),
        ("CẢ NGÀY", "Cả ngày"),
        ("", ""),
    ],
)
def test_times_as_people_write_them(typed, time):
    assert parse_time(typed) == time


@pytest.mark.parametrize("typed", ["25:00", "7h75", "sớm", "1h 2h 3h"])
def test_impossible_times_are_refused(typed):
    with pytest.raises(CommandError):
        parse_time(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("thứ hai 07:30", (D(2026, 12, 7), "07:30")),
        ("T2 7h30 sáng", (D(2026, 12, 7), "07:30")),
        ("08/12 14:00-16:00", (D(2026, 12, 8), "14:00–16:00")),
        ("thứ sáu chiều", (D(2026, 12, 11), "Chiều")),
        ("T7 tuần sau 8h", (D(2026, 12, 12), "08:00")),  # not today's Saturday
        ("CN", (D(2026, 12, 6), "")),
    ],
)
def test_the_day_and_time_of_lich_them(typed, expected):
    assert parse_day_and_time(typed, SATURDAY) == expected


@pytest.mark.parametrize(
    ("typed", "week"),
    [
        ("", D(2026, 11, 30)),
        ("tuần này", D(2026, 11, 30)),
        ("tuần sau", D(2026, 12, 7)),
        ("Tuan toi", D(2026, 12, 7)),
        ("tuần trước", D(2026, 11, 23)),
        ("08/12", D(2026, 12, 7)),
        ("03/01/2027", D(2026, 12, 28)),
    ],
)
def test_weeks_are_named_by_their_monday(typed, week):
    assert parse_week(typed, SATURDAY) == week


def test_week_labels():
    assert monday(D(2026, 12, 13)) == D(2026, 12, 7)
    assert week_label(D(2026, 12, 7)) == "07/12 – 13/12/2026"
    assert week_label(D(2026, 12, 28)) == "28/12/2026 – 03/01/2027"


# ------------------------------------------------------------------ entries and the card


def test_the_one_line_form():
    entry = parse_line("T2 7h30 | Chào cờ  đầu tuần | Sân trường | Toàn thể CB-GV-NV", SATURDAY)
    assert entry == Entry(
        D(2026, 12, 7), "Chào cờ đầu tuần", "07:30", "Sân trường", "Toàn thể CB-GV-NV"
    )
    assert parse_line("08/12 | Họp tổ | | Tổ Toán", SATURDAY) == Entry(
        D(2026, 12, 8), "Họp tổ", "", "", "Tổ Toán"
    )
    assert Entry.from_json(entry.to_json()) == entry


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("T2 7h30", "Thiếu nội dung công việc sau dấu '|'."),
        ("| Họp", "Thiếu thứ hoặc ngày."),
        ("T2 | Họp | a | b | c", "Có 5 phần ngăn bởi dấu '|', nhiều nhất là 4."),
        ("T2 | " + "x" * 1001, "Nội dung quá dài (1001 ký tự); tối đa 1000 ký tự."),
    ],
)
def test_the_one_line_form_refuses_what_is_missing(typed, problem):
    with pytest.raises(CommandError) as caught:
        parse_line(typed, SATURDAY)
    assert str(caught.value).startswith(problem)
    assert isinstance(caught.value, UsageError) == ("quá dài" not in problem)


def test_entries_are_ordered_by_day_then_time_keeping_ties_in_order():
    a = Entry(D(2026, 12, 8), "a", "14:00")
    b = Entry(D(2026, 12, 7), "b", "Chiều")
    c = Entry(D(2026, 12, 7), "c", "07:30")
    d = Entry(D(2026, 12, 7), "d", "Sáng")
    e = Entry(D(2026, 12, 7), "e", "")
    assert ordered([a, b, c, d, e]) == [e, d, c, b, a]


def test_the_card_is_a_table_with_a_numbered_plain_text_fallback():
    entries = ordered(
        [
            Entry(D(2026, 12, 7), "Chào cờ", "07:00", "Sân trường", "Toàn trường"),
            Entry(D(2026, 12, 7), "Họp <chi bộ>", "14:00"),
            Entry(D(2026, 12, 9), "Dự giờ", "Sáng", "", "BGH"),
        ]
    )
    content = card.content("thcs-dvd", "Trường THCS Đỗ Văn Dậy", D(2026, 12, 7), entries)
    assert content["body"] == (
        "Lịch công tác tuần 07/12 – 13/12/2026 · Trường THCS Đỗ Văn Dậy\n\n"
        "Thứ Hai 07/12/2026\n"
        "1. 07:00 — Chào cờ\n"
        "   Địa điểm: Sân trường · Thành phần: Toàn trường\n"
        "2. 14:00 — Họp <chi bộ>\n\n"
        "Thứ Tư 09/12/2026\n"
        "3. Sáng — Dự giờ\n"
        "   Thành phần: BGH"
    )
    html = content["formatted_body"]
    assert html.count("<tr>") == 4 and html.count("<strong>Thứ Hai 07/12/2026</strong>") == 1
    assert "2. Họp &lt;chi bộ&gt;" in html and "<chi" not in html
    assert content[card.KEY] == {
        "unit": "thcs-dvd",
        "unit_name": "Trường THCS Đỗ Văn Dậy",
        "week_start": "2026-12-07",
        "entries": [e.to_json() for e in entries],
    }
    edit = card.replacement(content, "$posted")
    assert edit["m.new_content"] == content and edit["body"].startswith("* Lịch công tác")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$posted"}


# ------------------------------------------------------------------ the table


UTC = dt.UTC
WEEK = D(2026, 12, 7)
MONDAY_7 = dt.datetime(2026, 12, 7, 7, 0, tzinfo=VN)


@pytest.fixture
def units(engine, tmp_path):
    """The directory's units (no people): what the table's rows point at."""
    import_paths(engine, [write_csv(tmp_path / "don_vi.csv", UNIT_HEADER, BASE_UNITS)])
    return engine


def one(text: str, day: dt.date = WEEK) -> dict[str, Any]:
    return Entry(day, text).to_json()


async def test_updated_at_moves_past_the_shown_version_even_at_the_same_instant(units):
    engine = units
    at = dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("a")], at)
    [unshown] = await WorkSchedule.unshown(engine, WEEK)
    assert await WorkSchedule.mark_shown(engine, unshown, "$e", "!r", at)
    assert await WorkSchedule.unshown(engine, WEEK) == []
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("b")], at)  # same instant
    [changed] = await WorkSchedule.unshown(engine, WEEK)
    assert changed.updated_at > changed.posted_at and changed.event_id == "$e"
    # changed again while the edit was on its way: recorded, and still to be shown
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("c")], at)
    assert not await WorkSchedule.mark_shown(engine, changed, "$e", "!r", at)
    [again] = await WorkSchedule.unshown(engine, WEEK)
    assert [e["content"] for e in again.entries] == ["c"]


async def test_a_change_that_raises_keeps_the_week_as_it_was(units):
    engine = units
    at = dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("a")], at)

    def refuse(_old):
        raise CommandError("không")

    with pytest.raises(CommandError):
        await WorkSchedule.change(engine, "thcs-dvd", WEEK, refuse, at)
    with pytest.raises(CommandError):
        await WorkSchedule.change(engine, "mn-hs", WEEK, refuse, at)
    assert (await WorkSchedule.get(engine, "thcs-dvd", WEEK)).entries == [one("a")]
    assert await WorkSchedule.get(engine, "mn-hs", WEEK) is None


# ------------------------------------------------------------------ the Monday post


class Recorder:
    """A transport that records what is sent; Synapse's de-duplication by txn id."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, str]] = []
        self.by_txn: dict[str, str] = {}
        self.fail = False

    async def send(self, room_id: str, content: dict, txn_id: str) -> str:
        if self.fail:
            raise RuntimeError("Synapse away")
        if txn_id not in self.by_txn:
            self.sent.append((room_id, content, txn_id))
            self.by_txn[txn_id] = f"$ev{len(self.sent)}"
        return self.by_txn[txn_id]


def _scheduler(engine, transport) -> Scheduler:
    with engine.begin() as conn:
        conn.execute(
            insert(MatrixRoom),
            [
                {"key": "unit/thcs-dvd/announcements", "purpose": "announcements",
                 "room_id": "!dvd", "unit_code": "thcs-dvd"},
                {"key": "unit/mn-hs/announcements", "purpose": "announcements",
                 "room_id": "!mn", "unit_code": "mn-hs"},
            ],
        )  # fmt: skip
    return Scheduler(
        engine, DirectoryCache(engine, min_check_interval=0), None, transport=transport
    )


async def test_posted_on_monday_at_seven_once_and_edited_in_place(units):
    engine = units
    transport = Recorder()
    scheduler = _scheduler(engine, transport)
    sunday = dt.datetime(2026, 12, 6, 20, 0, tzinfo=VN)
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("Chào cờ")], sunday)
    await WorkSchedule.save_entries(engine, "mn-hs", WEEK, [], sunday)  # empty: not posted
    await post_schedules(scheduler, MONDAY_7 - dt.timedelta(minutes=1))
    assert transport.sent == []
    await post_schedules(scheduler, MONDAY_7)
    await post_schedules(scheduler, MONDAY_7 + dt.timedelta(minutes=1))
    [(room, content, txn)] = transport.sent
    assert room == "!dvd" and content[card.KEY]["entries"] == [one("Chào cờ")]
    saved = await WorkSchedule.get(engine, "thcs-dvd", WEEK)
    assert (saved.event_id, saved.room_id) == ("$ev1", "!dvd")
    at = MONDAY_7 + dt.timedelta(minutes=5)
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("Chào cờ"), one("Họp")], at)
    await post_schedules(scheduler, at)
    await post_schedules(scheduler, at + dt.timedelta(minutes=1))
    assert len(transport.sent) == 2
    room, edit, edit_txn = transport.sent[1]
    assert room == "!dvd" and edit_txn != txn
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$ev1"}
    assert [e["content"] for e in edit["m.new_content"][card.KEY]["entries"]] == ["Chào cờ", "Họp"]


async def test_a_post_lost_between_sending_and_recording_is_not_sent_twice(units):
    engine = units
    transport = Recorder()
    scheduler = _scheduler(engine, transport)
    await WorkSchedule.save_entries(engine, "thcs-dvd", WEEK, [one("a")], MONDAY_7)
    [schedule] = await WorkSchedule.unshown(engine, WEEK)
    # sent, then the bot died before recording: the row still says "not posted"
    await transport.send("!dvd", {}, _txn(schedule))
    transport.fail = True
    await post_schedules(scheduler, MONDAY_7)  # Synapse away: nothing recorded, no error
    assert (await WorkSchedule.get(engine, "thcs-dvd", WEEK)).event_id is None
    transport.fail = False
    await post_schedules(scheduler, MONDAY_7 + dt.timedelta(minutes=1))
    assert len(transport.sent) == 1  # the same transaction id: the same event
    assert (await WorkSchedule.get(engine, "thcs-dvd", WEEK)).event_id == "$ev1"


async def test_last_weeks_and_next_weeks_schedules_wait(units):
    engine = units
    transport = Recorder()
    scheduler = _scheduler(engine, transport)
    for week in (WEEK - dt.timedelta(days=7), WEEK + dt.timedelta(days=7)):
        await WorkSchedule.save_entries(engine, "thcs-dvd", week, [one("x", week)], MONDAY_7)
    await post_schedules(scheduler, MONDAY_7 + dt.timedelta(days=2))
    assert transport.sent == []


# ------------------------------------------------------------------ !lich


class FixedClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at.astimezone(UTC)


PRINCIPAL, TEACHER, OFFICE, OTHER_PRINCIPAL, SO = "P001", "P002", "P009", "P004", "P008"


@pytest.fixture
def lich(service):  # noqa: F811 - the fixture imported above
    service.clock = FixedClock(dt.datetime(2026, 12, 5, 10, 0, tzinfo=VN))  # a Saturday
    return service


async def test_lich_them_then_lich_shows_the_week(lich):
    added = await ask(lich, PRINCIPAL, "!lịch thêm T2 7h30 | Chào cờ | Sân trường | Toàn trường")
    assert added.text.startswith(
        "Đã thêm mục số 1 vào lịch công tác tuần 07/12 – 13/12/2026 của Trường THCS Đỗ Văn "
        "Dậy: thứ Hai 07/12/2026, 07:30 — Chào cờ. Lịch tuần sẽ được đăng vào phòng Thông "
        "tin điều hành lúc 07:00 thứ Hai 07/12/2026."
    )
    await ask(lich, PRINCIPAL, "!lich them thu 2 sang | Kiểm tra hồ sơ")
    await ask(lich, PRINCIPAL, "!LICH THEM 09/12 | Dự giờ | | BGH")
    shown = await ask(lich, TEACHER, "!lich tuần sau")  # a teacher sees their school's
    assert [e["content"] for e in shown.extra[card.KEY]["entries"]] == [
        "Kiểm tra hồ sơ",
        "Chào cờ",
        "Dự giờ",
    ]
    assert "1. Sáng — Kiểm tra hồ sơ" in shown.text and "<table>" in shown.html
    assert (await ask(lich, TEACHER, "!lich 08/12")).extra == shown.extra
    this_week = await ask(lich, TEACHER, "!lich")
    assert this_week.extra[card.KEY]["entries"] == []
    assert "Chưa có mục nào" in this_week.text and "Thêm mục" not in this_week.text


async def test_lich_xoa_removes_by_the_number_shown(lich):
    for line in ("T2 | Một", "T3 | Hai", "T4 | Ba"):
        await ask(lich, PRINCIPAL, f"!lich them {line}")
    removed = await ask(lich, PRINCIPAL, "!lich xoá 1, 3 tuần sau")
    assert removed.text.startswith("Đã xoá 2 mục khỏi lịch công tác tuần 07/12 – 13/12/2026")
    assert [e["content"] for e in removed.extra[card.KEY]["entries"]] == ["Hai"]
    wrong = await ask(lich, PRINCIPAL, "!lich xoa 2 tuần sau")
    assert wrong.text == (
        "Lịch công tác tuần 07/12 – 13/12/2026 của Trường THCS Đỗ Văn Dậy có 1 mục, không "
        "có mục số 2. Gõ !lich để xem số thứ tự."
    )
    assert "Cách dùng" in (await ask(lich, PRINCIPAL, "!lich xoa hết")).text


async def test_who_may_edit_which_unit(lich):
    refused = await ask(lich, TEACHER, "!lich them T2 | Họp")
    assert refused.text == (
        "Chỉ lãnh đạo đơn vị và chuyên viên phụ trách mới thêm hoặc xoá được mục trong lịch "
        "công tác của Trường THCS Đỗ Văn Dậy."
    )
    other = await ask(lich, PRINCIPAL, "!lich Ánh Dương them T2 | Họp")
    assert other.text.startswith("Chỉ lãnh đạo đơn vị") and "Ánh Dương" in other.text
    office = await ask(lich, OFFICE, "!lich Ánh Dương them T2 | Kiểm tra")  # the xã's TP
    assert office.text.startswith("Đã thêm mục số 1") and "Tư thục Ánh Dương" in office.text
    assert (await ask(lich, OTHER_PRINCIPAL, "!lich tuần sau")).extra[card.KEY]["entries"]
    outside = await ask(lich, TEACHER, "!lich Ánh Dương")
    assert outside.text == (
        "Đơn vị 'Trường THCS Tư thục Ánh Dương' nằm ngoài phạm vi Anh/Chị được xem lịch công tác."
    )
    assert (await ask(lich, OFFICE, "!lich xyz")).text == "Không tìm thấy đơn vị 'xyz'."


async def test_lich_them_refuses_bad_input_and_saves_nothing(lich, engine):
    for line, problem in (
        ("!lich them 31/11 | Họp", "Ngày 31/11 không có thật"),
        ("!lich them T2 25h | Họp", "Giờ 25:00 không có thật"),
        ("!lich them T2", "Thiếu nội dung công việc"),
        ("!lich them thứ tám | Họp", "Không hiểu ngày 'thứ tám'"),
    ):
        assert problem in (await ask(lich, PRINCIPAL, line)).text
    assert await WorkSchedule.of_week(engine, WEEK) == []
