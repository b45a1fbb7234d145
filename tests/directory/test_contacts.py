"""Contact corrections (!capnhat's core): planning, every bad input, saving with history,
and an import that keeps a chat correction unless the person's rows changed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dieuhanh.cli import app
from dieuhanh.cli.common import console
from provisioning.authority import authority_of
from provisioning.contacts.change import (
    ACTIVE,
    PHONE,
    POSITION,
    UNIT,
    ContactError,
    plan_change,
)
from provisioning.contacts.history import Author, history
from provisioning.contacts.requests import approvers
from provisioning.contacts.store import save_change
from provisioning.db.models import DirectoryState, Person
from provisioning.importer import import_paths
from provisioning.view import load_view

from .conftest import BASE_STAFF, STAFF_HEADER, write_csv

OFFICER = ["P009", "Trương Thị Ngọc", "0909111333", "", "hocmon", "Chuyên viên", "", "", "", ""]
STAFF = [*BASE_STAFF, OFFICER]
BY = Author("Nguyễn Văn An", "@p001:test", "P001")
AT = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def loaded(engine, base_files, tmp_path):
    staff = write_csv(tmp_path / "s0" / "nhan_su.csv", STAFF_HEADER, STAFF)
    assert import_paths(engine, [base_files[0], staff]).exit_code == 0
    return engine


def person(view, code):
    return next(p for p in view.people.values() if p.code == code)


def plan(engine, asker: str, code: str, what: str, value: str = ""):
    view = load_view(engine)
    return plan_change(
        view, authority_of(view, person(view, asker)), person(view, code), what, value
    )


def snapshot(engine) -> tuple:
    """Everything a correction could change: people, positions, history, revision."""
    view = load_view(engine)
    people = sorted((p.code, p.phone, p.active, sorted(p.positions)) for p in view.people.values())
    return people, view.revision, len(history(engine, "P002"))


@pytest.mark.parametrize(
    ("asker", "code", "what", "value", "sentence"),
    [
        ("P001", "P002", PHONE, "0123", "Số điện thoại '0123' không hợp lệ"),
        (
            "P001",
            "P002",
            PHONE,
            "0243 826 1234",
            "'0243 826 1234' không hợp lệ: không phải số di động",
        ),
        ("P001", "P002", PHONE, "0903 111 222", "đang là số của Lê Văn Cường (mã P003)"),
        ("P001", "P002", PHONE, "0987654321", "đã là số điện thoại của Trần Thị Bình"),
        ("P001", "P005", PHONE, "0911000111", "Hoàng Văn Em (mã P005) không thuộc phạm vi"),
        ("P004", "P002", UNIT, "thcs-tt", "Trần Thị Bình (mã P002) không thuộc phạm vi"),
        ("P001", "P002", POSITION, "hiệu phó trưởng", "Không có chức vụ 'hiệu phó trưởng'"),
        ("P001", "P002", UNIT, "khong-co", "Không tìm thấy đơn vị có mã 'khong-co'"),
        ("P001", "P002", UNIT, "thcs-tt", "Trường THCS Tư thục Ánh Dương (mã thcs-tt) không thuộc"),
        ("P001", "P002", POSITION, "GV", "đã là Giáo viên của Trường THCS Đỗ Văn Dậy"),
        ("P001", "P001", UNIT, "thcs-dvd", "đã công tác ở Trường THCS Đỗ Văn Dậy"),
    ],
)
def test_bad_input_is_one_sentence_and_changes_nothing(loaded, asker, code, what, value, sentence):
    before = snapshot(loaded)
    with pytest.raises(ContactError) as caught:
        plan(loaded, asker, code, what, value)
    message = str(caught.value)
    assert sentence in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert snapshot(loaded) == before


def test_a_phone_correction_is_saved_with_who_and_when_and_bumps_the_revision(loaded):
    revision = load_view(loaded).revision
    change = plan(loaded, "P001", "P002", PHONE, "0911 222 333")
    assert change.line() == "Số điện thoại: 0987 654 321 → 0911 222 333"
    save_change(loaded, change, BY, AT)
    view = load_view(loaded)
    assert person(view, "P002").phone == "+84911222333"
    assert view.revision == revision + 1
    [entry] = history(loaded, "P002")
    assert (entry.field, entry.old, entry.new, entry.by, entry.source) == (
        PHONE,
        "0987 654 321",
        "0911 222 333",
        "Nguyễn Văn An",
        "chat",
    )
    assert entry.at == AT
    # planned from an older snapshot: refused, nothing written twice
    with pytest.raises(ContactError, match="vừa được thay đổi ở nơi khác"):
        save_change(loaded, change, BY, AT)
    assert len(history(loaded, "P002")) == 1


def test_the_office_officer_moves_a_teacher_between_its_schools_and_sets_positions(loaded):
    moved = plan(loaded, "P009", "P002", UNIT, "THCS-TT")
    assert moved.line() == "Đơn vị: Trường THCS Đỗ Văn Dậy → Trường THCS Tư thục Ánh Dương"
    save_change(loaded, moved, Author("Trương Thị Ngọc", "@p009:test", "P009"), AT)
    view = load_view(loaded)
    assert [(view.units[u].code, p.value) for u, p in person(view, "P002").positions] == [
        ("thcs-tt", "teacher")
    ]
    promoted = plan(loaded, "P004", "P002", POSITION, "PHT")  # now the other school's HT's
    assert promoted.line().startswith("Chức vụ: Giáo viên (Trường THCS Tư thục")
    save_change(loaded, promoted, BY, AT + dt.timedelta(minutes=1))
    with pytest.raises(ContactError, match="không thuộc phạm vi"):
        plan(loaded, "P004", "P003", ACTIVE)
    gone = plan(loaded, "P001", "P003", ACTIVE)
    save_change(loaded, gone, BY, AT)
    assert not person(load_view(loaded), "P003").active
    with pytest.raises(ContactError, match="đã nghỉ việc"):
        plan(loaded, "P001", "P003", PHONE, "0911000999")
    assert [e.field for e in history(loaded, "P002")] == [POSITION, UNIT]  # newest first


def test_a_departed_persons_number_is_free_for_someone_else(loaded):
    save_change(loaded, plan(loaded, "P001", "P003", ACTIVE), BY, AT)
    change = plan(loaded, "P001", "P002", PHONE, "0903111222")  # P003's, who left
    save_change(loaded, change, BY, AT)
    assert person(load_view(loaded), "P002").phone == "+84903111222"


def test_an_unchanged_file_keeps_a_chat_correction_a_changed_row_wins(loaded, base_files, tmp_path):
    first = write_csv(tmp_path / "s9" / "nhan_su.csv", STAFF_HEADER, STAFF)
    assert import_paths(loaded, [base_files[0], first]).exit_code == 0  # nothing new
    save_change(loaded, plan(loaded, "P001", "P002", PHONE, "0911222333"), BY, AT)
    save_change(loaded, plan(loaded, "P001", "P003", ACTIVE), BY, AT)
    same = write_csv(tmp_path / "s1" / "nhan_su.csv", STAFF_HEADER, STAFF)
    result = import_paths(loaded, [base_files[0], same])
    assert result.exit_code == 0
    view = load_view(loaded)
    assert person(view, "P002").phone == "+84911222333"
    assert not person(view, "P003").active
    again = write_csv(tmp_path / "s2" / "nhan_su.csv", STAFF_HEADER, STAFF)
    import_paths(loaded, [base_files[0], again])  # a second unchanged file: still kept
    assert person(load_view(loaded), "P002").phone == "+84911222333"
    rows = [list(r) for r in STAFF]
    rows[1][2] = "0977 000 111"  # the office changed P002's row: the file wins
    changed = write_csv(tmp_path / "s3" / "nhan_su.csv", STAFF_HEADER, rows)
    import_paths(loaded, [base_files[0], changed])
    view = load_view(loaded)
    assert person(view, "P002").phone == "+84977000111"
    assert not person(view, "P003").active  # its row still unchanged
    newest = history(loaded, "P002")[0]
    assert (newest.field, newest.old, newest.new, newest.source) == (
        PHONE,
        "0911 222 333",
        "0977 000 111",
        "import",
    )
    assert newest.by.startswith("nhập tệp") and "nhan_su.csv" in newest.by


def test_an_import_records_departures_returns_and_moves(loaded, base_files, tmp_path):
    rows = [list(r) for r in STAFF if r[0] != "P003"]
    rows[1][4] = "thcs-tt"  # P002 moves
    import_paths(loaded, [base_files[0], write_csv(tmp_path / "a" / "n.csv", STAFF_HEADER, rows)])
    assert [(e.field, e.new) for e in history(loaded, "P003")] == [(ACTIVE, "nghỉ việc")]
    [move] = history(loaded, "P002")
    assert move.old == "Giáo viên (Trường THCS Đỗ Văn Dậy)"
    assert move.new == "Giáo viên (Trường THCS Tư thục Ánh Dương)"
    import_paths(loaded, [base_files[0], write_csv(tmp_path / "b" / "n.csv", STAFF_HEADER, STAFF)])
    assert [e.new for e in history(loaded, "P003")] == ["đang công tác", "nghỉ việc"]


def test_the_principal_approves_a_teachers_request(loaded):
    view = load_view(loaded)
    assert [p.code for p in approvers(view, person(view, "P002"))] == ["P001"]
    # a principal decides for themself; above them the nearest leaders (here the Sở's)
    assert [p.code for p in approvers(view, person(view, "P001"))] == ["P008"]
    assert [p.code for p in approvers(view, person(view, "P008"))] == []  # the Sở's director


def test_lichsu_shows_the_history_newest_first(loaded, monkeypatch):
    monkeypatch.setattr(console, "_width", 200)  # rich wraps cells on a narrow terminal
    save_change(loaded, plan(loaded, "P001", "P002", PHONE, "0911222333"), BY, AT)
    later = AT + dt.timedelta(hours=1)
    save_change(loaded, plan(loaded, "P001", "P002", POSITION, "PHT"), BY, later)
    url = loaded.url.render_as_string(hide_password=False)
    env = {"DIEUHANH_DATABASE_URL": url}
    out = CliRunner().invoke(app, ["lichsu", "P002", "--json"], env=env)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["field"] for r in rows] == [POSITION, PHONE]
    assert rows[1]["new"] == "0911 222 333" and rows[1]["by"] == "Nguyễn Văn An"
    table = CliRunner().invoke(app, ["lichsu", "P002"], env=env)
    assert table.exit_code == 0
    assert table.output.index("Chức vụ") < table.output.index("Số điện thoại")
    assert "01/12/2026 11:00" in table.output  # Asia/Ho_Chi_Minh
    unknown = CliRunner().invoke(app, ["lichsu", "P999"], env=env)
    assert unknown.exit_code == 2 and "Không có ai có mã định danh 'P999'" in unknown.output


def test_revision_and_people_stay_when_saving_fails(loaded):
    change = plan(loaded, "P001", "P002", PHONE, "0911222333")
    save_change(loaded, plan(loaded, "P001", "P003", PHONE, "0911222333"), BY, AT)
    with loaded.connect() as conn:
        revision = conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
    with pytest.raises(ContactError, match="đang là số của Lê Văn Cường"):
        save_change(loaded, change, BY, AT)  # the number was taken meanwhile
    with loaded.connect() as conn:
        assert (
            conn.scalar(select(DirectoryState.value).where(DirectoryState.key == "revision"))
            == revision
        )
        assert conn.scalar(select(Person.phone).where(Person.code == "P002")) == "+84987654321"


def test_a_correction_planned_before_an_import_moved_the_person_is_refused(
    loaded, base_files, tmp_path
):
    change = plan(loaded, "P001", "P002", PHONE, "0911222333")  # shown, not yet confirmed
    rows = [list(r) for r in STAFF]
    rows[1][5] = "Phó Hiệu trưởng"  # meanwhile the office's file changes P002's position
    import_paths(loaded, [base_files[0], write_csv(tmp_path / "m" / "n.csv", STAFF_HEADER, rows)])
    with pytest.raises(ContactError, match="vừa được thay đổi ở nơi khác"):
        save_change(loaded, change, BY, AT)
    assert person(load_view(loaded), "P002").phone == "+84987654321"
