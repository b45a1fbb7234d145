"""The synthetic directory: format, determinism, sizes, and the invariants the importer needs."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
from openpyxl import load_workbook

from provisioning import demo
from provisioning.demo import (
    S_BIRTH,
    S_EMAIL,
    S_GENDER,
    S_ID,
    S_NAME,
    S_PHONE,
    S_POSITION,
    S_SUBJECT,
    S_TRAINING,
    S_UNIT,
    U_CODE,
    U_KIND,
    U_LEVEL,
    U_NAME,
    U_OWNERSHIP,
    U_PARENT,
    U_PORTAL,
    U_RSS,
    DemoData,
    generate,
    write_demo,
)
from provisioning.vocab import Level, Ownership, Position, TrainingLevel, UnitKind, parse

# Copied from /work/shared/DATA-FORMAT.md: the files must carry exactly these names.
HEADERS = {
    "don_vi.csv": [
        "Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Loại đơn vị", "Cấp học",
        "Loại hình", "Cổng thông tin", "RSS",
    ],
    "nhan_su.csv": [
        "Mã định danh", "Họ và tên", "Số điện thoại", "Email", "Mã đơn vị", "Chức vụ",
        "Trình độ đào tạo", "Môn dạy", "Giới tính", "Ngày sinh",
    ],
    "thong_ke.csv": ["Mã đơn vị", "Năm học", "Số lớp", "Số học sinh"],
}  # fmt: skip
SHEETS = {"don_vi.csv": "Đơn vị", "nhan_su.csv": "Nhân sự", "thong_ke.csv": "Thống kê"}
PHONE_SHAPES = {
    "0912345678": r"0\d{9}",
    "0912.345.678": r"0\d{3}\.\d{3}\.\d{3}",
    "0912 345 678": r"0\d{3} \d{3} \d{3}",
    "+84912345678": r"\+84\d{9}",
    "84912345678": r"84\d{9}",
    "912345678": r"\d{9}",
}
SCHOOL = "Trường"
COMMUNE_LEVELS = {"Mầm non", "Tiểu học", "THCS"}


@pytest.fixture(scope="module")
def demo_data() -> DemoData:
    return generate("demo")


@pytest.fixture(scope="module")
def lite_data() -> DemoData:
    return generate("district-lite")


@pytest.fixture(scope="module")
def district_data() -> DemoData:
    return generate("district")


@pytest.fixture(scope="module")
def presets(demo_data: DemoData, lite_data: DemoData, district_data: DemoData) -> dict:
    return {"demo": demo_data, "district-lite": lite_data, "district": district_data}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_demo(out)
    write_demo(out, xlsx=True)
    return out


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def schools(data: DemoData) -> list[list]:
    return [u for u in data.units if u[U_KIND] == SCHOOL]


# --------------------------------------------------------------------------- files


def test_write_demo_returns_the_files(tmp_path: Path) -> None:
    paths = write_demo(tmp_path / "new")
    assert [p.name for p in paths] == list(HEADERS)
    assert [p.name for p in write_demo(tmp_path / "x", xlsx=True)] == ["danh_ba.xlsx"]


def test_csv_headers_bom_and_rows(demo_dir: Path, demo_data: DemoData) -> None:
    for name, header in HEADERS.items():
        raw = (demo_dir / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf" + ",".join(header).encode() + b"\r\n")
        rows = read_csv(demo_dir / name)
        assert rows[0] == header
        assert all(len(row) == len(header) for row in rows)
    assert len(read_csv(demo_dir / "nhan_su.csv")) == len(demo_data.staff) + 1


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    for xlsx in (False, True):
        first = write_demo(tmp_path / "a", "district", seed=7, xlsx=xlsx)
        second = write_demo(tmp_path / "b", "district", seed=7, xlsx=xlsx)
        for p, q in zip(first, second, strict=True):
            assert p.read_bytes() == q.read_bytes(), p.name
    other = write_demo(tmp_path / "c", "district", seed=8)
    assert other[1].read_bytes() != (tmp_path / "a" / "nhan_su.csv").read_bytes()


def test_xlsx_holds_the_csv_values(demo_dir: Path) -> None:
    wb = load_workbook(demo_dir / "danh_ba.xlsx", read_only=True)
    assert wb.sheetnames == list(SHEETS.values())
    for name, sheet in SHEETS.items():
        from_xlsx = [
            ["" if v is None else str(v) for v in row]
            for row in wb[sheet].iter_rows(values_only=True)
        ]
        width = len(HEADERS[name])
        from_xlsx = [row + [""] * (width - len(row)) for row in from_xlsx]
        assert from_xlsx == read_csv(demo_dir / name), sheet
    # numbers stay numbers in the workbook: statistics, and phones that lost their zero
    assert isinstance(next(wb["Thống kê"].iter_rows(min_row=2, values_only=True))[2], int)
    phones = [row[2] for row in wb["Nhân sự"].iter_rows(min_row=2, values_only=True)]
    assert any(isinstance(p, int) for p in phones)
    wb.close()


# --------------------------------------------------------------------------- sizes


def test_demo_counts(demo_data: DemoData) -> None:
    """The first run's demo: one xã/phường's schools and two under the Sở, every kind of
    unit, few enough rooms to be provisioned within minutes of `dieuhanh up`."""
    s = demo_data.summary()
    assert s["unit_kinds"] == {"Sở": 1, "Cụm": 1, "Xã/Phường": 1, "Trường": 12, "Tổ": 6}
    levels = {"Mầm non": 4, "Tiểu học": 3, "THCS": 3, "THPT": 1, "GDTX": 1}
    assert s["schools_by_level"] == levels
    assert s["schools_by_ownership"] == {"Công lập": 10, "Tư thục": 2}
    assert s["people"] == 120 and s["stats_rows"] == 2 * s["schools"]


def test_district_lite_counts(lite_data: DemoData) -> None:
    s = lite_data.summary()
    kinds, levels = s["unit_kinds"], s["schools_by_level"]
    assert kinds["Sở"] == 1 and 1 <= kinds["Cụm"] <= 2 and 3 <= kinds["Xã/Phường"] <= 8
    assert kinds["Tổ"] > 0
    for level in ("Mầm non", "Tiểu học", "THCS"):
        assert 18 <= levels[level] <= 30, level  # dozens of each main level
    assert 8 <= levels["THPT"] <= 14
    assert 2 <= levels["Liên cấp"] <= 6 and 2 <= levels["GDTX"] <= 6
    assert set(s["schools_by_ownership"]) == {"Công lập", "Tư thục", "Dân lập"}
    assert 500 <= s["people"] <= 800  # dozens of schools, yet provisioned in minutes
    assert 6 <= (s["people"] - 40) / s["schools"] <= 10
    assert s["stats_rows"] == 2 * s["schools"]


def test_district_counts(district_data: DemoData) -> None:
    s = district_data.summary()
    assert s["schools"] == 70 and s["people"] == 2000
    assert len(s["schools_by_level"]) == 6


def test_city_counts() -> None:
    s = generate("city").summary()
    assert s["schools"] == 3600 and s["people"] == 150_000
    assert s["unit_kinds"]["Cụm"] == 16 and s["unit_kinds"]["Xã/Phường"] == 168
    assert s["stats_rows"] == 7200


def test_overrides_and_bad_preset() -> None:
    s = generate("district", schools=12, staff=300, seed=1).summary()
    assert s["schools"] == 12 and s["people"] == 300
    tiny = generate("demo", schools=3, staff=0).summary()  # too few people: each school's minimum
    assert tiny["schools"] == 3 and tiny["people"] >= 3 * 5
    with pytest.raises(ValueError, match="preset"):
        generate("province")


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize("preset", ["demo", "district-lite", "district"])
def test_unit_tree(preset: str, presets: dict) -> None:
    data = presets[preset]
    by_code = {u[U_CODE]: u for u in data.units}
    assert len(by_code) == len(data.units)
    roots = [u for u in data.units if not u[U_PARENT]]
    assert [r[U_CODE] for r in roots] == ["so"] and parse(UnitKind, roots[0][U_KIND])
    seen: set[str] = set()
    for unit in data.units:  # parents come before children, so the tree has no cycle
        assert unit[U_PARENT] == "" or unit[U_PARENT] in seen, unit
        seen.add(unit[U_CODE])
        kind = parse(UnitKind, unit[U_KIND])
        parent_kind = parse(UnitKind, by_code[unit[U_PARENT]][U_KIND]) if unit[U_PARENT] else None
        expected_parent = {
            UnitKind.DEPARTMENT: None,
            UnitKind.CLUSTER: UnitKind.DEPARTMENT,
            UnitKind.COMMUNE: UnitKind.CLUSTER,
            UnitKind.TEAM: UnitKind.SCHOOL,
        }
        if kind is UnitKind.SCHOOL:
            managed_by_commune = unit[U_LEVEL] in COMMUNE_LEVELS
            assert parent_kind is (UnitKind.COMMUNE if managed_by_commune else UnitKind.DEPARTMENT)
        else:
            assert kind in expected_parent and parent_kind is expected_parent[kind], unit


@pytest.mark.parametrize("preset", ["demo", "district-lite"])
def test_schools_have_level_and_ownership(preset: str, presets: dict) -> None:
    for unit in presets[preset].units:
        if unit[U_KIND] == SCHOOL:
            assert parse(Level, unit[U_LEVEL]) and parse(Ownership, unit[U_OWNERSHIP]), unit
        else:
            assert unit[U_LEVEL] == unit[U_OWNERSHIP] == "", unit


def test_unit_names_codes_and_portals(district_data: DemoData) -> None:
    data = generate("city", schools=1200, staff=2000)  # many name clashes to resolve
    for units in (district_data.units, data.units):
        names = [u[U_NAME] for u in units]
        assert len(set(names)) == len(names)
        portals = [u[U_PORTAL] for u in units if u[U_PORTAL]]
        assert len(set(portals)) == len(portals)
        assert len(portals) > 0.7 * sum(u[U_KIND] != "Tổ" and u[U_KIND] != "Cụm" for u in units)
        for unit in units:
            assert re.fullmatch(r"[0-9a-z-]+", unit[U_CODE]), unit
            if unit[U_PORTAL]:
                assert re.fullmatch(r"https://([0-9a-z-]+\.)?hcm-edu\.invalid", unit[U_PORTAL])
            assert unit[U_RSS] in ("", unit[U_PORTAL] + "/rss")
            assert unit[U_PORTAL] or not unit[U_RSS]
    some = {u[U_NAME] for u in schools(district_data)}
    assert all(n.startswith(("Trường ", "Trung tâm ")) for n in some)


# --------------------------------------------------------------------------- staff


@pytest.mark.parametrize("preset", ["demo", "district-lite", "district"])
def test_phones_valid_mobile_and_unique(preset: str, presets: dict) -> None:
    data = presets[preset]
    owner: dict[str, str] = {}
    forms: Counter[str] = Counter()
    for row in data.staff:
        raw = str(row[S_PHONE])
        number = phonenumbers.parse(raw if raw.startswith(("0", "+")) else "+84" + raw[-9:], "VN")
        assert phonenumbers.is_valid_number(number), raw
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, raw
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert owner.setdefault(e164, row[S_ID]) == row[S_ID], f"{raw} shared"
        shapes = [name for name, shape in PHONE_SHAPES.items() if re.fullmatch(shape, raw)]
        assert len(shapes) == 1, raw
        forms[shapes[0]] += 1
    assert forms.most_common(1)[0][0] == "0912345678"
    assert set(forms) == set(PHONE_SHAPES)


def test_lost_leading_zero_is_what_the_phone_library_reads_too(demo_data: DemoData) -> None:
    bare = [row[S_PHONE] for row in demo_data.staff if isinstance(row[S_PHONE], int)]
    assert bare
    for value in bare:
        assert phonenumbers.is_valid_number(phonenumbers.parse(f"0{value}", "VN"))


def test_people_with_two_positions_are_consistent(district_data: DemoData) -> None:
    rows_of: dict[str, list[list]] = {}
    for row in district_data.staff:
        rows_of.setdefault(row[S_ID], []).append(row)
    several = [rows for rows in rows_of.values() if len(rows) > 1]
    assert 0.01 <= len(several) / len(rows_of) <= 0.06
    assert max(len(rows) for rows in several) == 2
    personal = (S_NAME, S_PHONE, S_EMAIL, S_GENDER, S_BIRTH, S_TRAINING)
    for first, second in several:
        assert [first[i] for i in personal] == [second[i] for i in personal]
        assert (first[S_UNIT], first[S_POSITION]) != (second[S_UNIT], second[S_POSITION])
    kinds = {(a[S_POSITION], b[S_POSITION], a[S_UNIT] == b[S_UNIT]) for a, b in several}
    assert ("Phó Hiệu trưởng", "Giáo viên", True) in kinds
    assert ("Giáo viên", "Giáo viên", False) in kinds
    emails = [rows[0][S_EMAIL] for rows in rows_of.values() if rows[0][S_EMAIL]]
    assert len(set(emails)) == len(emails) and len(emails) > 0.3 * len(rows_of)


def test_staff_values_are_recognised(district_data: DemoData) -> None:
    units = {u[U_CODE] for u in district_data.units}
    for row in district_data.staff:
        assert row[S_ID] and row[S_NAME] and row[S_UNIT] in units
        assert parse(Position, row[S_POSITION]), row
        assert row[S_TRAINING] == "" or parse(TrainingLevel, row[S_TRAINING]), row
        assert row[S_GENDER] in ("Nam", "Nữ")
        day, month, year = map(int, row[S_BIRTH].split("/"))
        assert 1 <= day <= 31 and 1 <= month <= 12 and 1964 <= year <= 2004
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", row[S_BIRTH])
        words = row[S_NAME].split()
        assert 3 <= len(words) <= 5
        assert "Thị" not in words[1:] or row[S_GENDER] == "Nữ", row
        assert "Văn" not in words[1:] or row[S_GENDER] == "Nam", row
        if row[S_POSITION] == "Giáo viên":
            assert row[S_SUBJECT], row


def test_school_staffing(presets: dict) -> None:
    for data in presets.values():
        units = {u[U_CODE]: u for u in data.units}
        school_of = {
            code: (u[U_PARENT] if u[U_KIND] == "Tổ" else code) for code, u in units.items()
        }
        positions: dict[str, Counter[str]] = {}
        for row in data.staff:
            positions.setdefault(school_of[row[S_UNIT]], Counter())[row[S_POSITION]] += 1
        for school in schools(data):
            got = positions[school[U_CODE]]
            if school[U_LEVEL] == "GDTX":
                assert got["Giám đốc"] == 1 and 1 <= got["Phó Giám đốc"] <= 3
            else:
                assert got["Hiệu trưởng"] == 1 and 1 <= got["Phó Hiệu trưởng"] <= 3
            assert got["Giáo viên"] >= 2
            if school[U_LEVEL] in ("Tiểu học", "THCS"):
                assert got["Tổng phụ trách Đội"] == 1
        leader = "Tổ trưởng chuyên môn"
        leaders = Counter(row[S_UNIT] for row in data.staff if row[S_POSITION] == leader)
        teams = [u[U_CODE] for u in data.units if u[U_KIND] == "Tổ"]
        assert all(leaders[t] == 1 for t in teams)
        so = Counter(row[S_POSITION] for row in data.staff if row[S_UNIT] == "so")
        assert so["Giám đốc"] == 1 and so["Phó Giám đốc"] >= 2 and so["Chuyên viên"] >= 5
        heads = Counter(row[S_UNIT] for row in data.staff if row[S_POSITION] == "Trưởng phòng")
        assert {c for c, u in units.items() if u[U_KIND] == "Xã/Phường"} == set(heads)


def test_names_and_training_look_real(district_data: DemoData) -> None:
    people = {row[S_ID]: row for row in district_data.staff}.values()
    families = Counter(row[S_NAME].split()[0] for row in people)
    assert 0.32 <= families["Nguyễn"] / len(people) <= 0.45
    assert {"Trần", "Lê", "Phạm", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ"} <= set(families)
    assert len({row[S_NAME].split()[-1] for row in people}) > 80
    data = generate("city", schools=600, staff=20_000, seed=3)
    level_of = {u[U_CODE]: u[U_LEVEL] for u in data.units}
    level_of.update({u[U_CODE]: level_of[u[U_PARENT]] for u in data.units if u[U_KIND] == "Tổ"})
    training: dict[str, Counter[str]] = {}
    for row in data.staff:
        if row[S_POSITION] == "Giáo viên":
            training.setdefault(level_of[row[S_UNIT]], Counter())[row[S_TRAINING]] += 1
    mn, thpt = training["Mầm non"], training["THPT"]
    assert mn["Cao đẳng"] + mn["Đại học"] > 0.8 * mn.total() and mn["Trung cấp"] > 0
    assert thpt["Thạc sĩ"] > 0.15 * thpt.total()
    assert sum(c["Tiến sĩ"] for c in training.values()) > 0
    assert sum(c[""] for c in training.values()) > 0


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("preset", ["demo", "district-lite"])
def test_statistics(preset: str, presets: dict) -> None:
    demo_data = presets[preset]
    level_of = {u[U_CODE]: u[U_LEVEL] for u in schools(demo_data)}
    years: dict[str, list[str]] = {}
    for code, year, classes, pupils in demo_data.stats:
        years.setdefault(code, []).append(year)
        assert isinstance(classes, int) and isinstance(pupils, int)
        assert 1 <= classes <= 52 and 15 <= pupils / classes <= 47, (code, classes, pupils)
    assert all(years[c] == ["2024-2025", "2025-2026"] for c in level_of)
    assert set(years) == set(level_of)
    latest = {r[0]: r for r in demo_data.stats if r[1] == "2025-2026"}
    public = {u[U_CODE] for u in schools(demo_data) if u[U_OWNERSHIP] == "Công lập"}
    ranges = {"Mầm non": (10, 20, 25, 30), "Tiểu học": (20, 40, 33, 38),
              "THCS": (25, 45, 38, 44), "THPT": (30, 45, 40, 45)}  # fmt: skip
    for code in public:
        if level_of[code] in ranges:
            lo, hi, size_lo, size_hi = ranges[level_of[code]]
            _, _, classes, pupils = latest[code]
            assert lo <= classes <= hi and size_lo * 0.96 <= pupils / classes <= size_hi * 1.04


def test_module_constants_match_headers() -> None:
    assert [list(h) for _, _, h in demo.TABLES] == list(HEADERS.values())
    assert [s for _, s, _ in demo.TABLES] == list(SHEETS.values())


# --------------------------------------------------------------------------- importer checks


@pytest.mark.parametrize("preset", ["demo", "district-lite", "district"])
def test_demo_imports_without_a_single_reported_row(preset: str, tmp_path: Path) -> None:
    from provisioning.db import open_directory
    from provisioning.importer import import_paths

    files = demo.write_demo(tmp_path / "files", preset)
    engine = open_directory(f"sqlite:///{tmp_path / 'directory.db'}")
    result = import_paths(engine, files)
    assert result.report_lines() == []
    assert result.people.added == demo.generate(preset).summary()["people"]
    engine.dispose()


def test_city_unit_codes_are_unique() -> None:
    codes = [row[0] for row in demo.generate("city").units]
    assert len(codes) == len(set(codes))
