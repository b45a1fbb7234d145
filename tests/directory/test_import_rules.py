"""Every rule of DATA-FORMAT.md's importer, each with a bad input and its report."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from provisioning.importer import ImportResult, UnusableInput, import_paths
from provisioning.view import load_view

from .conftest import (
    BASE_FIGURES,
    BASE_STAFF,
    BASE_UNITS,
    FIGURES_HEADER,
    STAFF_HEADER,
    UNIT_HEADER,
    snapshot,
    write_csv,
)

_runs = itertools.count()


def run(
    engine: Engine,
    tmp_path: Path,
    *,
    units=None,
    staff=None,
    figures=None,
    scope: str | None = None,
    headers=None,
) -> ImportResult:
    folder = tmp_path / f"run{next(_runs)}"
    headers = headers or {}
    paths = []
    if units is not None:
        paths.append(write_csv(folder / "don_vi.csv", headers.get("units", UNIT_HEADER), units))
    if staff is not None:
        paths.append(write_csv(folder / "nhan_su.csv", headers.get("staff", STAFF_HEADER), staff))
    if figures is not None:
        paths.append(
            write_csv(folder / "thong_ke.csv", headers.get("figures", FIGURES_HEADER), figures)
        )
    return import_paths(engine, paths, scope=scope)


def base(engine: Engine, tmp_path: Path) -> ImportResult:
    result = run(engine, tmp_path, units=BASE_UNITS, staff=BASE_STAFF, figures=BASE_FIGURES)
    assert result.reports == [], result.report_lines()
    return result


def person(engine: Engine, code: str):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM people WHERE code = :c"), {"c": code}).one()


def positions_of(engine: Engine, code: str) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.code, q.position FROM positions q JOIN people p ON p.id = q.person_id "
                "JOIN units u ON u.id = q.unit_id WHERE p.code = :c"
            ),
            {"c": code},
        ).all()
    return {tuple(r) for r in rows}


def only_report(result: ImportResult):
    assert len(result.reports) == 1, result.report_lines()
    return result.reports[0]


# ----------------------------------------------------------------------------- basics


def test_base_import_counts_and_exit_code(engine, tmp_path):
    result = base(engine, tmp_path)
    assert (
        result.units.added,
        result.people.added,
        result.positions.added,
        result.figures.added,
    ) == (6, 8, 8, 4)
    assert result.exit_code == 0
    assert result.revision == 1
    assert result.summary_lines()[-1] == "Không có dòng nào cần xem lại."


def test_reimport_changes_nothing(engine, tmp_path):
    base(engine, tmp_path)
    before = snapshot(engine)
    again = run(engine, tmp_path, units=BASE_UNITS, staff=BASE_STAFF, figures=BASE_FIGURES)
    assert not again.changed and again.revision is None
    assert (
        again.units.unchanged,
        again.people.unchanged,
        again.positions.unchanged,
        again.figures.unchanged,
    ) == (6, 8, 8, 4)
    assert snapshot(engine) == before


def test_headers_match_regardless_of_accents_case_spacing_and_nfd(engine, tmp_path):
    headers = {
        "units": [
            "ma don vi",
            "TÊN ĐƠN VỊ",
            "Mã  đơn vị cấp trên ",
            "loai don vi",
            "Cấp Học",
            "LOAI HINH",
            "cong thong tin",
            "rss",
        ],
        "staff": [unicodedata.normalize("NFD", h) for h in STAFF_HEADER[::-1]],
    }
    staff = [row[::-1] for row in BASE_STAFF]
    result = run(engine, tmp_path, units=BASE_UNITS, staff=staff, headers=headers)
    assert result.reports == []
    assert result.people.added == 8


def test_text_is_stored_nfc(engine, tmp_path):
    units = [[unicodedata.normalize("NFD", c) for c in row] for row in BASE_UNITS]
    staff = [[unicodedata.normalize("NFD", c) for c in row] for row in BASE_STAFF]
    assert run(engine, tmp_path, units=units, staff=staff).reports == []
    assert person(engine, "P002").full_name == "Trần Thị Bình"
    assert unicodedata.is_normalized("NFC", person(engine, "P002").full_name)
    assert person(engine, "P002").name_key == "tran thi binh"


def test_unknown_columns_are_ignored_and_order_is_free(engine, tmp_path):
    header = ["Ghi chú", *UNIT_HEADER[::-1]]
    units = [["x", *row[::-1]] for row in BASE_UNITS]
    result = run(engine, tmp_path, units=units, headers={"units": header})
    assert result.reports == [] and result.units.added == 6


# ----------------------------------------------------------------------------- units


def test_abbreviations_for_level_and_ownership(engine, tmp_path):
    units = [
        *BASE_UNITS,
        ["th-1", "Trường Tiểu học Số 1", "hocmon", "Trường", "th", "ncl", "", ""],
        ["gdtx", "Trung tâm GDTX", "so", "trường", "Giáo dục thường xuyên", "CL", "", ""],
    ]
    assert run(engine, tmp_path, units=units).reports == []
    view = load_view(engine)
    assert (view.unit("th-1").level.value, view.unit("th-1").ownership.value) == (
        "TH",
        "non_public",
    )
    assert view.unit("gdtx").level.value == "GDTX"
    assert view.unit("thcs-tt").ownership.value == "private"


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["", "Trường X", "hocmon", "Trường", "TH", "CL", "", ""], "Mã đơn vị", "thiếu Mã đơn vị"),
        (["x", "", "hocmon", "Trường", "TH", "CL", "", ""], "Tên đơn vị", "thiếu Tên đơn vị"),
        (
            ["x", "Trường X", "khong-co", "Trường", "TH", "CL", "", ""],
            "Mã đơn vị cấp trên",
            'không tìm thấy đơn vị cấp trên "khong-co"',
        ),
        (
            ["x", "Trường X", "hocmon", "Trạm xá", "TH", "CL", "", ""],
            "Loại đơn vị",
            'Loại đơn vị "Trạm xá" không được nhận diện',
        ),
        (["x", "Trường X", "hocmon", "", "TH", "CL", "", ""], "Loại đơn vị", "thiếu Loại đơn vị"),
        (
            ["x", "Tr\u00adêng TiÓu häc X", "hocmon", "Trường", "TH", "CL", "", ""],
            "Tên đơn vị",
            "TCVN3/VNI",
        ),
        (
            ["hocmon", "Xã Hóc Môn 2", "so", "Xã/Phường", "", "", "", ""],
            "Mã đơn vị",
            'Mã đơn vị "hocmon" trùng với dòng 3',
        ),
        (["x", "Trường X", "x", "Trường", "TH", "CL", "", ""], "Mã đơn vị cấp trên", "chính nó"),
    ],
)
def test_rejected_unit_rows(engine, tmp_path, row, column, reason):
    result = run(engine, tmp_path, units=[*BASE_UNITS, row])
    report = only_report(result)
    assert report.rejected and report.column == column and reason in report.reason
    assert report.source == "don_vi.csv" and report.row == len(BASE_UNITS) + 2
    assert result.exit_code == 1
    assert result.units.added == 6  # the valid rows were imported


def test_cycle_rejects_every_unit_on_it_and_its_staff(engine, tmp_path):
    units = [
        *BASE_UNITS,
        ["a", "Cụm A", "b", "Cụm", "", "", "", ""],
        ["b", "Cụm B", "a", "Cụm", "", "", "", ""],
        ["c", "Trường C", "a", "Trường", "TH", "CL", "", ""],
    ]
    staff = [*BASE_STAFF, ["P100", "Ngô Thị Mai", "0911000111", "", "c", "GV", "", "", "", ""]]
    result = run(engine, tmp_path, units=units, staff=staff)
    by_row = {(r.source, r.row): r for r in result.reports}
    assert "vòng lặp" in by_row[("don_vi.csv", 8)].reason
    assert "vòng lặp" in by_row[("don_vi.csv", 9)].reason
    assert 'cấp trên "a" bị loại' in by_row[("don_vi.csv", 10)].reason
    assert 'đơn vị "c" bị loại ở don_vi.csv:10' in by_row[("nhan_su.csv", 10)].reason
    assert all(r.rejected for r in result.reports)
    assert {u.code for u in load_view(engine).units.values()} == {r[0] for r in BASE_UNITS}


def test_moving_a_unit_under_its_own_descendant_is_a_cycle(engine, tmp_path):
    base(engine, tmp_path)
    units = [list(r) for r in BASE_UNITS]
    units[1][2] = "thcs-dvd"  # the xã under one of its own schools
    result = run(engine, tmp_path, units=units)
    report = only_report(result)
    assert "vòng lặp" in report.reason and report.row == 3
    assert load_view(engine).unit("thcs-dvd").parent_id == load_view(engine).unit("hocmon").id


def test_school_without_level_is_imported_and_reported(engine, tmp_path):
    result = run(
        engine,
        tmp_path,
        units=[*BASE_UNITS, ["x", "Trường X", "hocmon", "Trường", "", "CL", "", ""]],
    )
    report = only_report(result)
    assert not report.rejected and report.column == "Cấp học"
    assert load_view(engine).unit("x").level is None


def test_bad_portal_url_is_dropped_and_reported(engine, tmp_path):
    result = run(
        engine,
        tmp_path,
        units=[
            *BASE_UNITS,
            ["x", "Trường X", "hocmon", "Trường", "TH", "CL", "không có", "thx.hcm.edu.vn/rss"],
        ],
    )
    report = only_report(result)
    assert report.column == "Cổng thông tin" and not report.rejected
    unit = load_view(engine).unit("x")
    assert unit.portal_url is None and unit.rss_url == "https://thx.hcm.edu.vn/rss"


def test_unit_absent_from_newer_file_is_closed_then_returns(engine, tmp_path):
    base(engine, tmp_path)
    fewer = [r for r in BASE_UNITS if r[0] != "mn-hs"]
    result = run(engine, tmp_path, units=fewer)
    assert result.units.removed == 1
    assert not load_view(engine).unit("mn-hs").active
    back = run(engine, tmp_path, units=BASE_UNITS)
    assert back.units.returned == 1 and load_view(engine).unit("mn-hs").active


def test_unit_changes_are_applied(engine, tmp_path):
    base(engine, tmp_path)
    units = [list(r) for r in BASE_UNITS]
    units[5][2] = "hocmon"  # THPT moved under the xã
    units[2][1] = "Trường THCS Đỗ Văn Dậy (cơ sở 1)"
    result = run(engine, tmp_path, units=units)
    assert result.units.changed == 2 and result.units.unchanged == 4
    view = load_view(engine)
    assert view.unit("thpt-a").parent_id == view.unit("hocmon").id
    assert view.unit("thcs-dvd").name == "Trường THCS Đỗ Văn Dậy (cơ sở 1)"


# ----------------------------------------------------------------------------- staff


def staff_row(
    code="P100",
    name="Ngô Thị Mai",
    phone="0911000111",
    unit="thcs-dvd",
    position="Giáo viên",
    training="Đại học",
) -> list[str]:
    return [code, name, phone, "", unit, position, training, "", "Nữ", ""]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (staff_row(code=""), "Mã định danh", "thiếu Mã định danh"),
        (staff_row(name=""), "Họ và tên", "thiếu Họ và tên"),
        (staff_row(unit=""), "Mã đơn vị", "thiếu Mã đơn vị"),
        (staff_row(position=""), "Chức vụ", "thiếu Chức vụ"),
        (staff_row(unit="khong-co"), "Mã đơn vị", 'không tìm thấy đơn vị "khong-co"'),
        (staff_row(position="Bảo vệ"), "Chức vụ", 'Chức vụ "Bảo vệ" không được nhận diện'),
        (staff_row(name="NguyÔn ThÞ Mai"), "Họ và tên", "TCVN3/VNI"),
        (staff_row(name="Nguyeãn Thò Mai"), "Họ và tên", "TCVN3/VNI"),
    ],
)
def test_rejected_staff_rows(engine, tmp_path, row, column, reason):
    result = run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, row])
    report = only_report(result)
    assert report.rejected and report.column == column and reason in report.reason
    assert (report.source, report.row) == ("nhan_su.csv", len(BASE_STAFF) + 2)
    assert result.people.added == 8
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM people WHERE code = 'P100'")) == 0


def test_position_abbreviations(engine, tmp_path):
    staff = [*BASE_STAFF, staff_row(position="pht"), staff_row(position="TTCM")]
    assert run(engine, tmp_path, units=BASE_UNITS, staff=staff).reports == []
    assert positions_of(engine, "P100") == {
        ("thcs-dvd", "vice_principal"),
        ("thcs-dvd", "team_leader"),
    }


@pytest.mark.parametrize("phone", ["", "12345", "không có"])
def test_missing_or_invalid_phone_imports_the_person_without_login(engine, tmp_path, phone):
    result = run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, staff_row(phone=phone)])
    report = only_report(result)
    assert not report.rejected and report.column == "Số điện thoại"
    assert "chưa thể đăng nhập" in report.reason
    assert person(engine, "P100").phone is None
    assert person(engine, "P100").active


def test_landline_is_not_a_login_phone(engine, tmp_path):
    result = run(
        engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, staff_row(phone="028 3829 1234")]
    )
    assert "di động" in only_report(result).reason
    assert person(engine, "P100").phone is None


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 001",
        "0912.345.001",
        "912345001",
        "+84912345001",
        "84912345001",
        "(+84) 912 345 001",
        "9.12345001E+08",
        "0084912345001",
    ],
)
def test_phone_forms_normalise_to_e164(engine, tmp_path, raw):
    assert (
        run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, staff_row(phone=raw)]).reports
        == []
    )
    assert person(engine, "P100").phone == "+84912345001"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("01662345678", "+84362345678"),
        ("01212345678", "+84792345678"),
        ("841282345678", "+84782345678"),
        ("01992345678", "+84592345678"),
    ],
)
def test_pre_2018_eleven_digit_numbers_are_converted(engine, tmp_path, raw, e164):
    assert (
        run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, staff_row(phone=raw)]).reports
        == []
    )
    assert person(engine, "P100").phone == e164


def test_duplicate_phone_reports_both_and_binds_neither(engine, tmp_path):
    staff = [*BASE_STAFF, staff_row(phone="0912 345 678")]  # P001's number
    result = run(engine, tmp_path, units=BASE_UNITS, staff=staff)
    assert {(r.row, r.column) for r in result.reports} == {
        (2, "Số điện thoại"),
        (10, "Số điện thoại"),
    }
    assert all("trùng" in r.reason and not r.rejected for r in result.reports)
    view = load_view(engine)
    p1 = next(p for p in view.people.values() if p.code == "P001")
    p100 = next(p for p in view.people.values() if p.code == "P100")
    assert view.login_phone(p1) is None and view.login_phone(p100) is None
    assert view.login_phone(next(p for p in view.people.values() if p.code == "P002"))


def test_unrecognised_training_level_counts_as_other(engine, tmp_path):
    result = run(
        engine,
        tmp_path,
        units=BASE_UNITS,
        staff=[*BASE_STAFF, staff_row(training="Sau đại học xyz")],
    )
    report = only_report(result)
    assert not report.rejected and report.column == "Trình độ đào tạo"
    assert 'tính là "Khác"' in report.reason
    assert person(engine, "P100").training_level == "other"


def test_person_with_two_positions_is_one_person(engine, tmp_path):
    staff = [
        *BASE_STAFF,
        staff_row(position="PHT"),
        staff_row(position="GV", unit="thcs-tt", phone=""),
    ]
    assert run(engine, tmp_path, units=BASE_UNITS, staff=staff).reports == []
    assert positions_of(engine, "P100") == {("thcs-dvd", "vice_principal"), ("thcs-tt", "teacher")}
    assert person(engine, "P100").phone == "+84911000111"


def test_conflicting_names_for_one_code_are_reported(engine, tmp_path):
    staff = [*BASE_STAFF, staff_row(), staff_row(name="Ngô Thị Mây", unit="thcs-tt")]
    report = only_report(run(engine, tmp_path, units=BASE_UNITS, staff=staff))
    assert report.column == "Họ và tên" and "dòng 10" in report.reason
    assert person(engine, "P100").full_name == "Ngô Thị Mai"


def test_newer_staff_file_updates_departs_and_returns(engine, tmp_path):
    base(engine, tmp_path)
    newer = [list(r) for r in BASE_STAFF if r[0] != "P003"]
    newer[1][1] = "Trần Thị Bình An"  # P002 renamed
    newer[1][4] = "thcs-tt"  # and moved
    result = run(engine, tmp_path, units=BASE_UNITS, staff=newer)
    assert result.reports == []
    assert (result.people.changed, result.people.removed) == (1, 1)
    assert (result.positions.added, result.positions.removed) == (1, 1)
    assert person(engine, "P002").full_name == "Trần Thị Bình An"
    assert positions_of(engine, "P002") == {("thcs-tt", "teacher")}
    departed = person(engine, "P003")
    assert not departed.active and departed.departed_at is not None  # kept, not deleted
    back = run(engine, tmp_path, units=BASE_UNITS, staff=BASE_STAFF)
    assert back.people.returned == 1 and person(engine, "P003").active
    assert person(engine, "P003").departed_at is None


def test_rejected_row_never_changes_what_the_directory_holds(engine, tmp_path):
    base(engine, tmp_path)
    before = snapshot(engine)
    newer = [list(r) for r in BASE_STAFF]
    newer[1][1] = "Trần Thị Bình Mới"
    newer[1][5] = "Chức vụ lạ"  # P002's only row is rejected
    result = run(engine, tmp_path, units=BASE_UNITS, staff=newer)
    assert only_report(result).rejected
    assert snapshot(engine) == before  # not renamed, not departed, positions kept


def test_rejected_second_row_keeps_the_position_it_cannot_vouch_for(engine, tmp_path):
    staff = [*BASE_STAFF, staff_row(), staff_row(position="PHT")]
    base(engine, tmp_path)
    run(engine, tmp_path, units=BASE_UNITS, staff=staff)
    newer = [*BASE_STAFF, staff_row(), staff_row(position="PHT", unit="chua-co")]
    result = run(engine, tmp_path, units=BASE_UNITS, staff=newer)
    assert only_report(result).rejected
    assert positions_of(engine, "P100") == {("thcs-dvd", "teacher"), ("thcs-dvd", "vice_principal")}


def test_broken_phone_in_newer_file_keeps_the_working_number(engine, tmp_path):
    base(engine, tmp_path)
    newer = [list(r) for r in BASE_STAFF]
    newer[0][2] = "0912-34"
    report = only_report(run(engine, tmp_path, units=BASE_UNITS, staff=newer))
    assert "giữ số đang có +84912345678" in report.reason
    assert person(engine, "P001").phone == "+84912345678"


def test_scoped_import_departs_only_people_of_that_unit(engine, tmp_path):
    base(engine, tmp_path)
    school_staff = [r for r in BASE_STAFF if r[4] == "thcs-dvd" and r[0] != "P007"]
    result = run(engine, tmp_path, staff=school_staff, scope="thcs-dvd")
    assert result.reports == [] and result.people.removed == 1
    assert not person(engine, "P007").active
    assert person(engine, "P004").active and person(engine, "P008").active
    outside = run(
        engine, tmp_path, staff=[*school_staff, staff_row(unit="thcs-tt")], scope="thcs-dvd"
    )
    assert "ngoài phạm vi" in only_report(outside).reason


def test_unknown_scope_is_unusable(engine, tmp_path):
    with pytest.raises(UnusableInput, match="khong-co"):
        run(engine, tmp_path, units=BASE_UNITS, scope="khong-co")


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (["thcs-dvd", "2025", "10", "100"], "Năm học", "năm học"),
        (["thcs-dvd", "2025-2027", "10", "100"], "Năm học", "năm học"),
        (["thcs-dvd", "2023-2024", "-1", "100"], "Số lớp", "số nguyên không âm"),
        (["thcs-dvd", "2023-2024", "10", "12,5"], "Số học sinh", "số nguyên không âm"),
        (["thcs-dvd", "2023-2024", "", "100"], "Số lớp", "thiếu Số lớp"),
        (["khong-co", "2023-2024", "10", "100"], "Mã đơn vị", "không tìm thấy"),
        (["hocmon", "2023-2024", "10", "100"], "Mã đơn vị", "không phải là trường học"),
        (["thcs-dvd", "2025-2026", "10", "100"], "Năm học", "trùng đơn vị và năm học"),
    ],
)
def test_rejected_figure_rows(engine, tmp_path, row, column, reason):
    result = run(engine, tmp_path, units=BASE_UNITS, figures=[*BASE_FIGURES, row])
    report = only_report(result)
    assert report.rejected and report.column == column and reason in report.reason
    assert result.figures.added == 4


def test_figures_accept_vietnamese_thousands_and_year_spellings(engine, tmp_path):
    figures = [["thcs-dvd", "2023 - 2024", "1.005", "17.350"]]
    assert run(engine, tmp_path, units=BASE_UNITS, figures=figures).reports == []
    assert snapshot(engine)["figures"] == [("thcs-dvd", "2023-2024", 1005, 17350)]


def test_figures_update_in_place(engine, tmp_path):
    base(engine, tmp_path)
    result = run(engine, tmp_path, figures=[["thcs-dvd", "2025-2026", "33", "1320"]])
    assert (result.figures.changed, result.figures.unchanged) == (1, 0)
    assert ("thcs-dvd", "2025-2026", 33, 1320) in snapshot(engine)["figures"]


def test_overlong_cells_are_reported_not_truncated_silently(engine, tmp_path):
    staff = [
        *BASE_STAFF,
        staff_row(name="Nguyễn " + "Văn " * 70 + "An"),
        [*staff_row(code="P101")[:3], "x" * 250 + "@example.vn", *staff_row()[4:]],
    ]
    result = run(engine, tmp_path, units=BASE_UNITS, staff=staff)
    by_row = {r.row: r for r in result.reports}
    assert by_row[10].rejected and "tối đa 255" in by_row[10].reason
    assert not by_row[11].rejected and by_row[11].column == "Email"
    assert person(engine, "P101").email is None


def test_a_foreign_name_is_imported_with_a_warning(engine, tmp_path):
    """A teacher named Müller in an otherwise Unicode file: kept, and the report says why."""
    row = staff_row(name="Hans Müller", position="GV")
    result = run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, row])
    report = only_report(result)
    assert not report.rejected and report.column == "Họ và tên"
    assert "tên nước ngoài" in report.reason and "Hans Müller" in report.reason
    assert result.people.added == 9
    with engine.connect() as conn:
        name = conn.scalar(text("SELECT full_name FROM people WHERE code = 'P100'"))
    assert name == "Hans Müller"


def test_foreign_looking_names_in_a_legacy_file_are_rejected_too(engine, tmp_path):
    """VNI writes "Lưu Đức" as "Löu Ñöùc": alone it looks foreign, beside other VNI names it
    is legacy text, and it is rejected with them."""
    rows = [
        staff_row(code="P100", name="Nguyeãn Thò Mai"),
        staff_row(code="P101", name="Löu Ñöùc"),
        staff_row(code="P102", name="Hans Müller"),
    ]
    result = run(engine, tmp_path, units=BASE_UNITS, staff=[*BASE_STAFF, *rows])
    assert [(r.row, r.rejected) for r in result.reports] == [
        (len(BASE_STAFF) + 2, True),
        (len(BASE_STAFF) + 3, True),
        (len(BASE_STAFF) + 4, True),
    ]
    assert all("TCVN3/VNI" in r.reason for r in result.reports)
    assert '"Löu Ñöùc"' in result.reports[1].reason
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM people WHERE code LIKE 'P10_'")) == 0
