"""The statistics contract of DATA-FORMAT.md, computed by hand for a small directory."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dieuhanh.cli import app
from provisioning import stats
from provisioning.importer import import_paths
from provisioning.view import load_view
from provisioning.vocab import Level

from .conftest import BASE_STAFF, STAFF_HEADER, write_csv

THCS = {
    "cap_hoc": "THCS",
    "don_vi": "so",
    "nam_hoc": "2025-2026",
    "so_truong": {"tong": 2, "cong_lap": 1, "ngoai_cong_lap": 1},
    "so_lop": 42,
    "so_hoc_sinh": 1660,
    "can_bo_quan_ly": 2,
    "giao_vien": 3,
    "nhan_vien": 1,
    "giao_vien_trinh_do": {
        "tien_si": 0,
        "thac_si": 0,
        "dai_hoc": 1,
        "cao_dang": 1,
        "trung_cap": 0,
        "khac": 1,
    },
    "giao_vien_dat_chuan_tro_len": 1,
    "giao_vien_tren_chuan": 0,
}


def test_thcs_for_the_whole_directory(engine, base_files):
    import_paths(engine, base_files)
    assert stats.compute(load_view(engine), Level.THCS) == THCS


def test_key_order_matches_the_contract(engine, base_files):
    import_paths(engine, base_files)
    assert list(stats.compute(load_view(engine), Level.THCS)) == list(THCS)


def test_mam_non_standard_is_cao_dang(engine, base_files):
    import_paths(engine, base_files)
    figures = stats.compute(load_view(engine), Level.MN)
    assert figures["giao_vien"] == 1
    assert figures["giao_vien_trinh_do"]["cao_dang"] == 1
    assert figures["giao_vien_dat_chuan_tro_len"] == 1  # Cao đẳng meets MN's standard
    assert figures["giao_vien_tren_chuan"] == 0
    assert (figures["so_lop"], figures["so_hoc_sinh"]) == (12, 320)


def test_scope_by_unit_and_empty_levels(engine, base_files):
    import_paths(engine, base_files)
    view = load_view(engine)
    one = stats.compute(view, Level.THCS, view.unit("thcs-tt"))
    assert one["don_vi"] == "thcs-tt"
    assert one["so_truong"] == {"tong": 1, "cong_lap": 0, "ngoai_cong_lap": 1}
    assert (one["can_bo_quan_ly"], one["giao_vien"], one["nhan_vien"]) == (1, 1, 0)
    thpt = stats.compute(view, Level.THPT, view.unit("hocmon"))
    assert thpt["so_truong"]["tong"] == 0 and thpt["nam_hoc"] is None
    assert stats.level_counts(view)[Level.THCS] == 2


def test_person_counts_once_in_the_first_group(engine, base_files, tmp_path):
    import_paths(engine, base_files)
    extra = write_csv(
        tmp_path / "more" / "nhan_su.csv",
        STAFF_HEADER,
        [
            *BASE_STAFF,
            ["P200", "Dương Văn Khoa", "0909000111", "", "thcs-dvd", "PHT", "Thạc sĩ", "", "", ""],
            ["P200", "Dương Văn Khoa", "", "", "thcs-dvd", "GV", "", "", "", ""],
            ["P201", "Lý Thị Kim", "0909000222", "", "thcs-dvd", "Văn thư", "", "", "", ""],
            ["P201", "Lý Thị Kim", "", "", "thcs-tt", "GV", "Thạc sĩ", "", "", ""],
        ],
    )
    assert import_paths(engine, [extra]).reports == []
    figures = stats.compute(load_view(engine), Level.THCS)
    # P200: management (not a teacher); P201: teaching, and counted once
    assert figures["can_bo_quan_ly"] == 3
    assert figures["giao_vien"] == 4
    assert figures["giao_vien_trinh_do"]["thac_si"] == 1
    assert figures["giao_vien_tren_chuan"] == 1


def test_departed_people_and_closed_schools_do_not_count(engine, base_files, tmp_path):
    import_paths(engine, base_files)
    view = load_view(engine)
    before = stats.compute(view, Level.THCS)
    staff = write_csv(tmp_path / "again" / "nhan_su.csv", STAFF_HEADER, [])
    import_paths(engine, [staff], scope="thcs-tt")
    after = stats.compute(load_view(engine), Level.THCS)
    assert after["can_bo_quan_ly"] == before["can_bo_quan_ly"] - 1
    assert after["giao_vien"] == before["giao_vien"] - 1


def test_cli_json_equals_the_core(engine, base_files, tmp_path, monkeypatch):
    import_paths(engine, base_files)
    monkeypatch.setenv("DIEUHANH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["stats", "thcs", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == THCS
    table = runner.invoke(app, ["stats", "Trung học cơ sở", "--unit", "thcs-dvd"])
    assert table.exit_code == 0
    assert "Thống kê THCS — Trường THCS Đỗ Văn Dậy" in table.output
    assert "1.310" in table.output  # Vietnamese thousands separator
    bad_level = runner.invoke(app, ["stats", "THCX"])
    assert bad_level.exit_code == 2
    assert "Không tìm thấy cấp học 'THCX'" in bad_level.output
    bad_unit = runner.invoke(app, ["stats", "THCS", "--unit", "khong-co"])
    assert bad_unit.exit_code == 2 and "khong-co" in bad_unit.output
